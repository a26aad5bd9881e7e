"""Benchmark: a weekly batch against the full build of the warehouse it lands in.

For each size N it generates a warehouse file of N lines (N/100 customers) and a batch of N/100
lines from the same customers, later dates and new invoices. Each repeat runs, interleaved, a
cold full ``dbt build`` of the N lines, then, on the warehouse that build wrote, an incremental
``dbt build`` of the batch in ``segmentation_mode: score``, then of the next week's batch. It
reports the median wall times, their ratio, the batch build's start-up + parse, data-test
(summed), model (summed) and publish time, its slowest models and tests. The next week's batch is
the steady state of a weekly job: its publish finds the publication before the served one (the
full build's) and rewrites only its changed blocks, where the first batch's publish copies. With ``--weekly`` the pair runs as a weekly job would: one
folder glob as transactions_path (the batch file is added to the folder), the same vars both
builds, and the batch build keeps target/ (dbt's partial parsing). Run with BLAS/OpenMP threads pinned
(``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``).

    .venv/bin/python benchmarks/bench_incremental.py --rows 20000000 --repeat 2 [--weekly]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import BIN, REPO, WRAPPER, build_env, write_report


def generate(path: Path, rows: int, customers: int, *extra: str) -> Path:
    if not path.exists():
        subprocess.run(
            [str(BIN / "custseg"), "generate", "-o", str(path), "--rows", str(rows), "--customers",
             str(customers), *extra],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return path


def build(run_dir: Path, transactions: Path | str, warm: bool = False, **variables) -> dict:
    env = build_env(run_dir)
    if not warm:
        shutil.rmtree(run_dir / "target", ignore_errors=True)  # cold: no partial parse either
    cmd = [sys.executable, "-c", WRAPPER, str(BIN / "dbt"), "build", "--vars",
           json.dumps({"transactions_path": str(transactions), **variables})]  # fmt: skip
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"dbt build failed on {transactions}; rerun it by hand (run dir {run_dir})")
    run_results = json.loads((run_dir / "target" / "run_results.json").read_text())
    timings = run_results["results"]
    result["startup_parse_s"] = result["wall_s"] - run_results["elapsed_time"]
    result["tests_s"] = sum(r["execution_time"] for r in timings if r["unique_id"].startswith("test."))
    result["models_s"] = sum(r["execution_time"] for r in timings if r["unique_id"].startswith("model."))
    # the on-run-end hook: the checkpoint and the copy of the serving file
    result["publish_s"] = sum(r["execution_time"] for r in timings if "on-run-end" in r["unique_id"])
    for kind in ("model", "test"):  # unique_id: <kind>.custseg.<name>[.<hash>]
        result[f"{kind}s"] = {
            r["unique_id"].split(".")[2]: r["execution_time"]
            for r in timings
            if r["unique_id"].startswith(f"{kind}.")
        }
    return result


def slowest(runs: list[dict], kind: str, top: int = 5) -> str:
    """The ``top`` slowest nodes of ``kind`` ('models' or 'tests'), by median time over the runs."""
    medians = {name: statistics.median(r[kind][name] for r in runs) for name in runs[0][kind]}
    ranked = sorted(medians.items(), key=lambda kv: -kv[1])[:top]
    return "; ".join(f"{name} {seconds:.1f}" for name, seconds in ranked)


def main() -> int:
    # a benchmark script's main: the steps of one measured scenario, in order
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", action="append", type=int, required=True, help="warehouse lines (repeatable)"
    )
    parser.add_argument("--batch-share", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", default=str(REPO / "target" / "bench"))
    parser.add_argument(
        "--weekly",
        action="store_true",
        help="as README 'Running it every week' with a folder: transactions_path is one glob over a "
        "folder the batch file is added to (the same vars both builds), and the batch build keeps "
        "the full build's target/ (dbt's partial parsing); segmentation_mode auto with "
        "refit_policy never, which scores the batch",
    )
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    rows_out = []
    for n in args.rows:
        customers = max(100, n // 100)
        base = generate(workdir / f"generated_{n}.parquet", n, customers)
        batch_rows = max(1_000, int(n * args.batch_share))
        batch = generate(
            workdir / f"batch_{n}.parquet", batch_rows, min(customers, batch_rows // 4), "--seed", "99",
            "--start", "2011-12-10", "--end", "2012-01-20", "--first-invoice", "20000000",
        )  # fmt: skip
        after = generate(
            workdir / f"batch2_{n}.parquet", batch_rows, min(customers, batch_rows // 4), "--seed", "98",
            "--start", "2012-01-21", "--end", "2012-03-01", "--first-invoice", "21000000",
        )  # fmt: skip
        full, incremental, following = [], [], []
        for _ in range(args.repeat):
            run_dir = Path(tempfile.mkdtemp(dir=workdir))
            if args.weekly:
                incoming = run_dir / "incoming"
                incoming.mkdir()
                (incoming / base.name).symlink_to(base)
                glob = str(incoming / "*.parquet")
                # the same vars both builds: auto fits the first (no model yet), then scores
                full.append(build(run_dir, glob, refit_policy="never"))
                (incoming / batch.name).symlink_to(batch)
                incremental.append(build(run_dir, glob, warm=True, refit_policy="never"))
                (incoming / after.name).symlink_to(after)
                following.append(build(run_dir, glob, warm=True, refit_policy="never"))
            else:
                full.append(build(run_dir, base))
                incremental.append(build(run_dir, batch, segmentation_mode="score"))
                following.append(build(run_dir, after, segmentation_mode="score"))
            shutil.rmtree(run_dir, ignore_errors=True)
        full_s = statistics.median(r["wall_s"] for r in full)
        batch_s = statistics.median(r["wall_s"] for r in incremental)
        next_s = statistics.median(r["wall_s"] for r in following)
        rows_out.append(
            {
                "warehouse_lines": f"{n:,}",
                "setup": "weekly folder glob, warm target" if args.weekly else "file per build, cold target",
                "batch_lines": f"{batch_rows:,}",
                "runs": args.repeat,
                "full_build_s": round(full_s, 1),
                "batch_build_s": round(batch_s, 1),
                "batch_share_of_full": f"{batch_s / full_s:.1%}",
                "batch_startup_parse_s": round(
                    statistics.median(r["startup_parse_s"] for r in incremental), 1
                ),
                "batch_data_tests_s": round(statistics.median(r["tests_s"] for r in incremental), 1),
                "batch_models_s": round(statistics.median(r["models_s"] for r in incremental), 1),
                "batch_publish_s": round(statistics.median(r["publish_s"] for r in incremental), 1),
                "full_publish_s": round(statistics.median(r["publish_s"] for r in full), 1),
                "next_batch_build_s": round(next_s, 1),
                "next_batch_share_of_full": f"{next_s / full_s:.1%}",
                "next_batch_models_s": round(statistics.median(r["models_s"] for r in following), 1),
                "next_batch_publish_s": round(statistics.median(r["publish_s"] for r in following), 1),
                "full_peak_rss_mib": round(max(r["peak_rss_mib"] for r in full)),
                "batch_peak_rss_mib": round(max(r["peak_rss_mib"] for r in incremental)),
                "batch_slowest_models_s": slowest(incremental, "models"),
                "batch_slowest_tests_s": slowest(incremental, "tests"),
            }
        )
        print(json.dumps(rows_out[-1]), flush=True)
    write_report(rows_out, f"incremental_{time.strftime('%H%M')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
