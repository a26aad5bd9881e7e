"""Benchmark: the ML layer's fit and score (what the two dbt Python models run) on N customers.

Customers are synthesised with realistic, skewed R/F/M (lognormal mixtures), or read from a
built warehouse with --db. Reports wall time per step and the peak RSS of this process.

    .venv/bin/python benchmarks/bench_segmentation.py --customers 1000000
    .venv/bin/python benchmarks/bench_segmentation.py --db warehouse/custseg.duckdb
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from custseg.segmentation import ClassifierConfig, SegmentationConfig
from custseg.segmentation.fit import fit_all
from custseg.segmentation.reports import decode_report
from custseg.segmentation.score import score_all


def synthetic_customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(5, size=n, p=[0.1, 0.2, 0.25, 0.25, 0.2])
    rec_mu = np.log([8, 30, 60, 150, 280])[group]
    frq_mu = np.log([15, 6, 2, 3, 1.2])[group]
    mon_mu = np.log([6000, 2000, 400, 900, 150])[group]
    frame = pd.DataFrame(
        {
            "customer_id": np.char.add("c", np.arange(n).astype(str)),
            "recency_days": np.maximum(1, np.rint(np.exp(rng.normal(rec_mu, 0.5)))),
            "order_count": np.maximum(1, np.rint(np.exp(rng.normal(frq_mu, 0.5)))),
            "monetary_value": np.exp(rng.normal(mon_mu, 0.6)),
        }
    )
    # the other columns of the ML input that the classifier reads
    frame["country"] = np.where(group == 0, "France", "United Kingdom")
    frame["first_purchase_at"] = pd.Timestamp("2011-01-01")
    for column in (
        "monetary_gross",
        "tenure_days",
        "avg_order_value",
        "items_per_order",
        "distinct_products",
    ):
        frame[column] = frame["monetary_value"] / frame["order_count"]
    for column in ("returned_value", "line_count", "return_line_count", "return_rate"):
        frame[column] = 0.0
    return frame


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", help="read marts.dim_customers from this warehouse instead")
    parser.add_argument("--algorithm", default="kmeans")
    args = parser.parse_args()

    steps: dict[str, float] = {}
    t = time.perf_counter()
    if args.db:
        import duckdb

        con = duckdb.connect(args.db, read_only=True)
        customers = con.sql("select * from marts.dim_customers").to_df()
    else:
        customers = synthetic_customers(args.customers)
    steps["load"] = time.perf_counter() - t
    config = SegmentationConfig(algorithm=args.algorithm)
    names = pd.read_csv(Path(__file__).resolve().parents[1] / "seeds" / "segment_names.csv")

    t = time.perf_counter()
    registry = fit_all(customers, names, config, ClassifierConfig()).to_pandas()
    steps["fit_all"] = time.perf_counter() - t
    t = time.perf_counter()
    out = score_all(customers, registry, config)
    steps["score_all"] = time.perf_counter() - t
    sweep = decode_report(registry["reports"].iloc[0], "k_selection")

    result = {
        "customers": len(customers),
        "algorithm": args.algorithm,
        "chosen_k": int(sweep.loc[sweep["is_chosen"], "k"].iloc[0]),
        "steps_s": {k: round(v, 2) for k, v in steps.items()},
        "total_s": round(sum(steps.values()), 2),
        "peak_rss_mib": round(peak_rss_mib()),
        "segments": out["segment_name"].value_counts().to_dict(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
