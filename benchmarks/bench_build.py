"""Benchmark: cold ``dbt build`` (fresh database and target) on real or generated transactions.

For every input it runs ``dbt build`` in a subprocess ``--repeat`` times and reports the median
wall time, the peak resident memory of the dbt process (Python models run inside it) and the
slowest models from ``run_results.json``. Results go to stdout and to
``benchmarks/results/build_<timestamp>.{md,csv}`` with a description of the machine.

    .venv/bin/python benchmarks/bench_build.py --real ../shared/data/online_retail.parquet \
        --generate 500000 --generate 5000000 --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from custseg.workspace import workspace_env

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Runs the command and prints its wall time and the peak RSS of the largest process it waited for.
WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'rc': rc, 'wall_s': wall, 'peak_rss_mib': rss / 1024}))\n"
)


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    limit = os.environ.get("CUSTSEG_MEMORY_LIMIT", "4GB (profiles.yml default)")
    return (
        f"{platform.node()} · {os.cpu_count()} cores · {mem} · {platform.platform()} · "
        f"Python {platform.python_version()} · DuckDB memory_limit {limit}"
    )


def write_report(rows: list[dict], prefix: str) -> str:
    """Print the rows as a Markdown table with the machine, and save it as .md and .csv."""
    header = list(rows[0])
    lines = [f"Machine: {machine()}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    report = "\n".join(lines)
    print("\n" + report)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{prefix}_{stamp}.md").write_text(report + "\n")
    with open(out / f"{prefix}_{stamp}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return report


def generate(rows: int, workdir: Path) -> Path:
    customers = max(100, rows // 100)
    path = workdir / f"generated_{rows}.parquet"
    if not path.exists():
        subprocess.run(
            [
                str(BIN / "custseg"),
                "generate",
                "-o",
                str(path),
                "--rows",
                str(rows),
                "--customers",
                str(customers),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def build_env(run_dir: Path) -> dict:
    """The environment of a benchmark build: its own database, serving copy, spill, target, logs."""
    return workspace_env(run_dir)


def build_once(path: Path, workdir: Path) -> dict:
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    env = build_env(run_dir)
    cmd = [
        sys.executable,
        "-c",
        WRAPPER,
        str(BIN / "dbt"),
        "build",
        "--vars",
        json.dumps({"transactions_path": str(path)}),
    ]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"dbt build failed on {path}; rerun it by hand to see why (run dir {run_dir})")
    run_results_text = (run_dir / "target" / "run_results.json").read_text()
    # kept beside the inputs for a closer look at every node's time
    (workdir / f"run_results_{path.stem}.json").write_text(run_results_text)
    run_results = json.loads(run_results_text)
    timings = run_results["results"]
    result["models"] = {
        r["unique_id"].split(".")[-1]: r["execution_time"]
        for r in timings
        if r["unique_id"].startswith("model.")
    }
    # where the wall time goes: outside dbt's node phase (start-up, parse, artifacts), data tests
    result["startup_parse_s"] = result["wall_s"] - run_results["elapsed_time"]
    result["tests_s"] = sum(r["execution_time"] for r in timings if r["unique_id"].startswith("test."))
    result["slowest_tests"] = sorted(
        (
            (r["execution_time"], r["unique_id"].split(".")[2])
            for r in timings
            if r["unique_id"].startswith("test.")
        ),
        reverse=True,
    )[:3]
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", action="append", default=[], help="a real transactions file (repeatable)")
    parser.add_argument(
        "--generate", action="append", type=int, default=[], help="generated rows (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=str(REPO / "target" / "bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = [(Path(p).name, Path(p)) for p in args.real]
    inputs += [(f"generated {n:,}", generate(n, workdir)) for n in args.generate]
    if not inputs:
        parser.error("give at least one --real FILE or --generate ROWS")

    rows = []
    for label, path in inputs:
        runs = [build_once(path, workdir) for _ in range(args.repeat)]
        models = {m: statistics.median(r["models"][m] for r in runs) for m in runs[0]["models"]}
        slowest = sorted(models.items(), key=lambda kv: -kv[1])[:3]
        rows.append(
            {
                "input": label,
                "runs": len(runs),
                "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 2),
                "min_wall_s": round(min(r["wall_s"] for r in runs), 2),
                "max_peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs)),
                "startup_parse_s": round(statistics.median(r["startup_parse_s"] for r in runs), 2),
                "data_tests_s": round(statistics.median(r["tests_s"] for r in runs), 2),
                "slowest_models_s": "; ".join(f"{m} {t:.2f}" for m, t in slowest),
                "slowest_tests_s": "; ".join(f"{n} {t:.2f}" for t, n in runs[0]["slowest_tests"]),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    write_report(rows, "build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
