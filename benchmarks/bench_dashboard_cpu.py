"""Benchmark: the CPU one run of every dashboard page takes, for one or more checkouts, paired.

Each round renders every page once with Streamlit's AppTest (the app's whole script: its
queries on the serving copy, tables and Plotly figures), in a fresh process per checkout, the
checkouts interleaved round by round; BLAS/OpenMP threads pinned to 1. It reports each
checkout's CPU (user + system, of the script runs alone) per round. The checkouts are folders
holding ``src/`` and ``dashboard/`` (``git worktree add /tmp/before <ref>`` makes one).

    .venv/bin/python benchmarks/bench_dashboard_cpu.py --serving warehouse/custseg.duckdb \
        --rounds 3 /tmp/before .
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# run in a child with the checkout's src/ first on sys.path: the CPU of one run of each page
ONE_ROUND = """
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/src")
import custseg
assert custseg.__file__.startswith(sys.argv[1]), custseg.__file__
from streamlit.testing.v1 import AppTest
from custseg.dashboard import PAGES
cpu = {}
for title, _ in PAGES:
    app = AppTest.from_file(sys.argv[1] + "/dashboard/app.py", default_timeout=120)
    app.query_params["page"] = title
    started = time.process_time()
    app.run()
    cpu[title] = time.process_time() - started
    assert not app.exception, (title, app.exception[0].message)
print(json.dumps(cpu))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serving", type=Path, required=True, help="the published warehouse file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("checkouts", nargs="+", type=Path)
    args = parser.parse_args()
    env = dict(os.environ, CUSTSEG_SERVING_PATH=str(args.serving.resolve()), CUSTSEG_PROJECT_DIR=str(REPO))
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for round_number in range(1, args.rounds + 1):
        for checkout in args.checkouts:
            root = str(checkout.resolve())
            done = subprocess.run(
                [sys.executable, "-c", ONE_ROUND, root], env=env, capture_output=True, text=True, check=True
            )
            cpu = json.loads(done.stdout.splitlines()[-1])
            pages = ", ".join(f"{title} {seconds:.2f}" for title, seconds in cpu.items())
            print(
                f"round {round_number} {root}: every page {sum(cpu.values()):.2f} s CPU ({pages})", flush=True
            )


if __name__ == "__main__":
    main()
