"""Benchmark: the three purchase models (BG/NBD, MBG/NBD, Pareto/NBD; custseg.value) against
lifetimes' BetaGeoFitter, ModifiedBetaGeoFitter and ParetoNBDFitter, and the build's value step.

Synthetic: for each model, N customers drawn from that model's own process (vectorised), ages 1
to 365 whole days, recency in whole days (as the warehouse's summary). Each side fits the
distinct (x, t_x, T) triples weighted by their counts (lifetimes' ``weights``; on a million rows
its Pareto/NBD fit would not end in minutes) and scores every customer: P(alive), expected
purchases over 365 days and the probability of no purchase in 90 days. Interleaved in one run,
BLAS/OpenMP threads pinned to 1. Then the build's value step as ml_value_models and
ml_customer_value_scores run it: every candidate fitted plus Gamma-Gamma, the choice, and the
chosen model's scoring over 30/90/365 days (discounted) for every customer.

``--warehouse FILE``: the parameters of the three models on a built warehouse's summary
(intermediate.int_customers__repeat_purchases), ours against lifetimes' (when installed), and
the seconds the build's value step (ml_value_models' fit) takes on it.

lifetimes is optional (not a dependency of the build): ``pip install --target /tmp/ltlib
--no-deps lifetimes==0.11.3 autograd dill`` and run with ``PYTHONPATH=/tmp/ltlib``.

    PYTHONPATH=/tmp/ltlib .venv/bin/python benchmarks/bench_clv_models.py --customers 1000000 --repeats 3
    PYTHONPATH=/tmp/ltlib .venv/bin/python benchmarks/bench_clv_models.py --warehouse warehouse/build/custseg.duckdb
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from custseg.value.config import ValueConfig  # noqa: E402
from custseg.value.purchase_models import MODELS  # noqa: E402

# CDNOW's estimates (weeks) used in days: BG/NBD and MBG/NBD (Fader, Hardie & Lee 2005),
# Pareto/NBD (the same authors' "Counting your customers the easy way")
TRUE = {
    "bgnbd": (0.243, 4.414, 0.793, 2.426),
    "mbgnbd": (0.243, 4.414, 0.793, 2.426),
    "pareto_nbd": (0.553, 10.58, 0.606, 11.67),
}
LIFETIMES = {"bgnbd": "BetaGeoFitter", "mbgnbd": "ModifiedBetaGeoFitter", "pareto_nbd": "ParetoNBDFitter"}
RESULTS = Path(__file__).resolve().parent / "results"


def synthetic(model: str, n: int, seed: int = 0) -> pd.DataFrame:
    """x, t_x (whole days), T (1 to 365 days) and a mean repeat value of n customers drawn from
    the named model's process."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 366, size=n).astype(float)
    if model == "pareto_nbd":
        r, alpha, s, beta = TRUE[model]
        rate = rng.gamma(r, 1.0 / alpha, size=n)
        alive_for = np.minimum(rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, size=n)), T)
        x = rng.poisson(rate * alive_for).astype(float)
        # the last of x uniform purchase times on [0, alive_for]
        t_x = np.where(x > 0, alive_for * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    else:
        r, alpha, a, b = TRUE[model]
        rate, dropout = rng.gamma(r, 1.0 / alpha, size=n), rng.beta(a, b, size=n)
        now, x, t_x = np.zeros(n), np.zeros(n), np.zeros(n)
        active = np.arange(n)
        if model == "mbgnbd":  # MBG/NBD: gone after the first purchase too
            active = active[rng.random(n) >= dropout]
        while len(active):
            now[active] += rng.exponential(1.0 / rate[active])
            active = active[now[active] <= T[active]]
            x[active] += 1
            t_x[active] = now[active]
            active = active[rng.random(len(active)) >= dropout[active]]
    m = np.where(x > 0, rng.gamma(6.25, 1.0 / rng.gamma(3.74, 1.0 / 15.44, size=n)), np.nan)
    return pd.DataFrame({"frequency": x, "recency": np.floor(t_x), "age": T, "mean_repeat_value": m})


def _triples(frame: pd.DataFrame):
    grouped = frame.groupby(["frequency", "recency", "age"], sort=False)
    sizes = grouped.size()
    return grouped.ngroup().to_numpy(), sizes.index.to_frame().to_numpy(), sizes.to_numpy()


def ours(model: str, frame: pd.DataFrame) -> dict:
    started = time.perf_counter()
    inverse, triples, counts = _triples(frame)
    chosen = MODELS[model]
    fit = chosen.fit(triples[:, 0], triples[:, 1], triples[:, 2], weights=counts)
    fitted = time.perf_counter()
    params = list(fit.params.values())
    x, t_x, T = triples[:, 0], triples[:, 1], triples[:, 2]
    alive = chosen.p_alive(params, x, t_x, T)[inverse]
    year = chosen.expected_purchases(params, 365.0, x, t_x, T)[inverse]
    churn = chosen.p_no_purchase(params, 90.0, x, t_x, T)[inverse]
    scored = time.perf_counter()
    assert np.isfinite(alive).all() and np.isfinite(year).all() and np.isfinite(churn).all()
    return {"fit_s": fitted - started, "fit_and_score_s": scored - started, "params": fit.params,
            "log_likelihood": fit.log_likelihood, "unique_triples": len(triples)}  # fmt: skip


def theirs(model: str, frame: pd.DataFrame) -> dict:
    import lifetimes

    started = time.perf_counter()
    _, triples, counts = _triples(frame)
    fitter = getattr(lifetimes, LIFETIMES[model])(penalizer_coef=0.0)
    fitter.fit(triples[:, 0], triples[:, 1], triples[:, 2], weights=counts)
    fitted = time.perf_counter()
    x, t_x, T = (frame[c].to_numpy() for c in ("frequency", "recency", "age"))
    alive = fitter.conditional_probability_alive(x, t_x, T)
    year = fitter.conditional_expected_number_of_purchases_up_to_time(365.0, x, t_x, T)
    scored = time.perf_counter()
    assert np.isfinite(alive).all() and np.isfinite(year).all()
    params = {k: float(v) for k, v in fitter.params_.items()}
    return {"fit_s": fitted - started, "fit_and_score_s": scored - started, "params": params}


def build_value_step(frame: pd.DataFrame) -> dict:
    """ml_value_models' fit (every candidate, Gamma-Gamma, the choice) and
    ml_customer_value_scores' scoring of every customer (30/90/365 days, discounted)."""
    from custseg.value import registry
    from custseg.value.score import score_customers

    customers = frame.assign(customer_id=np.arange(len(frame)).astype(str))
    started = time.perf_counter()
    row = registry.fit_summary(customers, ValueConfig())
    fitted = time.perf_counter()
    models = pd.DataFrame([row | {"value_model_version": 1, "time_unit": "day"}])
    scores = score_customers(customers, customers.iloc[0:0], models, ValueConfig())
    scored = time.perf_counter()
    assert row["status"] == "fitted" and scores.num_rows == 3 * len(frame)
    return {"fit_s": fitted - started, "fit_and_score_s": scored - started, "chosen": row["clv_model"]}


def compare_on_warehouse(path: str) -> None:
    import duckdb

    with duckdb.connect(path, read_only=True) as con:
        summary = con.sql(
            "select * from intermediate.int_customers__repeat_purchases order by customer_id"
        ).df()
    with threadpool_limits(1):
        step = build_value_step(summary.drop(columns="customer_id"))
    lines = [f"# The purchase models on {path} ({len(summary):,} customers)", "",
             f"The build's value step: fitted in {step['fit_s']:.3f} s, {step['chosen']} chosen.", ""]  # fmt: skip
    try:
        import lifetimes  # noqa: F401
    except ImportError:
        _write("clv_models_warehouse", lines, [])
        return
    lines += ["| model | parameter | custseg | lifetimes | relative difference |", "|---|---|---|---|---|"]
    with threadpool_limits(1):
        for model in MODELS:
            mine, other = ours(model, summary), theirs(model, summary)
            for name, value in mine["params"].items():
                them = other["params"][name]
                lines.append(f"| {MODELS[model].label} | {name} | {value:.6g} | {them:.6g} | "
                             f"{abs(value - them) / abs(them):.1e} |")  # fmt: skip
            x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age"))
            at_theirs = float(MODELS[model].log_likelihood(list(other["params"].values()), x, t_x, T).sum())
            lines.append(f"| {MODELS[model].label} | log-likelihood | {mine['log_likelihood']:,.3f} | "
                         f"{at_theirs:,.3f} | {mine['log_likelihood'] - at_theirs:+.1e} |")  # fmt: skip
    _write("clv_models_warehouse", lines, [])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warehouse", help="compare the parameters on a built warehouse instead")
    args = parser.parse_args()
    if args.warehouse:
        compare_on_warehouse(args.warehouse)
        return
    try:
        import lifetimes  # noqa: F401

        sides = {"custseg": ours, "lifetimes": theirs}
    except ImportError:
        sides = {"custseg": ours}
    runs = []
    with threadpool_limits(1):
        frames = {model: synthetic(model, args.customers, seed=i) for i, model in enumerate(MODELS)}
        for repeat in range(args.repeats):  # interleaved: ours, theirs, ours, theirs, ...
            for model, frame in frames.items():
                for side, run in sides.items():
                    runs.append({"model": model, "side": side, "repeat": repeat, **run(model, frame)})
            runs.append({"model": "all", "side": "build value step", "repeat": repeat,
                         **build_value_step(frames["bgnbd"])})  # fmt: skip
    lines = [f"# Purchase models, {args.customers:,} synthetic customers each (threads pinned to 1)", "",
             "| model | side | fit s (median) | fit + score s (median) |", "|---|---|---|---|"]  # fmt: skip
    table = pd.DataFrame(runs)
    for (model, side), rows in table.groupby(["model", "side"], sort=False):
        lines.append(
            f"| {model} | {side} | {rows['fit_s'].median():.2f} | {rows['fit_and_score_s'].median():.2f} |"
        )
    if "lifetimes" in sides:
        lines += ["", "| model | parameter | true | custseg | lifetimes | relative difference |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for model in MODELS:
            mine = table[(table["model"] == model) & (table["side"] == "custseg")].iloc[-1]["params"]
            other = table[(table["model"] == model) & (table["side"] == "lifetimes")].iloc[-1]["params"]
            for (name, value), truth in zip(mine.items(), TRUE[model], strict=True):
                lines.append(f"| {model} | {name} | {truth} | {value:.6g} | {other[name]:.6g} | "
                             f"{abs(value - other[name]) / abs(other[name]):.1e} |")  # fmt: skip
    _write("clv_models", lines, runs)


def _write(stem: str, lines: list[str], runs: list[dict]) -> None:
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stem}_{stamp}.md").write_text(text + "\n")
    if runs:
        (RESULTS / f"{stem}_{stamp}.json").write_text(json.dumps(runs, indent=1, default=float))


if __name__ == "__main__":
    main()
