"""Benchmark: how long each dashboard page takes to render (issue 15: <= 2 s on Online Retail).

Renders every page of dashboard/app.py on a published warehouse two ways, ``--repeat`` times per
page after one warm-up run, and reports the median and the worst:

* ``script``: Streamlit's AppTest runs the app's whole script (the queries on the serving copy,
  the tables and the Plotly figures), without a browser;
* ``browser``: the Streamlit server on localhost and Debian's headless Chromium (Playwright): from
  opening the page's URL until its title is shown and the script run is over (charts drawn). BLAS/OpenMP threads are pinned to 1. Results go to stdout and to
``benchmarks/results/dashboard_<timestamp>.{md,csv}``.

    # a warehouse built from Online Retail (scripts/build.sh --vars '{transactions_path: ...}')
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dashboard.py --serving warehouse/custseg.duckdb
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench_build import write_report

REPO = Path(__file__).resolve().parents[1]


def timing(how: str, page: str, customers: int, times: list[float]) -> dict:
    row = {
        "how": how,
        "page": page,
        "customers": customers,
        "median_s": round(statistics.median(times), 3),
        "worst_s": round(max(times), 3),
        "runs": len(times),
    }
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serving", type=Path, required=True, help="the published warehouse file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ["CUSTSEG_SERVING_PATH"] = str(args.serving.resolve())
    from streamlit.testing.v1 import AppTest

    from custseg.dashboard import PAGES, queries

    customers = queries.overview(args.serving)["customers"]
    rows = []
    for page, stem in PAGES:
        times = []
        for i in range(args.repeat + 1):
            at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
            at.run()
            at.switch_page(f"views/{stem}.py")
            start = time.perf_counter()
            at.run()
            elapsed = time.perf_counter() - start
            if at.exception:
                raise SystemExit(f"{page}: {at.exception[0].value}")
            if i:  # the first run warms imports and caches
                times.append(elapsed)
        rows.append(timing("script", page, customers, times))
    rows += browser_times(args.serving, customers, args.repeat)
    write_report(rows, "dashboard")


def browser_times(serving: Path, customers: int, repeat: int) -> list[dict]:
    import shutil
    import socket
    import subprocess
    import sys
    import urllib.request

    from playwright.sync_api import sync_playwright

    from custseg.dashboard import PAGES

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    streamlit = str(Path(sys.executable).with_name("streamlit"))
    server = subprocess.Popen(
        [streamlit, "run", str(REPO / "dashboard" / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, stem in PAGES:
                times = []
                for i in range(repeat + 1):
                    start = time.perf_counter()
                    page.goto(f"{url}/{stem}")
                    page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)
                    page.wait_for_function(
                        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
                    )
                    if i:
                        times.append(time.perf_counter() - start)
                rows.append(timing("browser", name, customers, times))
            browser.close()
        return rows
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
