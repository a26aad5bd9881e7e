"""Benchmark: the dashboard's segment explorer on a warehouse of N customers (synthetic marts:
dim_customer_segments, dim_customer_value, dim_segments, written to a temporary DuckDB file):
the time of one filtered, sorted page and its count (custseg.explorer.segment_customers, what
the page runs on every change), and of the whole filtered list as CSV (the download).

    .venv/bin/python benchmarks/bench_explorer.py --customers 1000000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from custseg.dashboard import explorer


def synthetic_warehouse(path: Path, n: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        f"""create table marts.dim_customer_segments as
        select cast(i as varchar) as customer_id, cast(i % 5 as integer) as cluster_id,
               'Segment ' || (i % 5) as segment_name, 'Champions' as rfm_segment,
               cast(hash(i) % 365 as integer) as recency_days, cast(1 + hash(i * 7) % 30 as integer) as order_count,
               cast(hash(i * 13) % 100000 as double) / 10 as monetary_value,
               cast(hash(i * 17) % 1000 as double) / 1000 as confidence
        from range({n}) t(i)"""
    )
    con.execute(
        """create table marts.dim_customer_value as
        select customer_id, cast(hash(customer_id) % 1000 as double) / 1000 as p_alive,
               ['low', 'medium', 'high'][cast(1 + hash(customer_id) % 3 as integer)] as churn_risk_band,
               monetary_value * 0.8 as predicted_clv
        from marts.dim_customer_segments"""
    )
    con.execute(
        "create table marts.dim_segments as select distinct cluster_id, segment_name, '' as description, "
        "'' as recommended_action from marts.dim_customer_segments"
    )
    con.close()


def timed(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "explorer.duckdb"
        synthetic_warehouse(path, args.customers)
        where = explorer.ExplorerFilter(max_recency_days=90, min_orders=3, churn_risk_bands=("high",))
        cases = {
            "first page, no filter, by customer id": lambda: explorer.segment_customers(0, path=path),
            "a filter, sorted by predicted CLV, page 3": lambda: explorer.segment_customers(
                0, where, "predicted_clv", True, 2, path
            ),
            "download of the filtered list (CSV)": lambda: explorer.segment_export(0, where, "csv", path),
        }
        print(f"| {args.customers:,} customers, 5 segments | median of {args.repeats} (s) |\n|---|---|")
        for name, call in cases.items():
            print(f"| {name} | {timed(call, args.repeats):.3f} |")


if __name__ == "__main__":
    main()
