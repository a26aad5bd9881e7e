"""The suite's pytest fixtures and hooks (what the tests share as plain code is in helpers.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One BLAS/OpenMP thread per process (unless set): the workers already use both cores, and an
# idle OpenMP thread spins on a core the other worker needs (docs/development.md). Set before
# numpy and scikit-learn load (they read it once); xdist's workers and every dbt process inherit it.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import duckdb  # noqa: E402
import pytest  # noqa: E402

from custseg.demo_data import write_transactions  # noqa: E402
from helpers import (  # noqa: E402
    READER,
    SHARED_DEMO,
    VARS,
    BuildResult,
    DbtRun,
    SharedBuild,
    copy_build,
    fixture_table,
    late_batch,
    make_registry_legacy,
    run_build_script,
    run_dbt,
    sales_to_november,
    serving_path,
    shared_data_dir,
)

# The files with the longest chains (a JVM and two Spark builds, ~5 minutes; the PostgreSQL
# server and its builds; the real files) start first: the workers take one file at a time
# (scripts/test.sh: --dist loadfile, in this order with --no-loadscope-reorder), and a long file
# taken last runs alone at the end while the other core idles. The unit tests, many short
# files, come last and fill the gaps; the rest keep their order.
LONGEST_FIRST = ("tests/e2e/test_spark.py", "tests/e2e/test_database.py", "tests/e2e/test_real_data.py")


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item) -> int:
        file = item.nodeid.split("::")[0]
        return rank.get(file, len(LONGEST_FIRST) + file.startswith("tests/unit/"))

    items.sort(key=order)  # stable: within a rank, the collection's order


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


# The warehouses several test files read are built once per session, by whichever xdist worker
# asks first (the others wait on a lock and read what it recorded). Tests only read them; a test
# that writes works on a copy.
def _session_root(tmp_path_factory) -> Path:
    """The temp folder every xdist worker of this session sees (each worker's basetemp is a
    child of it); the basetemp itself without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _shared(tmp_path_factory, name: str, build: Callable[[Path], tuple[DbtRun, dict]]) -> SharedBuild:
    """The build ``build(folder)`` makes, made once per session: it returns the run and what
    else the tests need of it (JSON), kept beside the run's events in folder/build.json."""
    import fcntl

    root = _session_root(tmp_path_factory)
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait here for the one that builds
        done = folder / "build.json"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            run, extra = build(folder)
            record = {"events": dataclasses.asdict(run.events), "db_path": str(run.db_path), **extra}
            done.write_text(json.dumps(record))
        record = json.loads(done.read_text())
    events = BuildResult(**record.pop("events"))
    db_path = Path(record.pop("db_path"))
    shared = SharedBuild(events.returncode, events.log, db_path, events, **record)
    assert shared.returncode == 0, shared.output[-4000:]
    return shared


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> SharedBuild:
    """The demo warehouse most end-to-end tests read, built by the README's own command
    (scripts/build.sh: set-up, then dbt build) with the fixture unit tests (--selector
    with_unit_tests). Its file is batches/week_01.parquet: second_batch adds week_02 beside it."""

    def build(folder: Path):
        source = folder / "batches" / "week_01.parquet"
        source.parent.mkdir()
        write_transactions(source, SHARED_DEMO)
        run = run_build_script(
            folder / "wh", "--selector", "with_unit_tests", vars={"transactions_path": str(source)}
        )
        return run, {"source": str(source)}

    return _shared(tmp_path_factory, "shared-demo", build)


@pytest.fixture(scope="session")
def second_batch(demo_warehouse, tmp_path_factory) -> SharedBuild:
    """The demo warehouse (a copy, with its publication) plus a second, late batch
    (helpers.late_batch: other customers, and lines of the first batch's customers that test the
    merge into their stored aggregates), built while two reader processes keep reading the
    publication, one held open and one as the dashboard opens it (helpers.READER: their logs are
    ``reader_logs``, the build's span ``build_started`` to ``build_finished``)."""

    def build(folder: Path):
        workdir = folder / "wh"
        db = copy_build(demo_warehouse, workdir, publication=True)
        served = serving_path(db)
        # the warehouse as a release before wrote it: its segment_names seed had other columns
        # (prototype positions, no rules), which the build reloads whole (seeds +full_refresh),
        # and its registry stored reports as Arrow IPC, which `custseg upgrade-registry` converts
        # as the upgrade notes say (test_dbt_build's registry test)
        with duckdb.connect(str(db)) as con:
            con.execute("alter table seeds.segment_names drop column rule_order")
            con.execute("alter table seeds.segment_names add column recency_score double")
            make_registry_legacy(con)
        cli = str(Path(sys.executable).with_name("custseg"))
        upgrade = subprocess.run([cli, "upgrade-registry", "--db", str(db)], capture_output=True, text=True)
        assert upgrade.returncode == 0, upgrade.stderr
        late = late_batch(demo_warehouse.source.parent / "week_02.parquet", demo_warehouse.source)
        stop = folder / "reader.stop"
        logs = {mode: folder / f"reader_{mode}.log" for mode in ("held", "dashboard")}
        readers = [
            subprocess.Popen([sys.executable, "-c", READER, str(served), mode, str(log), str(stop)])
            for mode, log in logs.items()
        ]
        try:
            deadline = time.time() + 60
            while (
                not all(log.exists() and log.read_text() for log in logs.values()) and time.time() < deadline
            ):
                time.sleep(0.1)
            started = time.time()
            # its file log is read: the working tables it dropped (test_batches)
            run = run_dbt(workdir, "build", vars={"transactions_path": str(late)}, file_log=True)
            finished = time.time()
        finally:
            stop.write_text("stop")
            for reader in readers:
                reader.wait(timeout=120)
        extra = {"source": str(late), "reader_logs": {mode: str(log) for mode, log in logs.items()},
                 "build_started": started, "build_finished": finished,
                 "upgraded_rows": json.loads(upgrade.stdout)["upgraded_rows"]}  # fmt: skip
        return run, extra

    return _shared(tmp_path_factory, "second-batch", build)


@pytest.fixture(scope="session")
def customer_table_warehouse(tmp_path_factory) -> SharedBuild:
    """A customer table with every problem a real one has (helpers.fixture_table), built with
    helpers.VARS: a clip outlier rule, engineered features, one-hot levels, PCA."""

    def build(folder: Path):
        source = folder / "members.csv"
        fixture_table().to_csv(source, index=False)
        run = run_dbt(folder / "wh", "build", vars={"customers_path": str(source), **VARS})
        return run, {"source": str(source)}

    return _shared(tmp_path_factory, "customer-table", build)


@pytest.fixture(scope="session")
def online_retail(shared_data, tmp_path_factory) -> SharedBuild:
    """Online Retail, the whole file, built as is (test_real_data; the database sources'
    builds of the same rows are compared with it, test_database)."""

    def build(folder: Path):
        source = shared_data / "online_retail.parquet"
        return run_dbt(folder / "wh", "build", vars={"transactions_path": str(source)}), {
            "source": str(source)
        }

    return _shared(tmp_path_factory, "online-retail", build)


@pytest.fixture(scope="session")
def online_retail_to_november(shared_data, tmp_path_factory) -> SharedBuild:
    """A file build of the rows the database tests load first (helpers.sales_to_november: Online
    Retail's lines to 30 November, 100 of them with a wrong quantity that December corrects).
    The reference the database build's tables are compared with: its data tests are the
    database build's (test_database), not run here again."""

    def build(folder: Path):
        source = folder / "sales_to_november.parquet"
        sales_to_november(shared_data).to_parquet(source)
        models_only = ("--exclude", "resource_type:test", "resource_type:unit_test")
        return run_dbt(folder / "wh", "build", *models_only, vars={"transactions_path": str(source)}), {
            "source": str(source)
        }

    return _shared(tmp_path_factory, "online-retail-to-november", build)


@pytest.fixture
def dbt_runner(tmp_path):
    def _run(*args: str, vars: dict | None = None, db_name: str = "wh.duckdb") -> DbtRun:
        return run_dbt(tmp_path, *args, vars=vars, db_name=db_name)

    return _run
