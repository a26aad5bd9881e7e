"""Benchmark: a database source (docs/database.md) against the same rows as a Parquet file.

Generates ``--rows`` demo lines with a line id and a change stamp, loads them into a PostgreSQL
server of its own (tests/postgres_server.py: a temp cluster on 127.0.0.1) and into a Parquet
file, then, interleaved ``--repeat`` times, runs a cold ``dbt build`` of each (a fresh warehouse
and target). After the last pair, on the PostgreSQL warehouse: a weekly build after 1% new lines
(new keys: the incremental path), and one after 1% corrected lines (keys already loaded: the
reload). BLAS/OpenMP threads are pinned to 1 on both sides. Prints a Markdown table and saves
``benchmarks/results/database_<timestamp>.md``.

    .venv/bin/python benchmarks/bench_database.py --rows 5000000 --repeat 2
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from custseg.demo_data import GeneratorConfig, write_transactions
from custseg.workspace import workspace_env

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from postgres_server import PostgresServer  # noqa: E402  (the tests' server helper)

PINNED = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
TABLE_VARS = {"transactions_table": "shop.sales", "transactions_key_columns": ["line_id"],
              "transactions_updated_at_column": "updated_at"}  # fmt: skip


def build(workdir: Path, vars: dict, env: dict | None = None) -> float:
    """Wall seconds of one ``dbt build`` with its files in ``workdir``."""
    import json

    environment = workspace_env(workdir, "wh.duckdb", **PINNED, **(env or {}))
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "dbt"), "build", "--vars", json.dumps(vars)],
                          cwd=REPO, env=environment, capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"dbt build failed in {workdir}:\n{done.stdout[-3000:]}")
    return seconds


def lines_file(folder: Path, rows: int) -> Path:
    """``rows`` demo lines with a line id and a change stamp, as Parquet."""
    demo = folder / "demo.parquet"
    write_transactions(demo, GeneratorConfig(rows=rows, customers=max(2_000, rows // 100), seed=5))
    lines = folder / "lines.parquet"
    duckdb.sql(
        f"copy (select file_row_number + 1 as line_id, * exclude (file_row_number), "
        f"timestamp '2011-12-10' as updated_at from read_parquet('{demo}', file_row_number = true)) "
        f"to '{lines}' (format parquet)"
    )
    return lines


def weekly(server: PostgresServer, workdir: Path, rows: int, env: dict) -> tuple[float, float]:
    """A week of 1% new lines, then a week of 1% corrected lines, each pulled and built."""
    share = max(1, rows // 100)
    server.execute(
        f'insert into shop.sales select line_id + {rows}, "InvoiceNo" || \'w\', "StockCode", '
        f'"Description", "Quantity", "InvoiceDate" + interval \'7 days\', "UnitPrice", "CustomerID", '
        f"\"Country\", timestamp '2011-12-17' from shop.sales where line_id <= {share}"
    )
    inserts = build(workdir, TABLE_VARS, env)
    server.execute(
        f'update shop.sales set "Quantity" = "Quantity" + 1, updated_at = timestamp \'2011-12-24\' '
        f"where line_id % 100 = 7 and line_id <= {rows}"
    )
    return inserts, build(workdir, TABLE_VARS, env)


def report(rows: int, load_s: float, file_s: list[float], table_s: list[float], inserts_s: float,
           corrections_s: float) -> str:  # fmt: skip
    file_med, table_med = statistics.median(file_s), statistics.median(table_s)
    share = max(1, rows // 100)
    cases = [
        (f"cold build, {rows:,} lines from Parquet", file_med),
        ("cold build, the same rows pulled from PostgreSQL", table_med),
        (f"weekly: {share:,} new lines (1%), pulled and built", inserts_s),
        (f"weekly: {share:,} corrected lines (1%), pulled and rebuilt", corrections_s),
    ]
    table = ["| case | seconds | vs the Parquet build |", "|---|---|---|"]
    table += [f"| {case} | {seconds:.1f} | {seconds / file_med:.2f} |" for case, seconds in cases]
    return "\n".join([
        f"PostgreSQL load of the table (ADBC bulk copy, not part of the build): {load_s:.1f} s", "",
        f"Runs (interleaved): Parquet {[round(s, 1) for s in file_s]}, PostgreSQL {[round(s, 1) for s in table_s]}",
        "", *table,
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="custseg-bench-db-"))
    lines = lines_file(folder, args.rows)
    server = PostgresServer().start()
    try:
        started = time.perf_counter()
        server.load("sales", pq.read_table(lines))
        server.execute("alter table shop.sales add primary key (line_id)")
        load_s = time.perf_counter() - started
        env = {"CUSTSEG_SOURCE_URL": server.url()}
        file_s, table_s = [], []
        for i in range(args.repeat):  # interleaved: the machine's load hits both alike
            file_s.append(build(folder / f"file{i}", {"transactions_path": str(lines)}))
            table_s.append(build(folder / f"table{i}", TABLE_VARS, env))
        inserts_s, corrections_s = weekly(server, folder / f"table{args.repeat - 1}", args.rows, env)
    finally:
        server.stop()
    text = report(args.rows, load_s, file_s, table_s, inserts_s, corrections_s)
    print(text)
    out = REPO / "benchmarks" / "results" / f"database_{time.strftime('%Y%m%d_%H%M%S')}.md"
    out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
