"""Benchmark: the value models' fit and scoring (custseg.value) on N synthetic customers against
lifetimes' BetaGeoFitter / GammaGammaFitter, interleaved in one run, BLAS/OpenMP threads pinned
to 1 on both sides.

Customers are drawn from the BG/NBD and Gamma-Gamma processes with known parameters
(vectorised), observed for 1 to 365 whole days, recency in whole days (as the warehouse's
summary). lifetimes is optional (not a dependency of the build): install it beside, e.g.
``pip install --target /tmp/ltlib --no-deps lifetimes==0.11.3 autograd dill`` and run with
``PYTHONPATH=/tmp/ltlib``; without it only our side runs.

    .venv/bin/python benchmarks/bench_clv.py --customers 1000000 --repeats 3
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

from custseg.value import btyd  # noqa: E402
from custseg.value.score import score_horizons  # noqa: E402

BGNBD = (0.243, 4.414, 0.793, 2.426)  # CDNOW's (Fader, Hardie & Lee 2005), in weeks; used in days here
GAMMA_GAMMA = (6.25, 3.74, 15.44)
RESULTS = Path(__file__).resolve().parent / "results"


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """x, t_x (whole days), T (1 to 365 days) and the mean repeat value of n customers."""
    r, alpha, a, b = BGNBD
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 366, size=n).astype(float)
    rate, dropout = rng.gamma(r, 1.0 / alpha, size=n), rng.beta(a, b, size=n)
    now, x, t_x = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while len(active):  # one purchase of every still-active customer per pass
        now[active] += rng.exponential(1.0 / rate[active])
        bought = now[active] <= T[active]
        active = active[bought]
        x[active] += 1
        t_x[active] = now[active]
        active = active[rng.random(len(active)) >= dropout[active]]
    p, q, v = GAMMA_GAMMA
    nu = rng.gamma(q, 1.0 / v, size=n)
    totals = rng.gamma(np.maximum(p * x, 1e-9), 1.0 / nu)
    m = np.where(x > 0, totals / np.maximum(x, 1), np.nan)
    return pd.DataFrame({"frequency": x, "recency": np.floor(t_x), "age": T, "mean_repeat_value": m})


def ours(frame: pd.DataFrame) -> dict:
    started = time.perf_counter()
    x, t_x, T = (frame[c].to_numpy() for c in ("frequency", "recency", "age"))
    grouped = frame.groupby(["frequency", "recency", "age"], sort=False)  # the unique triples, hashed
    inverse, sizes = grouped.ngroup().to_numpy(), grouped.size()
    triples, counts = sizes.index.to_frame().to_numpy(), sizes.to_numpy()
    bgnbd = btyd.fit_bgnbd(triples[:, 0], triples[:, 1], triples[:, 2], weights=counts)
    repeat = x > 0
    gamma = btyd.fit_gamma_gamma(x[repeat], frame["mean_repeat_value"].to_numpy()[repeat])
    fitted = time.perf_counter()
    params = list(bgnbd.params.values())
    alive = btyd.p_alive(params, x, t_x, T)
    year = btyd.expected_purchases(params, 365.0, triples[:, 0], triples[:, 1], triples[:, 2])[
        inverse.ravel()
    ]
    value = btyd.expected_average_value(
        list(gamma.params.values()), x, np.nan_to_num(frame["mean_repeat_value"].to_numpy())
    )
    scored = time.perf_counter()
    assert np.isfinite(alive).all() and np.isfinite(year).all() and np.isfinite(value).all()
    customers = frame.assign(customer_id=np.arange(len(frame)).astype(str))
    horizons = score_horizons(customers, params, 1, (30, 90, 365), 0.10, "snapshot")
    build_scoring = time.perf_counter()
    assert len(horizons) == 3 * len(frame)
    return {
        "fit_s": fitted - started, "score_s": scored - fitted, "fit_and_score_s": scored - started,
        "build_scoring_3_horizons_discounted_s": build_scoring - scored, "unique_triples": len(triples),
        "bgnbd": bgnbd.params, "gamma_gamma": gamma.params, "converged": bgnbd.converged and gamma.converged,
    }  # fmt: skip


def lifetimes_side(frame: pd.DataFrame) -> dict:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    started = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(frame["frequency"], frame["recency"], frame["age"])
    repeat = frame[frame["frequency"] > 0]
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["mean_repeat_value"])
    fitted = time.perf_counter()
    return {
        "fit_s": fitted - started,
        "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
        "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frame = synthetic(args.customers)
    try:
        import lifetimes  # noqa: F401

        sides = {"custseg": ours, "lifetimes": lifetimes_side}
    except ImportError:
        sides = {"custseg": ours}
    runs = []
    with threadpool_limits(1):
        for repeat in range(args.repeats):  # interleaved: ours, theirs, ours, theirs, ...
            for name, side in sides.items():
                runs.append({"side": name, "repeat": repeat, **side(frame)})
    report(args.customers, runs)


def report(n: int, runs: list[dict]) -> None:
    frame = pd.DataFrame(runs)
    lines = [f"# Value models, {n:,} synthetic customers (threads pinned to 1)", ""]
    lines += [
        "| side | fit s (median) | fit + score s | build scoring, 3 horizons discounted, s |",
        "|---|---|---|---|",
    ]
    for side, rows in frame.groupby("side", sort=False):
        fit_score = rows["fit_and_score_s"].median() if "fit_and_score_s" in rows else float("nan")
        build = rows.get("build_scoring_3_horizons_discounted_s", pd.Series([float("nan")])).median()
        lines.append(f"| {side} | {rows['fit_s'].median():.2f} | {fit_score:.2f} | {build:.2f} |")
    last = {side: rows.iloc[-1] for side, rows in frame.groupby("side", sort=False)}
    if "lifetimes" in last:
        lines += ["", "| parameter | custseg | lifetimes | relative difference |", "|---|---|---|---|"]
        for model in ("bgnbd", "gamma_gamma"):
            for name, value in last["custseg"][model].items():
                theirs = last["lifetimes"][model][name]
                lines.append(
                    f"| {model} {name} | {value:.6g} | {theirs:.6g} | {abs(value - theirs) / abs(theirs):.2e} |"
                )
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"clv_{stamp}.md").write_text(text + "\n")
    (RESULTS / f"clv_{stamp}.json").write_text(json.dumps(runs, indent=1, default=float))


if __name__ == "__main__":
    main()
