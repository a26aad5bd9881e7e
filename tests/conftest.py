"""The suite's pytest fixtures and hooks (what the tests share as plain code is in helpers.py)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from custseg.demo_data import write_transactions
from helpers import SHARED_DEMO, BuildResult, DbtRun, SharedBuild, run_build_script, run_dbt, shared_data_dir


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    path = Path(os.environ["CUSTSEG_DBT_RUNS"])
    runs = path.read_text().splitlines() if path.exists() else []
    by_file: dict[str, int] = {}
    for run in runs:
        file = run.split("::")[0].split("\t")[0]
        by_file[file] = by_file.get(file, 0) + 1
    listed = ", ".join(f"{Path(f).name} {n}" for f, n in sorted(by_file.items(), key=lambda kv: -kv[1]))
    terminalreporter.write_line(f"dbt invocations: {len(runs)}" + (f" ({listed})" if listed else ""))
    path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip(
            "public datasets not found: set CUSTSEG_SHARED_DATA or place them in ../shared/data "
            "(online_retail.parquet, online_retail_II_year_2009_2010.parquet)"
        )
    return path


# The demo warehouse most end-to-end tests read (test_dbt_build, test_serving, test_dashboard,
# test_dashboard_browser): built once per session, by whichever xdist worker asks first, with
# the fixture unit tests (--selector with_unit_tests). Tests only read it; a test that writes
# works on a copy.
def _session_root(tmp_path_factory) -> Path:
    """The temp folder every xdist worker of this session sees (each worker's basetemp is a
    child of it); the basetemp itself without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> SharedBuild:
    """Built by the README's own command (scripts/build.sh: set-up, then dbt build)."""
    import fcntl

    root = _session_root(tmp_path_factory)
    folder = root / "shared-demo"
    with open(root / "shared-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait here for the one that builds
        done = folder / "build.json"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            source = folder / "transactions.parquet"
            write_transactions(source, SHARED_DEMO)
            run = run_build_script(
                folder / "wh", "--selector", "with_unit_tests", vars={"transactions_path": str(source)}
            )
            done.write_text(json.dumps(dataclasses.asdict(run.events)))
        events = BuildResult(**json.loads(done.read_text()))
    build = SharedBuild(
        events.returncode,
        events.log,
        folder / "wh" / "wh.duckdb",
        events,
        source=folder / "transactions.parquet",
    )
    assert build.returncode == 0, build.output[-4000:]
    return build


@pytest.fixture
def dbt_runner(tmp_path):
    def _run(*args: str, vars: dict | None = None, db_name: str = "wh.duckdb") -> DbtRun:
        return run_dbt(tmp_path, *args, vars=vars, db_name=db_name)

    return _run
