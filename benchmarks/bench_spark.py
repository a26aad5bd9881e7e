"""Benchmark: a cold ``dbt build`` on local Spark (``--target spark``: dbt-spark's session,
``local[2]``) beside the same build on DuckDB, on the same file, interleaved (DuckDB, Spark,
DuckDB, Spark, ...), BLAS/OpenMP threads pinned to 1 on both sides.

On one machine Spark is expected to be slower: every statement goes through the JVM, the Hive
metastore and Parquet files, where DuckDB answers in-process. The point is that the same
project runs there, and what a node costs; on a cluster the SQL layer scales with it.

    .venv/bin/python benchmarks/bench_spark.py --generate 120000 --generate 5000000 --repeat 2

``--spark-threads N`` (repeatable) runs the Spark build with ``dbt --threads N``, each count in
turn with the others; without it, the profile's threads.

Results go to stdout and benchmarks/results/spark_<timestamp>.{md,csv}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import BIN, REPO, WRAPPER, build_env, generate, write_report

PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def build_once(path: Path, workdir: Path, engine: str, threads: int | None = None) -> dict:
    """One cold build on ``engine`` (duckdb or spark; ``threads``: dbt's, else the profile's):
    wall time and dbt's own node times."""
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    env = dict(
        build_env(run_dir),
        **PINNED,
        CUSTSEG_SPARK_WAREHOUSE=str(run_dir / "spark"),
        SPARK_LOCAL_IP="127.0.0.1",
    )
    target = ["--target", "spark"] if engine == "spark" else []
    cmd = [sys.executable, "-c", WRAPPER, str(BIN / "dbt"), "build", *target]
    cmd += ["--vars", json.dumps({"transactions_path": str(path)})]
    cmd += ["--threads", str(threads)] if threads else []
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"dbt build --target {engine} failed on {path}; see {run_dir}/logs")
    timings = json.loads((run_dir / "target" / "run_results.json").read_text())["results"]

    def total(prefix: str, language: str | None = None) -> float:
        return sum(
            r["execution_time"]
            for r in timings
            if r["unique_id"].startswith(prefix) and (language is None or r.get("language") == language)
        )

    result["sql_models_s"] = total("model.") - python_models_s(timings)
    result["python_models_s"] = python_models_s(timings)
    result["data_tests_s"] = total("test.")
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def python_models_s(timings: list[dict]) -> float:
    python = {p.stem for p in (REPO / "python_models").rglob("*.py")}
    return sum(r["execution_time"] for r in timings if r["unique_id"].split(".")[-1] in python)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generate", action="append", type=int, default=[], help="generated rows")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", default=str(REPO / "target" / "bench"))
    parser.add_argument("--spark-threads", action="append", type=int, default=[], help="dbt threads on Spark")
    args = parser.parse_args()
    if not args.generate:
        parser.error("give at least one --generate ROWS")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]

    rows = []
    for n in args.generate:
        path = generate(n, workdir)
        engines = [("duckdb", None)] + [("spark", t) for t in args.spark_threads or [None]]
        runs: dict[tuple, list[dict]] = {engine: [] for engine in engines}
        for _ in range(args.repeat):
            for engine in engines:
                runs[engine].append(build_once(path, workdir, *engine))
                print(*engine, n, json.dumps(runs[engine][-1]), flush=True)
        duck = statistics.median(r["wall_s"] for r in runs[("duckdb", None)])
        for (engine, threads), results in runs.items():
            wall = statistics.median(r["wall_s"] for r in results)
            spark = f"spark local[2] ({java})" + (f", {threads} dbt threads" if threads else "")
            rows.append(
                {
                    "input": f"generated {n:,} lines",
                    "engine": engine if engine == "duckdb" else spark,
                    "runs": len(results),
                    "median_wall_s": round(wall, 1),
                    "vs_duckdb": f"{wall / duck:.1f}x",
                    "sql_models_s": round(statistics.median(r["sql_models_s"] for r in results), 1),
                    "python_models_s": round(statistics.median(r["python_models_s"] for r in results), 1),
                    "data_tests_s": round(statistics.median(r["data_tests_s"] for r in results), 1),
                }
            )
    write_report(rows, "spark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
