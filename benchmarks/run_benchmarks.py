"""Side-by-side benchmark: the full dbt build vs the notebook way vs one bare DuckDB query.

For each input (generated sizes and/or real files) and each repetition, in this order:
  1. ``dbt build`` end to end in a subprocess, cold (fresh database and target folder): wall
     time, peak RSS of the dbt process (Python models run inside it), per-model times from
     run_results.json, and the SQL part (staging -> dim_customers) summed;
  2. the notebook-style baseline (benchmarks/notebook_baseline.py) with a time cap: a run over
     the cap is reported as "over N s", not waited for;
  3. the bare DuckDB query from the raw file to RFM per customer (benchmarks/bare_duckdb.py).
Medians over the repetitions go to stdout and to benchmarks/results/<stamp>.{md,csv} with the
machine description. Generated inputs are cached in target/bench/.

    .venv/bin/python benchmarks/run_benchmarks.py --real ../shared/data/online_retail.parquet \
        --sizes 500000 5000000 --repeat 3 --baseline-cap 900
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_build import REPO, build_once, generate, write_report

SQL_MODELS = (
    "base_retail__transactions",
    "stg_retail__transactions",
    "int_transactions__classified",
    "fct_transactions",
    "fct_transaction_quarantine",
    "int_customers__features",
    "int_customers__rfm_scored",
    "dim_customers",
)
HERE = Path(__file__).resolve().parent


def run_script(script: str, path: Path, cap: float) -> dict:
    started = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, str(HERE / script), str(path)], capture_output=True, text=True, timeout=cap
        )
    except subprocess.TimeoutExpired:
        return {"total_s": None, "over_cap_s": cap}
    if out.returncode != 0:
        raise SystemExit(f"{script} failed on {path}: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    return result


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", action="append", default=[], help="a real transactions file (repeatable)")
    parser.add_argument("--sizes", nargs="*", type=int, default=[], help="generated row counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--baseline-cap", type=float, default=900, help="seconds before the baseline is stopped"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    workdir = REPO / "target" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = [(Path(p).name, Path(p).resolve()) for p in args.real]
    inputs += [(f"generated {n:,} rows", generate(n, workdir)) for n in args.sizes]
    if not inputs:
        parser.error("give --real FILE and/or --sizes N ...")

    rows = []
    for label, path in inputs:
        builds, baselines, bares = [], [], []
        for _ in range(args.repeat):
            builds.append(build_once(path, workdir))
            if not args.skip_baseline:
                baselines.append(run_script("notebook_baseline.py", path, args.baseline_cap))
            bares.append(run_script("bare_duckdb.py", path, args.baseline_cap))
        build_wall = median(b["wall_s"] for b in builds)
        sql_part = median(sum(b["models"].get(m, 0.0) for m in SQL_MODELS) for b in builds)
        bare = median(b["total_s"] for b in bares)  # the query itself, as the SQL part is
        if args.skip_baseline:
            base_text, ratio = "skipped", None
        elif all(b.get("total_s") is None for b in baselines):
            base_text, ratio = f"over {args.baseline_cap:.0f} s", None
        else:
            base_wall = median(b.get("wall_s") for b in baselines)
            base_text, ratio = base_wall, round(base_wall / build_wall, 2)
        models = {m: median(b["models"].get(m) for b in builds) for m in builds[0]["models"]}
        slowest = sorted(models.items(), key=lambda kv: -(kv[1] or 0))[:4]
        row = {
            "input": label,
            "runs": args.repeat,
            "dbt_build_wall_s": build_wall,
            "dbt_build_peak_rss_mib": round(max(b["peak_rss_mib"] for b in builds)),
            "startup_parse_s": median(b["startup_parse_s"] for b in builds),
            "data_tests_s": median(b["tests_s"] for b in builds),
            "notebook_baseline_wall_s": base_text,
            "speedup_vs_baseline": ratio,
            "sql_part_s": sql_part,
            "bare_duckdb_s": bare,
            "sql_part_vs_bare": round(sql_part / bare, 1) if bare else None,
            "slowest_models_s": "; ".join(f"{m} {t}" for m, t in slowest),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    write_report(rows, "side_by_side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
