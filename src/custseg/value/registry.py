"""The value models' registry (dbt model ml_value_models): one append-only row per fitted
version, its parameters as plain numbers (nothing pickled), readable in SQL; and the rule for
when a build fits a new version or reuses the frozen parameters of the latest."""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa

from ..ml_lifecycle import LifecycleConfig
from . import btyd
from .config import TIME_UNITS, ValueConfig
from .purchase_models import MODELS, PREFIXES, aic, choose, holdout_error

VALUE_REGISTRY_SCHEMA = pa.schema(
    [
        ("value_model_version", pa.int64()),
        ("fitted_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("status_message", pa.string()),
        ("as_of_date", pa.date32()),
        ("calibration_end", pa.date32()),
        ("time_unit", pa.string()),
        ("penalizer", pa.float64()),
        # the segmentation version active at the fit, recorded while the value models fitted
        # after the segmentation (null since they fit first: the segment names check them)
        ("segmentation_version", pa.int64()),
        ("customers", pa.int64()),
        ("repeat_customers", pa.int64()),
        ("bgnbd_r", pa.float64()),
        ("bgnbd_alpha", pa.float64()),
        ("bgnbd_a", pa.float64()),
        ("bgnbd_b", pa.float64()),
        ("bgnbd_log_likelihood", pa.float64()),
        ("bgnbd_converged", pa.bool_()),
        ("bgnbd_iterations", pa.int64()),
        ("gg_p", pa.float64()),
        ("gg_q", pa.float64()),
        ("gg_v", pa.float64()),
        ("gg_log_likelihood", pa.float64()),
        ("gg_converged", pa.bool_()),
        ("gg_iterations", pa.int64()),
        ("fit_seconds", pa.float64()),
        ("settings_fingerprint", pa.string()),
        ("data_fingerprint", pa.string()),
        # added with MBG/NBD and Pareto/NBD (a registry written before gets them, null, on its next
        # build: on_schema_change append_new_columns; a null clv_model is BG/NBD)
        ("clv_model", pa.string()),
        ("clv_model_reason", pa.string()),
        ("dropout_at_bound", pa.bool_()),
        # (BG/NBD's parameters, log-likelihood and convergence are the columns above)
        *[
            (f"{PREFIXES[name]}_{column}", kind)
            for name in MODELS if name != "bgnbd"
            for column, kind in [*((p, pa.float64()) for p in MODELS[name].params),
                                 ("log_likelihood", pa.float64()), ("converged", pa.bool_())]
        ],
        *[(f"{PREFIXES[name]}_{figure}", pa.float64()) for name in MODELS for figure in ("aic", "holdout_error")],
    ]
)  # fmt: skip
# below these the parameters are not identified: the version is recorded as not_enough_data,
# with no parameters, and every prediction is null (dim_customer_value says why)
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 5


def empty_value_registry() -> pd.DataFrame:
    return VALUE_REGISTRY_SCHEMA.empty_table().to_pandas()


def data_fingerprint(summary: pd.DataFrame) -> str:
    """A hash of what the fit reads (frequency, recency, age, mean repeat value), row order free."""
    frame = summary[["frequency", "recency", "age", "mean_repeat_value"]].astype(float).fillna(-1.0)
    rows = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    return hashlib.sha256(rows.tobytes()).hexdigest()[:16]


def decide(
    previous: pd.DataFrame,
    config: ValueConfig,
    lifecycle: LifecycleConfig,
    fingerprint: str,
) -> str | None:
    """Why this build fits a new version, or None to reuse the latest's parameters.

    No version yet: fit. segmentation_mode score: never fit again (frozen parameters). Otherwise
    fit when the fit settings changed, or (refit mode, or refit_policy always or on_drift) when
    the customers' purchases changed. The value models have no drift test of their own and no
    labels to keep stable, and a fit takes seconds (docs/benchmarks.md), so on_drift refits them
    with every change of the purchases; they fit before the segmentation, whose names they
    check (custseg.segmentation.naming)."""
    if previous.empty:
        return "first value model"
    latest = previous.sort_values("value_model_version").iloc[-1]
    if lifecycle.mode == "score":
        if latest["time_unit"] != config.time_unit:
            raise ValueError(
                f"segmentation_mode score reuses the value model version {int(latest['value_model_version'])}, "
                f"fitted in {latest['time_unit']}s, but clv_time_unit is {config.time_unit}: set clv_time_unit: "
                f"{latest['time_unit']}, or build once in segmentation_mode auto to fit in {config.time_unit}s"
            )
        return None
    if latest["settings_fingerprint"] != config.fit_fingerprint():
        return "value settings changed"
    changed = latest["data_fingerprint"] != fingerprint
    if changed and latest["status"] != "fitted":
        return "purchases changed since a version without usable parameters"
    if changed and (lifecycle.mode == "refit" or lifecycle.refit_policy in ("always", "on_drift")):
        return "purchases changed"
    return None


# far-out repeat frequencies (Tukey's far-out fence on log(1 + frequency) among the repeat
# customers) are set aside from the fits; too few repeat customers to place the fence: none
FAR_OUT_IQR = 3.0
FAR_OUT_MIN_REPEAT_CUSTOMERS = 50


def frequency_far_out_bound(frequency: pd.Series) -> float | None:
    """The repeat frequency above which a customer is far beyond the rest of the base (Q3 + 3 IQR
    of log(1 + frequency) among repeat customers; Online Retail: 161 repeat days, its largest is
    131), or None. One customer with 9,999 repeat days at pennies each used to pull Gamma-Gamma's
    q below 1 and so take the value models from every customer."""
    repeat = np.log1p(frequency[frequency > 0].to_numpy(dtype=float))
    if len(repeat) < FAR_OUT_MIN_REPEAT_CUSTOMERS:
        return None
    q1, q3 = np.quantile(repeat, [0.25, 0.75])
    return float(np.expm1(q3 + FAR_OUT_IQR * (q3 - q1)))


def _set_aside_note(summary: pd.DataFrame, bound: float) -> str:
    far = summary[summary["frequency"] > bound].sort_values("customer_id", kind="stable")
    named = ", ".join(map(str, far["customer_id"].head(5)))
    more = f" and {len(far) - 5:,} more" if len(far) > 5 else ""
    return (
        f"{len(far):,} customer(s) with more than {bound:,.0f} repeat purchases, far beyond the rest of the base "
        f"({named}{more}), were set aside from the fits, so that they do not decide the parameters for everyone; "
        "they are scored with the fitted parameters like every customer"
    )


def model_columns(name: str) -> tuple[str, ...]:
    """The registry columns of a purchase model's parameters, in its parameters' order."""
    return tuple(f"{PREFIXES[name]}_{p}" for p in MODELS[name].params)


def _fit_candidates(triples: pd.DataFrame, penalizer: float) -> dict[str, btyd.Fit]:
    """Every purchase model fitted on the unique (x, t_x, T) triples weighted by their counts; a
    model whose fit fails (overflow on extreme data) is left out, with the others standing."""
    fits = {}
    for name, model in MODELS.items():
        try:
            with np.errstate(all="ignore"):
                fit = model.fit(triples["frequency"], triples["recency"], triples["age"], weights=triples["n"],
                                penalizer=penalizer)  # fmt: skip
        except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError):
            continue
        if np.isfinite(fit.log_likelihood) and all(np.isfinite(v) for v in fit.params.values()):
            fits[name] = fit
    return fits


def _holdout_errors(summary: pd.DataFrame, fits: dict[str, btyd.Fit], config: ValueConfig) -> dict | None:
    """Each fitted model's mean absolute error on the holdout purchases (a calibration summary
    only; None otherwise)."""
    if "holdout_purchases" not in summary:
        return None
    frame = summary.assign(holdout_periods=summary["holdout_days"] / TIME_UNITS[config.time_unit])
    return {name: holdout_error(MODELS[name], list(fit.params.values()), frame) for name, fit in fits.items()}


def _status_message(
    model, fit: btyd.Fit | None, gamma: btyd.Fit, usable: bool, dropout_at_bound: bool
) -> str | None:
    """What the fit could not do or identify, in words (no setting is advised: none that was
    tried helped; docs/value.md)."""
    if fit is None:
        return f"{model.label} could not be fitted to these purchases: no value is predicted"
    if not usable:
        return (
            f"Gamma-Gamma q = {gamma.params['q']:.3g} is at most 1: the expected order value is infinite, so no "
            "value is predicted; the order values are too heavy-tailed for Gamma-Gamma (a few orders far larger "
            "than the rest: check them in fct_transactions)"
        )
    bounded = [f"{model.label} {n}" for n in fit.at_bound] + [f"Gamma-Gamma {n}" for n in gamma.at_bound]
    if not bounded:
        return None
    return (
        f"{', '.join(bounded)} reached the search bound (1e-4 or 1e6): the purchases barely identify it"
        + (
            f"; this is {model.label}'s dropout: the purchases show no sign of customers leaving for good, so "
            "P(alive) is near 1 for everyone and answers nothing (dim_customer_value.dropout_identified is "
            "false); read churn_risk"
            if dropout_at_bound
            else "; the predictions stand"
        )
    )


def fit_summary(summary: pd.DataFrame, config: ValueConfig) -> dict:
    """Every purchase model (BG/NBD, MBG/NBD, Pareto/NBD) on the unique (x, t_x, T) triples
    weighted by their counts and Gamma-Gamma on the repeat customers, without the customers whose
    repeat frequency is far out (said in the status message); the model clv_model names, or
    (auto) the best by the holdout or AIC (custseg.value.purchase_models.choose): the registry
    columns of a fit (status fitted), or not_enough_data."""
    bound = frequency_far_out_bound(summary["frequency"])
    set_aside = (
        "" if bound is None or not (summary["frequency"] > bound).any() else _set_aside_note(summary, bound)
    )
    if set_aside:
        summary = summary[summary["frequency"] <= bound]
    repeat = summary[summary["frequency"] > 0]
    row = {"customers": len(summary), "repeat_customers": len(repeat), "penalizer": config.penalizer}
    if len(summary) < MIN_CUSTOMERS or len(repeat) < MIN_REPEAT_CUSTOMERS:
        return row | {
            "status": "not_enough_data",
            "status_message": f"{len(summary)} customers, {len(repeat)} with a repeat purchase: the value models need at "
            f"least {MIN_CUSTOMERS} and {MIN_REPEAT_CUSTOMERS}",
        }
    started = time.perf_counter()
    triples = summary.groupby(["frequency", "recency", "age"], sort=True).size().reset_index(name="n")
    fits = _fit_candidates(triples, config.penalizer)
    gamma = btyd.fit_gamma_gamma(repeat["frequency"], repeat["mean_repeat_value"], penalizer=config.penalizer)
    errors = _holdout_errors(summary, fits, config)
    for name, fit in fits.items():
        prefix = PREFIXES[name]
        row |= dict(zip(model_columns(name), fit.params.values(), strict=True))
        row |= {f"{prefix}_log_likelihood": fit.log_likelihood, f"{prefix}_converged": fit.converged,
                f"{prefix}_aic": aic(fit), f"{prefix}_holdout_error": (errors or {}).get(name)}  # fmt: skip
    row |= {f"gg_{name}": value for name, value in gamma.params.items()}
    if fits:
        chosen, reason = choose(config.model, fits, errors)
    else:  # the model it would have used: the named one, else BG/NBD (never "auto")
        chosen = "bgnbd" if config.model == "auto" else config.model
        reason = "no purchase model could be fitted"
    fit = fits.get(chosen)
    usable = fit is not None and gamma.params["q"] > 1
    model = MODELS[chosen]
    dropout_at_bound = bool(fit) and bool(set(model.dropout) & set(fit.at_bound))
    message = _status_message(model, fit, gamma, usable, dropout_at_bound)
    if set_aside:
        message = f"{message}; {set_aside}" if message else set_aside[0].upper() + set_aside[1:]
    bgnbd = fits.get("bgnbd")
    return row | {
        "status": "fitted" if usable else "unusable",
        "status_message": message,
        "clv_model": chosen,
        "clv_model_reason": reason,
        "dropout_at_bound": dropout_at_bound,
        "bgnbd_iterations": bgnbd.iterations if bgnbd else None,
        "gg_log_likelihood": gamma.log_likelihood,
        "gg_converged": gamma.converged,
        "gg_iterations": gamma.iterations,
        "fit_seconds": time.perf_counter() - started,
    }


def run(
    summary: pd.DataFrame,
    calibration: pd.DataFrame,
    previous: pd.DataFrame,
    config: ValueConfig,
    lifecycle: LifecycleConfig,
) -> pa.Table:
    """The registry rows this build appends: one new version, or none."""
    if config.calibration_end is not None and calibration.empty:
        raise ValueError(
            f"clv_calibration_end {config.calibration_end} leaves no customer to fit on: it must be on or after "
            "the first purchase day and leave a holdout day before the snapshot (the day after the last purchase, or as_of_date)"
        )
    fitted_on = calibration if config.calibration_end is not None else summary
    # a fixed row order: the sums of the fit (and so its last bits) must not follow the read order
    fitted_on = fitted_on.sort_values("customer_id", kind="stable", ignore_index=True)
    fingerprint = data_fingerprint(fitted_on)
    reason = decide(previous, config, lifecycle, fingerprint)
    if reason is None:
        return VALUE_REGISTRY_SCHEMA.empty_table()
    row = {name: None for name in VALUE_REGISTRY_SCHEMA.names}
    row |= fit_summary(fitted_on, config)
    row["reason"] = reason
    as_of = summary["as_of_date"].max() if len(summary) else None
    row |= {
        "value_model_version": int(previous["value_model_version"].max()) + 1 if len(previous) else 1,
        "fitted_at": datetime.now(timezone.utc),
        "as_of_date": pd.Timestamp(as_of).date() if as_of is not None else None,
        "calibration_end": date.fromisoformat(config.calibration_end) if config.calibration_end else None,
        "time_unit": config.time_unit,
        "settings_fingerprint": config.fit_fingerprint(),
        "data_fingerprint": fingerprint,
    }
    return pa.Table.from_pylist([row], schema=VALUE_REGISTRY_SCHEMA)
