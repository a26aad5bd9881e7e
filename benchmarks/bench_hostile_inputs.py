"""Benchmark: seconds to the message for the hostile inputs of issue 38 that do not go through
``dbt build`` (those that do are in bench_input_errors.py): the dashboard's upload of a wide
table, ``custseg upgrade-registry`` on a crafted registry and on a file that is not DuckDB,
``custseg probe`` on a UTF-16 file, a publish over a directory entry or a stamp it did not write,
and ``custseg score`` stopped by SIGTERM (seconds from the signal to the exit, copy removed).

Each case runs as a whole process (the CLI, or a Python child for the page's and the publish's
functions), ``--repeat`` times, with BLAS/OpenMP threads pinned to 1; the median is reported.
Results go to stdout and to ``benchmarks/results/hostile_inputs_<timestamp>.{md,csv}``.

    .venv/bin/python benchmarks/bench_hostile_inputs.py [--db warehouse/custseg.duckdb]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_build import write_report

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("custseg"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

WIDE_UPLOAD = """
import sys, numpy as np
from custseg.dashboard import upload
width = int(sys.argv[1])
values = np.random.default_rng(0).integers(0, 9, (60, width))
lines = ["ID," + ",".join(f"c{i}" for i in range(width))] + [f"{r}," + ",".join(map(str, row)) for r, row in enumerate(values)]
try:
    upload.upload_columns("wide.csv", ("\\n".join(lines) + "\\n").encode())
except upload.UploadError as exc:
    print(exc)
"""

CRAFTED_REGISTRY = """
import sys, duckdb, pyarrow as pa
def ipc(table, compression=None):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()
inner = ipc(pa.table({"x": pa.repeat(0, 100_000_000)}), "zstd")
blob = ipc(pa.table({"name": ["t"], "payload": pa.array([inner], pa.binary())}))
con = duckdb.connect(sys.argv[1])
con.execute("create schema segmentation")
con.execute("create table segmentation.ml_model_registry (model_id varchar, reports blob)")
con.execute("insert into segmentation.ml_model_registry values ('m1', ?)", [blob])
print(len(blob))
"""

PUBLISH_OVER = """
import os, sys, tempfile
from custseg.publish import PublishError, publish_file
folder = tempfile.mkdtemp()
working, serving, entry = os.path.join(folder, "w.duckdb"), os.path.join(folder, "s", "wh.duckdb"), sys.argv[1]
open(working, "wb").write(b"x" * 1_000_000)
publish_file(working, serving)
path = serving + entry
os.remove(path) if os.path.lexists(path) else None
os.mkdir(path) if entry != ".published" else open(path, "w").write("{not json")
try:
    publish_file(working, serving)
except PublishError as exc:
    print(exc)
"""


def timed(cmd: list[str], **kwargs) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, **kwargs)
    lines = (done.stdout + done.stderr).strip().splitlines()
    said = [line.strip() for line in lines if "error" in line.lower()]  # probe prints JSON
    return time.perf_counter() - started, said[-1:] or lines[-1:]


def cases(tmp: Path, db: Path | None) -> list[tuple[str, callable]]:
    registry = tmp / "crafted.duckdb"
    subprocess.run([sys.executable, "-c", CRAFTED_REGISTRY, str(registry)], check=True, env=ENV)
    not_duckdb = tmp / "notes.duckdb"
    not_duckdb.write_text("not a database\n" * 100)
    utf16 = tmp / "utf16.csv"
    utf16.write_bytes(
        "\ufeffCustomerID,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,2.5\n".encode("utf-16-le")
    )
    found = [
        ("upload page: 2,500 columns", lambda: timed([sys.executable, "-c", WIDE_UPLOAD, "2500"])),
        ("upload page: 10,000 columns", lambda: timed([sys.executable, "-c", WIDE_UPLOAD, "10000"])),
        ("upgrade-registry: zstd registry (24 KB -> 100 M values)",
         lambda: timed([CLI, "upgrade-registry", "--db", str(registry)])),
        ("upgrade-registry: not a DuckDB file", lambda: timed([CLI, "upgrade-registry", "--db", str(not_duckdb)])),
        ("custseg probe: UTF-16 CSV", lambda: timed([CLI, "probe", str(utf16)])),
    ]  # fmt: skip
    for entry in (".spare", ".published"):
        found.append((
            f"publish: {'a directory at' if entry == '.spare' else 'a bad stamp at'} {entry}",
            lambda entry=entry: timed([sys.executable, "-c", PUBLISH_OVER, entry]),
        ))  # fmt: skip
    if db is not None and db.exists():
        found.append(("custseg score stopped by SIGTERM (signal -> exit)", lambda: _sigterm_score(tmp, db)))
    return found


def _sigterm_score(tmp: Path, db: Path) -> tuple[float, list[str]]:
    """``custseg score`` of the warehouse's own input file, SIGTERM once dbt runs in its copy."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        source = con.execute("select min(source_file) from marts.fct_transactions").fetchone()[0]
    scratch = Path(tempfile.mkdtemp(dir=tmp))
    proc = subprocess.Popen([CLI, "score", source, "--db", str(db), "-o", str(tmp / "out.csv")],
                            env={**ENV, "TMPDIR": str(scratch)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    while not list(scratch.glob("custseg-score-*/target")):
        time.sleep(0.05)
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    left = list(scratch.iterdir())
    return time.perf_counter() - started, [
        f"exit {proc.returncode}, {len(left)} file(s) left in the temp folder"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=REPO / "warehouse" / "custseg.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp_name:
        tmp = Path(tmp_name)
        for name, run in cases(tmp, args.db.resolve()):
            seconds, message = [], []
            for _ in range(args.repeat):
                took, message = run()
                seconds.append(took)
            rows.append({
                "case": name,
                "seconds to the message (median)": f"{statistics.median(seconds):.2f}",
                "message starts": (message[0] if message else "(no message!)")[:90],
            })  # fmt: skip
            print(rows[-1], flush=True)
    write_report(rows, "hostile_inputs")


if __name__ == "__main__":
    main()
