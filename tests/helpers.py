"""What the tests share, importable from any test file (``from helpers import ...``): running dbt
in a subprocess against a throw-away database and reading its results, the suite's count of
dbt invocations, the public datasets, and the small fixtures several files use. The pytest
fixtures themselves are in conftest.py."""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from custseg.demo_data import GeneratorConfig
from custseg.workspace import BuildResult, Events, dbt_executable, workspace_env

REPO = Path(__file__).resolve().parents[1]
DBT = dbt_executable()

# Models are signed with a key kept outside the database (custseg.segmentation.registry). Tests
# use their own key, never the user's: set before any test runs, inherited by every dbt and
# custseg subprocess.
# One key per test run, shared by its xdist workers: a warehouse one worker built and another
# builds from another source (test_database_sqlite: the same lines from a table) carries the
# same signatures.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
_KEY_DIR = Path(tempfile.gettempdir()) / f"custseg-key-{_RUN}"
_KEY_DIR.mkdir(mode=0o700, exist_ok=True)
os.environ["CUSTSEG_MODEL_KEY_PATH"] = str(_KEY_DIR / "model-signing.key")


# Every dbt invocation of the suite appends a line to one file (conftest._run_in here,
# custseg.workspace.run_build in the CLI and dashboard processes the tests start), and the
# summary prints the count. Set before xdist starts its workers, so they inherit the same file.
os.environ.setdefault(
    "CUSTSEG_DBT_RUNS", str(Path(tempfile.gettempdir()) / f"custseg-dbt-runs-{uuid.uuid4().hex}")
)


def count_dbt_run(what: str) -> None:
    """One line per dbt invocation: the test that made it, and the command."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "(no test)").split(" ")[0]
    with open(os.environ["CUSTSEG_DBT_RUNS"], "a") as runs:
        runs.write(f"{test}\t{what}\n")


def shared_data_dir() -> Path | None:
    """The public datasets: $CUSTSEG_SHARED_DATA, else ../shared/data beside the repo."""
    candidate = Path(os.environ.get("CUSTSEG_SHARED_DATA", REPO.parent / "shared" / "data"))
    return candidate if (candidate / "online_retail.parquet").exists() else None


def serving_path(db_path: Path) -> Path:
    """Where a test build publishes: same file name (so the same catalog name), another folder."""
    return db_path.parent / "serving" / db_path.name


@dataclass
class DbtRun:
    """A dbt run, read from its structured events (custseg.workspace.BuildResult): ``output`` is
    the events' messages as text (the project's own messages are asserted on there), ``events``
    the nodes started, their outcomes and the first problem."""

    returncode: int
    output: str
    db_path: Path
    events: BuildResult | None = None

    @property
    def failed(self) -> list[str]:
        return self.events.failed

    @property
    def started(self) -> list[str]:
        return self.events.started

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.db_path), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]

    @property
    def serving_path(self) -> Path:
        return serving_path(self.db_path)


TIMEOUT = 1800  # seconds a dbt command may take before the test fails


def _command(
    workdir: Path, cmd: list[str], vars: dict | None, db_name: str, env: dict | None, file_log: bool
) -> tuple[list[str], dict]:
    """``cmd`` (dbt, or a script that runs it) and its environment: the build's database, target
    and log folders in ``workdir``; ``env``: more environment variables (a database source's URL:
    a build reads or syncs a database only when its test says so). dbt's debug file log
    (``logs/dbt.log``: every event, every statement) is written only for a test that reads it
    (``file_log``): it is about 1 s of a demo build's 17 (docs/benchmarks.md). Counted."""
    workdir.mkdir(parents=True, exist_ok=True)
    # target spark: its metastore and tables (profiles.yml)
    extra = {"CUSTSEG_SPARK_WAREHOUSE": workdir / "spark", "SPARK_LOCAL_IP": "127.0.0.1", **(env or {})}
    env = workspace_env(workdir, db_name, file_log=file_log, **extra)
    for name in ("CUSTSEG_SOURCE_URL", "CUSTSEG_SYNC_URL"):
        if name not in extra:
            env.pop(name, None)
    assert env["CUSTSEG_SERVING_PATH"] == str(serving_path(workdir / db_name))
    if vars:
        cmd = [*cmd, "--vars", json.dumps(vars)]
    if "--log-format" not in cmd:
        cmd = [*cmd, "--log-format", "json"]
    count_dbt_run(" ".join(cmd[:3]))
    return cmd, env


def _outcome(returncode: int, output: str, db_path: Path) -> DbtRun:
    events = Events()
    for line in output.splitlines():
        events.feed(line)
    result = events.finish(returncode)
    return DbtRun(returncode, result.log, db_path, result)


def _run_in(
    workdir: Path,
    cmd: list[str],
    vars: dict | None,
    db_name: str,
    env: dict | None = None,
    file_log: bool = False,
) -> DbtRun:
    """Run ``cmd`` from the repo with the build's files in ``workdir`` (_command)."""
    cmd, env = _command(workdir, cmd, vars, db_name, env, file_log)
    if cmd[0] == DBT:
        [(returncode, output)] = _WARM_DBT.run([(cmd, env)])
    else:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        returncode, output = proc.returncode, proc.stdout + proc.stderr
    return _outcome(returncode, output, workdir / db_name)


class _WarmDbt:
    """The test process's dbt command runner (tests/dbt_zygote.py): each command is a forked
    child of a process that has done dbt's imports once, so a command costs its parse and its
    nodes, not about 2 s of imports again. Started on the first command (with a temp folder for
    its log and the commands' output), stopped at exit."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.folder = Path()

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.folder = Path(tempfile.mkdtemp(prefix="custseg-warm-dbt-"))
            log = open(self.folder / "zygote.log", "a")  # noqa: SIM115 (the process keeps it)
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "tests" / "dbt_zygote.py"), str(Path(DBT).parent)],
                cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                start_new_session=True,
            )  # fmt: skip
            atexit.register(self.stop)
        return self.proc

    def run(
        self, commands: list[tuple[list[str], dict]], stay: bool = False, kill_on: str = ""
    ) -> list[tuple[int, str]]:
        """Each ``(cmd, env)`` run from the repo, in turn, in one process: its return code and
        its stdout then stderr. ``stay``: the process stays for the next request (the zygote's
        protocol), which the next call sends. ``kill_on``: the process is killed (-9) as soon as
        its stdout holds that text."""
        proc = self._start()
        files = [(self.folder / f"stdout.{i}", self.folder / f"stderr.{i}") for i in range(len(commands))]
        codes, pid_file = self.folder / "returncodes.json", self.folder / "pid"
        for path in (codes, pid_file, *(path for pair in files for path in pair)):
            path.unlink(missing_ok=True)  # a command that never ran has no output
        request = {
            "commands": [
                {"argv": cmd, "cwd": str(REPO), "env": env, "stdout": str(out), "stderr": str(err)}
                for (cmd, env), (out, err) in zip(commands, files, strict=True)
            ],
            "returncodes": str(codes),
            "stay": stay,
            **({"pid_file": str(pid_file)} if kill_on else {}),  # the zygote writes it for a kill
        }
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + TIMEOUT * len(commands)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise subprocess.TimeoutExpired(commands[0][0], TIMEOUT)
            if select.select([proc.stdout], [], [], min(left, 0.05) if kill_on else left)[0]:
                break
            out = files[-1][0]
            if kill_on and out.exists() and kill_on in out.read_text(errors="replace"):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
                kill_on = ""
        reply = proc.stdout.readline()
        if not reply:
            raise RuntimeError(
                f"the warm dbt process ended: {(self.folder / 'zygote.log').read_text()[-3000:]}"
            )
        status = json.loads(reply)["returncode"]
        # the commands that ended, then (a child killed or crashed mid-way) its exit status
        ended = json.loads(codes.read_text()) if codes.exists() else []
        returncodes = [*ended[: len(commands) - 1], status]
        returncodes += [status] * (len(commands) - len(returncodes))
        return [
            (code, out.read_text(errors="replace") + err.read_text(errors="replace") if out.exists() else "")
            for code, (out, err) in zip(returncodes, files, strict=True)
        ]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_WARM_DBT = _WarmDbt()


def run_dbt(
    workdir: Path,
    *args: str,
    vars: dict | None = None,
    db_name: str = "wh.duckdb",
    env: dict | None = None,
    file_log: bool = False,
) -> DbtRun:
    """``dbt <args>`` with its own database, target and log folders (``file_log``: _run_in)."""
    return _run_in(workdir, [DBT, *args], vars, db_name, env, file_log)


def run_dbt_killed(workdir: Path, marker: str, *args: str, vars: dict | None = None) -> DbtRun:
    """``dbt <args>`` (run_dbt), killed (-9) as soon as its output says ``marker``."""
    cmd, env = _command(workdir, [DBT, *args], vars, "wh.duckdb", None, False)
    [(returncode, output)] = _WARM_DBT.run([(cmd, env)], kill_on=marker)
    return _outcome(returncode, output, workdir / "wh.duckdb")


def run_dbt_in_turn(*commands: tuple[Path, tuple[str, ...], dict | None], stay: bool = False) -> list[DbtRun]:
    """``dbt <args>`` for each ``(workdir, args, vars)``, one after the other in one process (as
    dbtRunner runs them, tests/dbt_zygote.py): what dbt keeps per process is shared. On target
    spark that is the SparkSession, started once: its metastore and tables are the first
    command's (its CUSTSEG_SPARK_WAREHOUSE), where a later command's tables go too. ``stay``:
    the process waits for the next call's commands (the test may copy what these wrote first);
    the next call without it ends it, as must happen before any other dbt command."""
    prepared = [
        _command(workdir, [DBT, *args], vars, "wh.duckdb", None, False) for workdir, args, vars in commands
    ]
    answers = _WARM_DBT.run(prepared, stay)
    return [
        _outcome(code, output, workdir / "wh.duckdb")
        for (code, output), (workdir, _, _) in zip(answers, commands, strict=True)
    ]


def run_build_script(workdir: Path, *args: str, vars: dict | None = None) -> DbtRun:
    """The README's main command, ``bash scripts/build.sh [dbt build arguments]``, with the
    build's files in ``workdir`` (its database, serving copy, target and logs)."""
    return run_script(workdir, "scripts/build.sh", *args, vars=vars)


def run_script(workdir: Path, script: str, *args: str, vars: dict | None = None) -> DbtRun:
    """``bash <script> [arguments]`` (a script that ends in dbt build), with the build's files in
    ``workdir``."""
    return _run_in(workdir, ["bash", script, *args], vars, "wh.duckdb")


def copy_build(build: DbtRun, workdir: Path, publication: bool = False) -> Path:
    """A copy of a built warehouse as workdir/<its file name> (where run_dbt(workdir) finds it),
    for a test that writes; with ``publication``, its published copy too (serving_path). Returns
    the copy's path."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / build.db_path.name
    shutil.copyfile(build.db_path, db)
    if publication:
        served = serving_path(db)
        served.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build.serving_path, served)
    return db


def mart_differences(db_a: Path, db_b: Path, also_skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Rows that differ, per mart (table or view), between two built warehouses, to the last
    bit (scripts/compare_warehouses.py). The registries' training times and the ledger's load
    timestamps are the columns allowed to differ; fct_skipped_files records the builds (which
    files each was given and left out), not the data. Also fails when the marts that must be
    compared are missing. ``also_skip``: more columns allowed to differ (the input files' names
    and fingerprints, when the same lines come from another file)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from compare_warehouses import differences

    con = duckdb.connect(str(db_a), read_only=True)
    marts = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    con.close()
    assert {
        "dim_customers",
        "dim_customer_segments",
        "fct_segment_profiles",
        "fct_sql_centroid_scores",
    } <= marts
    return differences(
        db_a,
        db_b,
        skip_columns=("trained_at", "loaded_at", "fitted_at", "fit_seconds", *also_skip),
        skip_marts=("fct_skipped_files",),
    )


# The demo warehouse most end-to-end tests read (test_dbt_build, test_serving, test_dashboard,
# test_dashboard_browser): built once per session, by whichever xdist worker asks first, with
# the fixture unit tests (--selector with_unit_tests). Tests only read it; a test that writes
# works on a copy.
SHARED_DEMO = GeneratorConfig(rows=40_000, customers=600, seed=11)


@dataclass
class SharedBuild(DbtRun):
    """A warehouse built once per session (conftest._shared), with what its tests need of it."""

    source: Path = Path()
    reader_logs: dict | None = None  # second_batch: what the readers saw during the build
    upgraded_rows: int = 0  # second_batch: the registry rows `custseg upgrade-registry` converted
    build_started: float = 0.0
    build_finished: float = 0.0

    def __post_init__(self) -> None:
        self.source = Path(self.source)
        self.reader_logs = {mode: Path(log) for mode, log in (self.reader_logs or {}).items()}


# A reader of a publication during a build (conftest.second_batch), one process per way of
# reading: "held", one connection opened at the start (it keeps reading the file it opened), or
# "dashboard", the dashboard's queries of the overview in a page's run, which opens the
# publication afresh for each run (one process cannot hold both: DuckDB opens a file once per
# process, with one configuration). One line per read: "ok customers time" or "error what time".
READER = """
import os, sys, time, duckdb
from pathlib import Path
from custseg.dashboard import queries, store
path, mode, log, stop = sys.argv[1:5]
con = duckdb.connect(path, read_only=True) if mode == "held" else None
with open(log, "w") as out:
    while True:
        try:
            if con is not None:
                n = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
            else:
                with store.page_run():  # as the app runs a page
                    n = queries.overview(Path(path))["customers"]
            out.write(f"ok {n} {time.time()}\\n")
        except Exception as exc:
            out.write(f"error {exc!r} {time.time()}\\n")
        out.flush()
        if os.path.exists(stop):
            break
        time.sleep(0.1)
"""


def _legacy_reports(text: str) -> bytes:
    """A row's reports as the release before stored them: Arrow IPC of (name, IPC of the table)."""
    import pyarrow as pa

    from custseg.segmentation.reports import decode_reports

    def ipc(table: pa.Table) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()

    tables = decode_reports(text)
    payloads = [ipc(pa.Table.from_pandas(frame, preserve_index=False)) for frame in tables.values()]
    return ipc(pa.table({"name": pa.array(list(tables)), "payload": pa.array(payloads, pa.binary())}))


def make_registry_legacy(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Put a warehouse's model registry back as the release before stored it (reports as Arrow
    IPC bytes, which `custseg upgrade-registry` converts); returns each model's reports as they were."""
    original = dict(con.execute("select model_id, reports from segmentation.ml_model_registry").fetchall())
    con.execute("create temp table legacy (model_id varchar, reports blob)")
    con.executemany(
        "insert into legacy values (?, ?)", [(m, _legacy_reports(t)) for m, t in original.items()]
    )
    con.execute(
        "create or replace table segmentation.ml_model_registry as select registry.* replace "
        "(legacy.reports as reports) from segmentation.ml_model_registry as registry join legacy using (model_id)"
    )
    return original


# The late batch (conftest.second_batch): other customers, dated before the demo's first batch,
# plus lines of the first batch's customers (ids from 12346 on), by case, that test the merge of
# a batch into their stored aggregates (late_batch)
CONTINUED, REPEATED, NEW_COUNTRY, ONE_OTHER_COUNTRY, RETURNED = (
    range(12_346 + 10 * i, 12_346 + 10 * i + 5) for i in range(5)
)
LATE = GeneratorConfig(
    rows=12_000, customers=600, seed=2, first_customer_id=60_000, first_invoice=800_000,
    start="2010-03-01", end="2010-11-20",
)  # fmt: skip


def late_batch(path: Path, first: Path) -> Path:
    """Write the LATE batch to ``path`` with, appended, lines of ``first``'s customers dated
    inside ``first``'s range (the snapshot does not move), one kind per group of customers: a
    line that continues one of their orders an hour before it (the order's time moves), new
    orders of products they already bought, enough lines in another country to make it their
    most frequent (200 lines), a single line in another country, and a return of a product they
    bought."""
    from custseg.demo_data import write_transactions

    write_transactions(path, LATE)
    src = f"read_parquet('{first}')"
    # their plain purchase lines (a product code, a quantity and a price), numbered
    some_line = (
        f"(select *, row_number() over (partition by CustomerID order by InvoiceDate, StockCode) as n "
        f"from {src} where regexp_full_match(StockCode, '[0-9]{{5}}[A-Z]?') and Quantity > 0 "
        f"and UnitPrice > 0 and InvoiceNo not like 'C%')"
    )
    cases = " union all ".join(
        [
            f"select InvoiceNo, 'ZZCONT', 'CONTINUED ORDER', 2, InvoiceDate - interval 1 hour, 1.5, CustomerID, Country "
            f"from {some_line} where n = 1 and CustomerID in {tuple(CONTINUED)}",
            f"select cast(880000 + n + 100 * (CustomerID - 12000) as varchar), StockCode, Description, 3, "
            f"InvoiceDate + interval 1 day, UnitPrice, CustomerID, Country "
            f"from {some_line} where n <= 3 and CustomerID in {tuple(REPEATED)}",
            f"select cast(890000 + CustomerID as varchar), 'ZZ' || i, 'FAR AWAY', 1, timestamp '2011-06-01 10:00', 2.0, "
            f"CustomerID, 'Iceland' from {src} as customers, range(200) as lines(i) "
            f"where CustomerID in {tuple(NEW_COUNTRY)} group by all",
            f"select cast(891000 + CustomerID as varchar), 'ZZONE', 'ONE AWAY', 1, timestamp '2011-06-01 10:00', 2.0, "
            f"CustomerID, 'Iceland' from {src} where CustomerID in {tuple(ONE_OTHER_COUNTRY)} group by all",
            f"select 'C' || cast(892000 + n + 100 * (CustomerID - 12000) as varchar), StockCode, Description, -1, "
            f"InvoiceDate + interval 2 day, UnitPrice, CustomerID, Country "
            f"from {some_line} where n = 1 and CustomerID in {tuple(RETURNED)}",
        ]
    )
    merged = path.with_suffix(".merged.parquet")
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{path}') union all ({cases})) to '{merged}' (format parquet)"
        )
    merged.replace(path)
    return path


# names the project's glob expansion returns and a reader would expand again (test_ingest,
# test_hardening)
GLOB_NAMES = [
    "sales1.csv",
    "sales[1].csv",
    "a*b.csv",
    "q?.csv",
    "{x,y}.csv",
    "with space.csv",
    "c,d.csv",
    "]e[.csv",
]

APP = str(REPO / "dashboard" / "app.py")


def render(page: str, navigate: bool = False):
    """A dashboard page through Streamlit's AppTest (no error shown), opened as a link opens it
    (``?page=<title>``: one script run); with ``navigate``, reached by the navigation from the
    default page instead (two runs: the default page, then the switch)."""
    from streamlit.testing.v1 import AppTest

    from custseg.dashboard import PAGES

    at = AppTest.from_file(APP, default_timeout=120)
    if navigate:
        at.run()  # the navigation, on its default page
        at.switch_page(f"views/{dict(PAGES)[page]}.py")
    else:
        at.query_params["page"] = page
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


# a customer table with every problem a real one has (test_customer_table_build, test_dashboard)
N = 240
NULL_IDS = 2
DUPLICATES = 3


def fixture_table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    group = rng.integers(0, 3, N)
    frame = pd.DataFrame(
        {
            "Member ID": [f"m{i:04d}" for i in range(N)],
            "spend": np.round(np.select([group == 0, group == 1], [900, 300], 60) + rng.normal(0, 25, N), 2),
            "visits": np.select([group == 0, group == 1], [12, 6], 2) + rng.integers(0, 3, N),
            "kids": rng.integers(0, 3, N),
            "newsletter": rng.choice(["yes", "no"], N),
            "joined": [
                f"{d:02d}/{m:02d}/2021"
                for d, m in zip(rng.integers(13, 29, N), rng.integers(1, 13, N), strict=True)
            ],
            "city": rng.choice(["Lyon", "Paris", "Nice", None], N, p=[0.4, 0.3, 0.2, 0.1]),
            "notes": [None] * N,
            "country": ["FR"] * N,
            "constant_score": [5] * N,
        }
    ).astype({"spend": object})
    frame.loc[[3, 8, 21, 40, 77], "spend"] = None  # missing
    frame.loc[11, "spend"] = "n/a"  # unreadable
    frame.loc[[5, 6], "spend"] = [25_000.0, 31_000.0]  # outliers
    frame.loc[[13, 14, 15, 16], "visits"] = 0  # spend_per_visit divides by zero
    frame.loc[[50, 51], "Member ID"] = None
    extra = frame.iloc[[100, 101, 102]].copy()  # later copies of three ids
    extra["visits"] = 99
    return pd.concat([frame, extra], ignore_index=True)


VARS = {
    "customer_id_column": "Member ID",
    "engineered_features": {"spend_per_visit": "spend / visits", "family": "kids + 2"},
    "segmentation_features": ["spend", "visits", "spend_per_visit", "newsletter", "city=Lyon"],
    "segmentation_log_features": ["spend"],
    "segmentation_pca_components": 2,
    "segment_value_feature": "spend",
    "k_max": 5,
    "onehot_top_n": 3,
}


def refunds_by_purchase_day(lines: pd.DataFrame, before) -> pd.DataFrame:
    """A plain reference for int_customers__net_purchase_days' matching: per customer and
    product, walk the purchase and refund lines dated before ``before`` in time order (purchases
    before refunds of the same moment), keep the purchases bought so far on a stack, and let each
    refund take money from the top (the latest purchase) down; what no purchase is left for is
    dropped. ``lines``: customer_id, stock_code, invoiced_at, is_refund (bool), amount (>= 0),
    batch_id, source_file, source_row_number. Returns customer_id, purchase_date, refunded_value
    (refunded days only)."""
    lines = lines[pd.to_datetime(lines["invoiced_at"]).dt.date < before].copy()
    lines["product_key"] = lines["stock_code"].fillna("")
    refunded_pairs = lines.loc[
        lines["is_refund"].astype(bool), ["customer_id", "product_key"]
    ].drop_duplicates()
    lines = lines.merge(refunded_pairs, on=["customer_id", "product_key"])
    lines = lines.sort_values(["customer_id", "product_key", "invoiced_at", "is_refund", "batch_id",
                               "source_file", "source_row_number"], kind="stable")  # fmt: skip
    refunded: dict[tuple, float] = {}
    stack: list[list] = []  # the current customer and product's [purchase day, amount left]
    current = None
    days = pd.to_datetime(lines["invoiced_at"]).dt.date
    for customer, product, day, is_refund, amount in zip(
        lines["customer_id"], lines["product_key"], days, lines["is_refund"], lines["amount"], strict=True
    ):
        if (customer, product) != current:
            current, stack = (customer, product), []
        if not is_refund:
            stack.append([day, float(amount)])
            continue
        left = float(amount)
        while left > 0 and stack:
            taken = min(left, stack[-1][1])
            refunded[(customer, stack[-1][0])] = refunded.get((customer, stack[-1][0]), 0.0) + taken
            stack[-1][1] -= taken
            left -= taken
            if stack[-1][1] <= 0:
                stack.pop()
    rows = [(c, d, v) for (c, d), v in refunded.items() if v > 0]
    return pd.DataFrame(rows, columns=["customer_id", "purchase_date", "refunded_value"])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def dashboard_server(serving: Path):
    """The dashboard on a free port of 127.0.0.1 over a published warehouse, started by the
    documented command (scripts/dashboard.sh; docs/dashboard.md): yields (url, port)."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, CUSTSEG_SERVING_PATH=str(serving))
    # exec replaces the shell by streamlit
    proc = subprocess.Popen(
        ["bash", "scripts/dashboard.sh", "--server.port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(
                "the dashboard server did not start: " + (proc.stdout.read() if proc.stdout else "")
            )
        time.sleep(0.5)
    try:
        yield url, port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def chromium():
    """Debian's headless Chromium driven by Playwright (skips when it is not installed)."""
    import pytest

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def standard_errors(negative_log_likelihood, params) -> np.ndarray:
    """Asymptotic standard errors of the parameters: the inverse of the observed information
    (the Hessian of the negative log-likelihood, central differences in log-parameters), mapped
    back to the parameters (delta method: se(theta) = theta * se(log theta))."""
    z = np.log(np.asarray(params, dtype=float))
    h = 1e-4
    k = len(z)
    hessian = np.zeros((k, k))
    f = lambda u: negative_log_likelihood(np.exp(u))  # noqa: E731
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            hessian[i, j] = (f(z + e_i + e_j) - f(z + e_i - e_j) - f(z - e_i + e_j) + f(z - e_i - e_j)) / (
                4 * h * h
            )
    return np.exp(z) * np.sqrt(np.diag(np.linalg.inv(hessian)))


# The database tests' table (test_database): Online Retail with an identity key and a change
# stamp. The first load holds the lines to 30 November with CORRECTED of them carrying a wrong
# quantity (one more); the second brings December and corrects those lines, so the table then
# holds exactly the file's lines and its build can be compared with the build of the file.
CORRECTED = 100
FIRST_STAMP = "2011-12-01 00:00:00"
SECOND_STAMP = "2011-12-10 00:00:00"


def _sales(shared_data: Path, where: str, wrong: bool, stamp: str) -> pd.DataFrame:
    """Online Retail's lines where ``where`` holds, with line_id (the row in the file) and
    updated_at = ``stamp``; with ``wrong``, the CORRECTED chosen lines have one more in Quantity."""
    source = shared_data / "online_retail.parquet"
    with duckdb.connect() as con:
        return con.execute(
            f"""
            with lines as (
                select file_row_number + 1 as line_id, * exclude (file_row_number)
                from read_parquet(?, file_row_number = true)
            ),
            chosen as (
                select line_id from lines where InvoiceDate < date '2011-12-01' and line_id % 5003 = 1
                order by line_id limit {CORRECTED}
            )
            select
                * replace (
                    case when ? and line_id in (select chosen.line_id from chosen) then Quantity + 1
                    else Quantity end as Quantity
                ),
                cast(? as timestamp) as updated_at
            from lines where {where} order by line_id
            """,
            [str(source), wrong, stamp],
        ).df()


NOVEMBER = "InvoiceDate < date '2011-12-01'"


def sales_to_november(shared_data: Path) -> pd.DataFrame:
    """The first load: Online Retail's lines to 30 November, CORRECTED of them with a wrong quantity."""
    return _sales(shared_data, NOVEMBER, True, FIRST_STAMP)


def sales_december(shared_data: Path) -> pd.DataFrame:
    """The second load's new lines: December's."""
    return _sales(shared_data, "not (" + NOVEMBER + ")", False, SECOND_STAMP)


def sales_corrections(shared_data: Path) -> pd.DataFrame:
    """line_id and the right Quantity of the CORRECTED lines the first load has wrong."""
    wrong = _sales(shared_data, NOVEMBER, True, FIRST_STAMP)
    right = _sales(shared_data, NOVEMBER, False, SECOND_STAMP)
    changed = wrong["Quantity"] != right["Quantity"]
    return right.loc[changed, ["line_id", "Quantity"]].reset_index(drop=True)


# a database source's vars (docs/database.md) for the table the database tests load
DATABASE_VARS = {"transactions_key_columns": ["line_id"], "transactions_updated_at_column": "updated_at"}
# the columns that say where lines came from (a pull file, not the Parquet file of the same rows;
# a line that came in the second batch), and the segment a row is in
WHERE_FROM = ("source_file", "source_files", "file_fingerprint", "content_fingerprint")
PROVENANCE = ("batch_id", "source_row_number")
SEGMENT = ("cluster_id", "segment_name", "model_version", "value_model_version")
# what a second build records of the first: its batches, history and registries, and the segments
# of the model it kept (a weekly build scores with the model in use, docs/segments-over-time.md),
# so they differ from a fresh build of the same rows; the lines, customers, features and value
# (DATA_MARTS) must not
RUN_HISTORY = {
    "fct_batches", "fct_customer_segment_history", "fct_segment_shares", "fct_segment_migration",
    "dim_segment_lineage", "fct_segmentation_drift", "dim_segmentation_models", "dim_segmentation_model_artifacts",
    "dim_clv_models", "dim_classifier_tree_rules", "dim_customer_segments", "dim_segment_centroids",
    "dim_segmentation_preprocessing", "dim_segments", "fct_classifier_confusion_matrix",
    "fct_classifier_feature_importances", "fct_classifier_metrics", "fct_classifier_report",
    "fct_customer_label_conflicts", "fct_scoring_agreement", "fct_segment_feature_profiles", "fct_segment_profiles",
    "fct_segment_value", "fct_segmentation_k_selection", "fct_segmentation_pca_coordinates",
    "fct_segmentation_pca_variance", "fct_sql_centroid_scores",
}  # fmt: skip
DATA_MARTS = ("fct_transactions", "fct_transaction_quarantine", "dim_customers", "dim_customer_value",
              "fct_ingestion_summary")  # fmt: skip


def assert_the_weekly_build_equals_the_file(second, whole_file) -> None:
    """test_database's second build (December and the CORRECTED lines pulled): its batch holds
    exactly those lines, and its lines, customers, features and value (DATA_MARTS) equal the
    build of the whole Online Retail file, which is what the table now holds; only what a second
    build records of the first (RUN_HISTORY) differs."""
    batches = second.query("select batch_id, raw_line_count from marts.fct_batches order by batch_id")
    assert batches == [(1, 516384 - CORRECTED), (2, 25525 + CORRECTED)]
    differences = mart_differences(
        second.serving_path, whole_file.serving_path, also_skip=WHERE_FROM + PROVENANCE + SEGMENT
    )
    assert set(differences) <= RUN_HISTORY, differences
    assert not set(DATA_MARTS) & set(differences)
    assert all(second.scalar(f"select count(*) from marts.{mart}") > 0 for mart in DATA_MARTS)
