"""Segments over time end to end on small generated batches: the ledger, skipping a file already
loaded, late batches, duplicates across batches, --full-refresh from the loaded files, drift and
the refit decision, and a build killed half-way (docs/segments-over-time.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from custseg.demo_data import GeneratorConfig, write_transactions
from custseg.publish import spare_path
from custseg.workspace import Events, workspace_env
from helpers import DBT, REPO, count_dbt_run, mart_differences, run_dbt, serving_path

pytestmark = pytest.mark.e2e

SMALL = {"rows": 12_000, "customers": 600}


def _batch(folder: Path, name: str, **options) -> Path:
    path = folder / name
    write_transactions(path, GeneratorConfig(**{**SMALL, **options}))
    return path


# batch a's customers (ids from 12346 on) the late batch adds lines to, by case
CONTINUED, REPEATED, NEW_COUNTRY, ONE_OTHER_COUNTRY, RETURNED = (
    range(12_346 + 10 * i, 12_346 + 10 * i + 5) for i in range(5)
)


def _merge_cases(late: Path, first: Path) -> Path:
    """Append to ``late`` lines of ``first``'s customers, dated inside ``first``'s range (the
    snapshot does not move), one kind per group of customers: a line that continues one of their
    orders an hour before it (the order's time moves), new orders of products they already
    bought, enough lines in another country to make it their most frequent, a single line in
    another country, and a return of a product they bought."""
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
            f"CustomerID, 'Iceland' from {src} as customers, range(60) as lines(i) "
            f"where CustomerID in {tuple(NEW_COUNTRY)} group by all",
            f"select cast(891000 + CustomerID as varchar), 'ZZONE', 'ONE AWAY', 1, timestamp '2011-06-01 10:00', 2.0, "
            f"CustomerID, 'Iceland' from {src} where CustomerID in {tuple(ONE_OTHER_COUNTRY)} group by all",
            f"select 'C' || cast(892000 + n + 100 * (CustomerID - 12000) as varchar), StockCode, Description, -1, "
            f"InvoiceDate + interval 2 day, UnitPrice, CustomerID, Country "
            f"from {some_line} where n = 1 and CustomerID in {tuple(RETURNED)}",
        ]
    )
    merged = late.with_suffix(".merged.parquet")
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{late}') union all ({cases})) to '{merged}' (format parquet)"
        )
    merged.replace(late)
    return late


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batches")
    first = _batch(folder, "week_01.parquet", seed=1)
    return {
        "a": first,
        # a late batch: other customers, dated before batch a, and lines of batch a's customers
        # that test the merge of a batch into their stored aggregates (_merge_cases)
        "late": _merge_cases(
            _batch(
                folder,
                "week_02.parquet",
                seed=2,
                first_customer_id=60_000,
                first_invoice=800_000,
                start="2010-03-01",
                end="2010-11-20",
            ),
            first,
        ),
        # the training distribution again: twice as many new customers (drift is measured on the
        # whole customer base, so a shift shows once the new customers are a good part of it)
        "same": _batch(
            folder,
            "week_03.parquet",
            seed=3,
            first_customer_id=70_000,
            first_invoice=900_000,
            rows=24_000,
            customers=1_200,
        ),
        # the same customers and lines, every price x 5
        "shifted": _batch(
            folder,
            "week_03_shifted.parquet",
            seed=3,
            first_customer_id=70_000,
            first_invoice=900_000,
            rows=24_000,
            customers=1_200,
            spend_multiplier=5.0,
        ),
    }


def _copy_warehouse(src: Path, workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, workdir / src.name)
    return workdir / src.name


def _ledger(run) -> list[tuple]:
    return run.query(
        "select batch_id, source_files, raw_line_count, clean_line_count + quarantined_line_count, loaded_at "
        "from marts.fct_batches order by batch_id"
    )


def _stats_by_customer(run) -> dict[int, dict]:
    columns = "line_count, order_count, distinct_products, country, return_line_count"
    rows = run.query(f"select customer_id, {columns} from intermediate.int_customers__purchase_stats")
    return {int(float(row[0])): dict(zip(columns.split(", "), row[1:], strict=True)) for row in rows}


def _store_batches(run) -> list[tuple]:
    return run.query(
        "select batch_id, count(*) from intermediate.int_transactions__classified group by batch_id order by 1"
    )


@pytest.fixture(scope="module")
def fitted(batches, tmp_path_factory):
    """Batch a alone: model version 1 fitted on it."""
    workdir = tmp_path_factory.mktemp("fitted")
    run = run_dbt(workdir, "build", vars={"transactions_path": str(batches["a"])})
    assert run.returncode == 0, run.output[-4000:]
    return run


@pytest.fixture(scope="module")
def two_batches(fitted, batches, tmp_path_factory):
    """Batch a, then the late batch, in one warehouse (a copy of the fitted one)."""
    workdir = tmp_path_factory.mktemp("two")
    _copy_warehouse(fitted.db_path, workdir)
    second = run_dbt(workdir, "build", vars={"transactions_path": str(batches["late"])})
    assert second.returncode == 0, second.output[-4000:]
    assert "Batch 2: 1 new file(s)" in second.output
    return second


def test_each_batch_is_one_ledger_row_that_reconciles(two_batches, batches):
    ledger = _ledger(two_batches)
    assert [row[0] for row in ledger] == [1, 2]
    assert [row[1] for row in ledger] == [str(batches["a"]), str(batches["late"])]
    for _, _, raw, split, _ in ledger:
        assert raw == split
    assert [row[2] for row in ledger] == [pq.read_metadata(batches[k]).num_rows for k in ("a", "late")]
    assert _store_batches(two_batches) == [(row[0], row[2]) for row in ledger]
    # every line keeps its file and row
    assert (
        two_batches.scalar(
            "select count(*) from marts.fct_transactions where source_file is null or source_row_number is null"
        )
        == 0
    )


def test_an_incremental_build_leaves_no_working_table_behind(two_batches):
    # the Python incremental models ran incrementally in the second build: dbt-duckdb's
    # main.<model>__dbt_tmp<time> tables are dropped, in the warehouse and so in the serving copy
    for path in (two_batches.db_path, two_batches.serving_path):
        with duckdb.connect(str(path), read_only=True) as con:
            tables = con.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
        assert not [t for (t,) in tables if "__dbt_tmp" in t or t.startswith("main.")], path
    # and there were some to drop (without the post-hook this build left one per model)
    events = Events()  # the file log is dbt's events (--log-format json): their messages
    for line in (two_batches.db_path.parent / "logs" / "dbt.log").read_text().splitlines():
        events.feed(line)
    log = events.finish(0).log
    for model in ("ml_model_registry", "ml_value_models"):
        assert re.search(rf'drop table "[^"]+"\."main"\."{model}__dbt_tmp[0-9]+"', log), model


def test_a_late_batch_counts_as_a_full_build_over_both_files(fitted, two_batches, batches, tmp_path):
    glob = str(batches["a"].parent / "week_0[12].parquet")
    full = run_dbt(tmp_path, "build", vars={"transactions_path": glob})
    assert full.returncode == 0, full.output[-4000:]
    assert full.query("select batch_id, source_file_count from marts.fct_batches") == [(1, 2)]
    differences = mart_differences(two_batches.db_path, full.db_path)
    # the customers and the load summary are identical (the segments need not be: the batched
    # warehouse judged the late batch against the model of batch 1, and history differs)
    assert "dim_customers" not in differences and "fct_ingestion_summary" not in differences
    assert two_batches.scalar("select count(*) from marts.dim_customers") > 1000
    # batch a's customers in the late batch: their stored aggregates merged with the batch, or
    # recomputed, equal aggregating both files at once
    stats = "select * exclude (through_batch_id) from intermediate.int_customers__purchase_stats"
    assert sorted(two_batches.query(stats)) == sorted(full.query(stats))
    # and the cases bite (before = batch a alone)
    before, after = (_stats_by_customer(run) for run in (fitted, two_batches))
    for c in REPEATED:  # new orders of products bought before: lines and orders, no product
        assert after[c]["line_count"] == before[c]["line_count"] + 3
        assert after[c]["order_count"] > before[c]["order_count"]
        assert after[c]["distinct_products"] == before[c]["distinct_products"]
    for c in CONTINUED:  # a line more in an order they had
        assert after[c]["order_count"] == before[c]["order_count"]
        assert after[c]["line_count"] == before[c]["line_count"] + 1
    assert {after[c]["country"] for c in NEW_COUNTRY} == {"Iceland"}
    assert all(after[c]["country"] == before[c]["country"] != "Iceland" for c in ONE_OTHER_COUNTRY)
    assert all(after[c]["return_line_count"] == before[c]["return_line_count"] + 1 for c in RETURNED)
    for line_mart in ("fct_transactions", "fct_transaction_quarantine"):
        columns = "order_id, customer_id, stock_code, quantity, unit_price, invoiced_at, source_file"
        assert sorted(two_batches.query(f"select {columns} from marts.{line_mart}")) == sorted(
            full.query(f"select {columns} from marts.{line_mart}")
        )


def test_a_file_already_loaded_is_skipped_and_changes_nothing(two_batches, batches, tmp_path):
    # the same content under another name is recognised by its content
    renamed = tmp_path / "data" / "resent_week_01.parquet"
    renamed.parent.mkdir()
    shutil.copyfile(batches["a"], renamed)
    before = _copy_warehouse(two_batches.db_path, tmp_path / "before")
    workdir = tmp_path / "again"
    _copy_warehouse(two_batches.db_path, workdir)
    again = run_dbt(workdir, "build", vars={"transactions_path": str(renamed)})
    assert again.returncode == 0, again.output[-4000:]
    assert "Nothing new to load" in again.output
    assert f"{renamed} (already loaded as batch 1)" in again.output
    assert mart_differences(before, again.db_path) == {}
    assert _ledger(again) == _ledger(two_batches)


def test_a_line_repeated_in_a_later_batch_is_an_exact_duplicate(two_batches, batches, tmp_path):
    # three clean lines of batch 1, sent again in a file of their own
    rows = [r[0] for r in two_batches.query(
        "select source_row_number from marts.fct_transactions where batch_id = 1 order by 1 limit 3"
    )]  # fmt: skip
    repeated = tmp_path / "week_04.parquet"
    with duckdb.connect() as con:  # its own connection: the module's default one is shared
        con.execute(
            f"copy (select * exclude (file_row_number) from read_parquet('{batches['a']}', file_row_number = true) "
            f"where file_row_number + 1 in ({', '.join(map(str, rows))})) to '{repeated}' (format parquet)"
        )
    workdir = tmp_path / "wh"
    _copy_warehouse(two_batches.db_path, workdir)
    run = run_dbt(workdir, "build", vars={"transactions_path": str(repeated)})
    assert run.returncode == 0, run.output[-4000:]
    assert run.query(
        "select quarantine_reason, count(*) from marts.fct_transaction_quarantine where batch_id = 3 group by 1"
    ) == [("exact_duplicate", 3)]


def test_full_refresh_rebuilds_from_the_loaded_files(two_batches, batches, tmp_path):
    workdir = tmp_path / "wh"
    _copy_warehouse(two_batches.db_path, workdir)
    # transactions_path names only the first file: the late batch comes back from the ledger
    run = run_dbt(workdir, "build", "--full-refresh", vars={"transactions_path": str(batches["a"])})
    assert run.returncode == 0, run.output[-4000:]
    assert _ledger(run) == _ledger(two_batches)  # same batches, ids and load times
    # the same lines, so the same customers: no new run; registry and history are kept
    assert mart_differences(two_batches.db_path, run.db_path) == {}
    # a loaded file that is gone stops a full refresh with what to do
    moved = tmp_path / "moved.parquet"
    shutil.copyfile(batches["late"], moved)
    workdir2 = tmp_path / "wh2"
    _copy_warehouse(two_batches.db_path, workdir2)
    batches["late"].rename(batches["late"].with_suffix(".away"))
    try:
        failed = run_dbt(workdir2, "build", "--full-refresh", vars={"transactions_path": str(batches["a"])})
    finally:
        batches["late"].with_suffix(".away").rename(batches["late"])
    assert failed.returncode != 0
    assert "cannot be found" in failed.output and str(batches["late"]) in failed.output


def test_a_moved_snapshot_recomputes_only_the_customers_it_cuts(two_batches, batches, tmp_path):
    """The customer aggregates are kept incrementally: when var as_of_date moves (nothing new
    loaded), only the customers with a line between the old and the new snapshot are recomputed,
    and the features equal a full recomputation with the same vars."""
    workdir = tmp_path / "wh"
    _copy_warehouse(two_batches.db_path, workdir)
    models = ("--select", "int_customers__purchase_stats", "int_customers__features")
    variables = {"transactions_path": str(batches["a"]), "as_of_date": "2011-06-01"}
    moved = run_dbt(workdir, "run", *models, vars=variables)
    assert moved.returncode == 0, moved.output[-4000:]
    stats = "from intermediate.int_customers__purchase_stats"
    recomputed = moved.scalar(f"select count(*) {stats} where window_end = date '2011-06-01'")
    # batch a runs to 2011-12-09 (its customers are cut), the late batch ends 2010-11-20 (kept)
    assert 0 < recomputed < moved.scalar(f"select count(*) {stats}")
    assert moved.scalar(f"select count(*) {stats} where last_line_date >= date '2011-06-01'") == recomputed
    features = "select * from intermediate.int_customers__features"
    incremental = sorted(moved.query(features))
    assert {row[1] for row in incremental} == {date(2011, 6, 1)}  # as_of_date
    full = run_dbt(workdir, "run", "--full-refresh", *models, vars=variables)
    assert full.returncode == 0, full.output[-4000:]
    assert sorted(full.query(features)) == incremental


def _drift(run, run_id):
    return run.query(
        f"select distinct run_status, decision, model_version from marts.fct_segmentation_drift where run_id = {run_id}"
    )


def test_a_batch_from_the_training_distribution_is_ok(fitted, batches, tmp_path):
    _copy_warehouse(fitted.db_path, tmp_path)
    run = run_dbt(tmp_path, "build", vars={"transactions_path": str(batches["same"])})
    assert run.returncode == 0, run.output[-4000:]
    assert _drift(run, 2) == [("ok", "score", 1)]
    assert run.scalar("select count(distinct model_version) from marts.dim_segmentation_models") == 1
    # history: both runs; migration: every customer of run 1 is in run 2
    assert run.query(
        "select run_id, count(*) from marts.fct_customer_segment_history group by 1 order by 1"
    ) == [
        (1, fitted.scalar("select count(*) from marts.dim_customers")),
        (2, run.scalar("select count(*) from marts.dim_customers")),
    ]
    assert run.scalar("select sum(customers) from marts.fct_segment_migration where to_run_id = 2") == (
        fitted.scalar("select count(*) from marts.dim_customers")
    )


def test_a_shifted_batch_recommends_a_refit(fitted, batches, tmp_path):
    _copy_warehouse(fitted.db_path, tmp_path / "score")
    scored = run_dbt(
        tmp_path / "score",
        "build",
        vars={"transactions_path": str(batches["shifted"]), "segmentation_mode": "score"},
    )
    assert scored.returncode == 0, scored.output[-4000:]
    assert _drift(scored, 2) == [("refit_recommended", "score", 1)]
    psi = scored.scalar(
        "select value from marts.fct_segmentation_drift where run_id = 2 and subject = 'monetary_value'"
    )
    assert psi >= 0.25
    # auto (refit_policy on_drift) refits in the same build; the segments come from version 2
    _copy_warehouse(fitted.db_path, tmp_path / "auto")
    auto = run_dbt(tmp_path / "auto", "build", vars={"transactions_path": str(batches["shifted"])})
    assert auto.returncode == 0, auto.output[-4000:]
    assert _drift(auto, 2) == [("refit_recommended", "fit", 2)]
    assert auto.query(
        "select model_version from marts.dim_segmentation_models where is_active group by 1"
    ) == [(2,)]
    assert (
        auto.scalar("select distinct model_version from marts.fct_customer_segment_history where run_id = 2")
        == 2
    )


def _kill_when(workdir: Path, marker: str, transactions: Path) -> str:
    """Start an incremental build and kill -9 it as soon as ``marker`` appears in its output."""
    env = workspace_env(workdir)
    count_dbt_run("dbt build (killed)")
    proc = subprocess.Popen(
        [DBT, "build", "--vars", json.dumps({"transactions_path": str(transactions)})],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)[-3000:]
    return "".join(seen)


@pytest.mark.parametrize(
    "marker",
    [
        "START sql incremental model intermediate.int_transactions__classified",
        "START python incremental model segmentation.ml_model_registry",
    ],
)
def test_a_killed_build_leaves_no_half_batch_and_the_serving_copy_intact(fitted, batches, tmp_path, marker):
    _copy_warehouse(fitted.db_path, tmp_path)
    served = serving_path(tmp_path / "wh.duckdb")
    served.parent.mkdir(parents=True)
    shutil.copyfile(fitted.serving_path, served)
    served_bytes = served.read_bytes()
    spare = Path(spare_path(str(served)))  # a publication before the served one, as every week
    shutil.copyfile(fitted.serving_path, spare)
    spare.chmod(0o444)
    _kill_when(tmp_path, marker, batches["same"])
    assert served.read_bytes() == served_bytes  # never published half a build
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    stored = dict(
        con.execute(
            "select batch_id, count(*) from intermediate.int_transactions__classified group by 1"
        ).fetchall()
    )
    con.close()
    assert stored.get(2) in (None, pq.read_metadata(batches["same"]).num_rows)  # all of it or none
    assert spare.read_bytes() == served_bytes  # the killed build did not touch it either
    rerun = run_dbt(tmp_path, "build", vars={"transactions_path": str(batches["same"])})
    assert rerun.returncode == 0, rerun.output[-4000:]
    # published by rewriting the spare's changed blocks: the same bytes as the working file
    assert "into the previous publication" in rerun.output
    assert rerun.serving_path.read_bytes() == rerun.db_path.read_bytes()
    assert spare.read_bytes() == served_bytes  # the publication it replaced is the next spare
    assert _store_batches(rerun) == [(row[0], row[2]) for row in _ledger(rerun)]
    assert [row[0] for row in _ledger(rerun)] == [1, 2]
    assert rerun.scalar("select count(*) from marts.fct_batches where batch_id = 2") == 1
    con = duckdb.connect(str(rerun.serving_path), read_only=True)
    assert con.execute("select count(*) from marts.fct_batches").fetchone()[0] == 2
    con.close()
