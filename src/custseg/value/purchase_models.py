"""The purchase models the value step can fit, by name (var clv_model): BG/NBD, MBG/NBD and
Pareto/NBD, each with its parameters, which of them are its dropout, its fit and its per-customer
quantities over the same summary (x, t_x, T). Gamma-Gamma (order value) is shared by all three.

``choose`` picks one for ``clv_model: auto``: with a calibration end, the one whose predicted
holdout purchases are closest to what the customers did (mean absolute error per customer);
without one, the lowest AIC (every model has four parameters, so the highest likelihood).
Figures closer than the fits resolve are a tie (errors within 0.1% of the smallest, AIC within
0.1 of the lowest), and a tie goes to the first in MODELS' order: where no model finds customers
leaving, the three fits are the same to six digits, and a choice by the sixth digit would
follow the numerical library's version rather than the customers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from . import btyd, pareto_nbd


@dataclass(frozen=True)
class PurchaseModel:
    name: str
    label: str
    params: tuple[str, ...]
    dropout: tuple[str, ...]  # the parameters of the dropout process
    fit: Callable[..., btyd.Fit]
    log_likelihood: Callable[..., np.ndarray]
    p_alive: Callable[..., np.ndarray]
    expected_purchases: Callable[..., np.ndarray]  # (params, t, x, t_x, T)
    p_no_purchase: Callable[..., np.ndarray]  # (params, t, x, t_x, T)


MODELS = {
    "bgnbd": PurchaseModel(
        "bgnbd", "BG/NBD", btyd.BGNBD_PARAMS, ("a", "b"), btyd.fit_bgnbd, btyd.bgnbd_log_likelihood,
        btyd.p_alive, btyd.expected_purchases, btyd.p_no_purchase,
    ),
    "mbgnbd": PurchaseModel(
        "mbgnbd", "MBG/NBD", btyd.MBGNBD_PARAMS, ("a", "b"), btyd.fit_mbgnbd, btyd.mbgnbd_log_likelihood,
        partial(btyd.p_alive, shift=btyd.MBGNBD), partial(btyd.expected_purchases, shift=btyd.MBGNBD),
        partial(btyd.p_no_purchase, shift=btyd.MBGNBD),
    ),
    "pareto_nbd": PurchaseModel(
        "pareto_nbd", "Pareto/NBD", pareto_nbd.PARETO_NBD_PARAMS, ("s", "beta"), pareto_nbd.fit,
        pareto_nbd.log_likelihood, pareto_nbd.p_alive, pareto_nbd.expected_purchases,
        pareto_nbd.p_no_purchase,
    ),
}  # fmt: skip
# the registry's column prefix of each model's parameters and figures
PREFIXES = {"bgnbd": "bgnbd", "mbgnbd": "mbgnbd", "pareto_nbd": "pnbd"}


def aic(fit: btyd.Fit) -> float:
    """Akaike's information criterion: 2 k - 2 log-likelihood."""
    return 2 * len(fit.params) - 2 * fit.log_likelihood


def holdout_error(model: PurchaseModel, params, calibration) -> float:
    """Mean absolute error per customer of the predicted holdout purchases (the calibration
    summary's frequency, recency, age, holdout_days in periods and holdout_purchases)."""
    x, t_x, T = (calibration[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age"))
    horizon = calibration["holdout_periods"].to_numpy(dtype=float)
    predicted = model.expected_purchases(params, horizon, x, t_x, T)
    return float(np.mean(np.abs(predicted - calibration["holdout_purchases"].to_numpy(dtype=float))))


# figures closer than these to the best are a tie (the first in MODELS' order wins): a holdout
# error within 0.1% of the smallest; an AIC within 0.1 of the lowest (0.05 of log-likelihood).
# Both are far above what a library's version moves (1e-6 relative, 1e-5 of AIC on Online Retail
# II) and below a difference the data show (0.5% of error, 0.6 of AIC between models that find
# customers leaving and one that does not, on the demo data)
HOLDOUT_TIE = 0.001
AIC_TIE = 0.1


def choose(setting: str, fits: dict[str, btyd.Fit], errors: dict[str, float] | None) -> tuple[str, str]:
    """(the model to use, why): the one named by clv_model, else by the holdout error when
    there is one, else by AIC; a tie (HOLDOUT_TIE, AIC_TIE) goes to the first in MODELS' order."""
    if setting != "auto":
        return setting, f"clv_model: {setting}"
    usable = [name for name in MODELS if name in fits and np.isfinite(fits[name].log_likelihood)]
    if errors:
        figures = {name: errors[name] for name in usable}
        best = first_within(figures, min(figures.values()) * (1 + HOLDOUT_TIE))
        shown = ", ".join(f"{MODELS[n].label} {value:.3f}" for n, value in figures.items())
        return best, (
            f"the smallest holdout error (mean absolute error per customer: {shown}; "
            f"within {HOLDOUT_TIE:.1%} of the smallest is a tie, which goes to the first listed)"
        )
    figures = {name: aic(fits[name]) for name in usable}
    best = first_within(figures, min(figures.values()) + AIC_TIE)
    shown = ", ".join(f"{MODELS[n].label} {value:,.1f}" for n, value in figures.items())
    return (
        best,
        f"the lowest AIC ({shown}; within {AIC_TIE:g} of the lowest is a tie, which goes to the first listed)",
    )


def first_within(figures: dict[str, float], limit: float) -> str:
    """The first model, in MODELS' order, whose figure (lower is better) is at most ``limit``."""
    return next(name for name in MODELS if name in figures and figures[name] <= limit)
