"""Benchmark: how soon a bad input or setting is reported by ``dbt build`` (issue 11: within 10 s).

Each case runs ``dbt build`` on the Online Retail file (or a small bad file) in a subprocess with a
fresh database, and measures the wall time from starting the process to the first line of the
error message on its output (and to its exit). "cold" uses a fresh target folder (dbt parses the
whole project); "warm" runs the same command again in the same target folder (partial parsing).
BLAS/OpenMP threads are pinned to 1. Results go to stdout and to
``benchmarks/results/input_errors_<timestamp>.{md,csv}``.

    .venv/bin/python benchmarks/bench_input_errors.py --real ../shared/data/online_retail.parquet
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_build import write_report

from custseg.workspace import workspace_env

REPO = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).with_name("dbt"))
MARKERS = (
    "Transactions input problem",
    "Customer table problem",
    "Setting problem",
    "Segmentation input problem",
    "Not published",
    "has a quote in its name",
)


def cases(real: Path, tmp: Path) -> list[tuple[str, dict]]:
    import pandas as pd

    corrupt = tmp / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 truncated")
    empty = tmp / "empty.csv"
    empty.write_bytes(b"")
    typed = tmp / "typed.parquet"
    frame = pd.read_parquet(real).head(1000)
    frame["Quantity"] = frame["Quantity"] > 0
    frame.to_parquet(typed)
    wide = tmp / "wide.csv"
    columns = [f"c{j}" for j in range(10_000)]
    with wide.open("w") as out:
        out.write("ID," + ",".join(columns) + "\n")
        for i in range(60):
            out.write(f"w{i}," + ",".join(str((i * j) % 97) for j in range(10_000)) + "\n")
    latin1 = tmp / "latin1.csv"
    latin1.write_bytes(
        "CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n1,2011-01-01,1,2.5,Curaçao\n".encode("latin-1")
    )
    latin1_customers = tmp / "latin1_customers.csv"
    latin1_customers.write_bytes(
        ("ID,City,Spend\n" + "".join(f"{i},Genève,{i}\n" for i in range(20))).encode("latin-1")
    )
    returns = tmp / "returns.csv"
    returns.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        + "".join(f"C{i},{100 + i},2011-01-0{1 + i % 9},-1,2.5\n" for i in range(30))
    )
    utf16 = tmp / "utf16.csv"
    utf16.write_bytes(
        "\ufeffCustomerID,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,2.5\n".encode("utf-16-le")
    )
    tiny = tmp / "tiny.csv"
    tiny.write_text(
        "CustomerID,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,1\n2,2011-01-02,2,2\n3,2011-01-03,3,3\n"
    )
    return [
        ("missing file", {"transactions_path": str(tmp / "missing.parquet")}),
        ("empty file", {"transactions_path": str(empty)}),
        ("corrupt Parquet", {"transactions_path": str(corrupt)}),
        ("BOOLEAN quantity column", {"transactions_path": str(typed)}),
        ("Online Retail, column_map to a missing column",
         {"transactions_path": str(real), "column_map": {"customer_id": "Client"}}),
        ("Online Retail, bad as_of_date", {"transactions_path": str(real), "as_of_date": "2011-13-01"}),
        ("Online Retail, unknown algorithm + k_min > k_max",
         {"transactions_path": str(real), "segmentation_algorithm": "dbscan", "k_min": 5, "k_max": 3}),
        ("Online Retail, invalid date_format", {"transactions_path": str(real), "date_format": "%Q"}),
        # issue 24
        ("customer table of 10,000 columns", {"customers_path": str(wide)}),
        ("Latin-1 CSV", {"transactions_path": str(latin1)}),
        ("Latin-1 customer table", {"customers_path": str(latin1_customers)}),
        ("no clean purchase (all returns)", {"transactions_path": str(returns)}),
        ("too few customers (3)", {"transactions_path": str(tiny)}),
        # issue 38
        ("UTF-16 CSV", {"transactions_path": str(utf16)}),
        ("Online Retail, clv_calibration_end after the data",
         {"transactions_path": str(real), "clv_calibration_end": "2012-06-01"}),
        ("Online Retail, working database named with a quote",
         {"transactions_path": str(real), DB_NAME: "o'brien.duckdb"}),
    ]  # fmt: skip


# not a var: a case's working database file name (the workspace's, by default)
DB_NAME = "_db_name"


def time_to_error(workdir: Path, vars: dict) -> tuple[float, float, str]:
    vars = dict(vars)
    db_name = vars.pop(DB_NAME, "wh.duckdb")
    env = workspace_env(
        workdir,
        db_name,
        CUSTSEG_MODEL_KEY_PATH=workdir / "key",
        OMP_NUM_THREADS=1,
        OPENBLAS_NUM_THREADS=1,
        MKL_NUM_THREADS=1,
    )
    (workdir / db_name).unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [DBT, "build", "--vars", json.dumps(vars)], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    first, message = None, ""
    for line in proc.stdout:
        if first is None and any(m in line for m in MARKERS):
            first, message = time.perf_counter() - started, line.strip()
    proc.wait()
    total = time.perf_counter() - started
    return (first if first is not None else float("nan")), total, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--real", type=Path, default=REPO.parent / "shared" / "data" / "online_retail.parquet"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", help="run the cases whose name contains one of these texts (comma-separated)"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-errors-") as tmp_name:
        tmp = Path(tmp_name)
        for name, vars in cases(args.real.resolve(), tmp):
            if args.only and not any(part.strip().lower() in name.lower() for part in args.only.split(",")):
                continue
            cold, warm, message = [], [], ""
            for i in range(args.repeat):
                workdir = tmp / f"w{len(rows)}_{i}"
                workdir.mkdir()
                first, _, message = time_to_error(workdir, vars)
                cold.append(first)
                warm.append(time_to_error(workdir, vars)[0])  # same target folder: partial parse
            rows.append(
                {
                    "case": name,
                    "cold: error after (s)": f"{statistics.median(cold):.1f}",
                    "warm: error after (s)": f"{statistics.median(warm):.1f}",
                    "message starts": message.split(":", 1)[0][-40:] if message else "(no message!)",
                }
            )
            print(rows[-1], flush=True)
    write_report(rows, "input_errors")


if __name__ == "__main__":
    main()
