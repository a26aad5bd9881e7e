"""Segments over time end to end on small generated batches: the ledger, skipping a file already
loaded, late batches, duplicates across batches, --full-refresh from the loaded files, drift and
the refit decision, and a build killed half-way (docs/segments-over-time.md)."""

from __future__ import annotations

import re
import shutil
import signal
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from custseg.demo_data import GeneratorConfig, write_transactions
from custseg.publish import spare_path
from custseg.workspace import Events
from helpers import (
    CONTINUED,
    NEW_COUNTRY,
    ONE_OTHER_COUNTRY,
    REPEATED,
    RETURNED,
    copy_build,
    mart_differences,
    run_dbt,
    run_dbt_killed,
    serving_path,
)

pytestmark = pytest.mark.e2e

# a batch from the training distribution: the demo's lines per customer (conftest.demo_warehouse,
# 40,000 lines of 600 customers); and a bigger one, every price x 5 (drift is measured on the whole
# customer base: a shift shows once the new customers are a good part of it, here two thirds)
SAME = {"rows": 40_000, "customers": 600, "seed": 3, "first_customer_id": 70_000, "first_invoice": 900_000}
SHIFTED = {**SAME, "rows": 80_000, "customers": 1_200, "spend_multiplier": 5.0}


@pytest.fixture(scope="module")
def batches(demo_warehouse, second_batch, tmp_path_factory):
    """The demo's file (batch a: model version 1 fitted on it), the late batch loaded after it
    (conftest.second_batch, helpers.late_batch), and two new batches for the drift decision."""
    folder = tmp_path_factory.mktemp("batches")
    same, shifted = folder / "week_03.parquet", folder / "week_03_shifted.parquet"
    write_transactions(same, GeneratorConfig(**SAME))
    write_transactions(shifted, GeneratorConfig(**SHIFTED))
    # and, at the end of the same batch, three clean lines of batch a sent again
    rows = [r[0] for r in demo_warehouse.query(
        "select source_row_number from marts.fct_transactions where batch_id = 1 order by 1 limit 3"
    )]  # fmt: skip
    with duckdb.connect() as con:  # its own connection: the module's default one is shared
        con.execute(
            f"copy (select * from read_parquet('{same}') union all "
            f"select * exclude (file_row_number) from read_parquet('{demo_warehouse.source}', file_row_number = true) "
            f"where file_row_number + 1 in ({', '.join(map(str, rows))})) to '{folder / 'merged.parquet'}' (format parquet)"
        )
    (folder / "merged.parquet").replace(same)
    return {"a": demo_warehouse.source, "late": second_batch.source, "same": same, "shifted": shifted}


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
def fitted(demo_warehouse):
    """Batch a alone: model version 1 fitted on it (the session's demo warehouse)."""
    return demo_warehouse


@pytest.fixture(scope="module")
def two_batches(second_batch):
    """Batch a, then the late batch, in one warehouse (the session's, conftest.second_batch)."""
    assert "Batch 2: 1 new file(s)" in second_batch.output
    return second_batch


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
    # a refund in the later batch cancels the purchase it matches: the customer's net value falls
    # by exactly the refund, his gross value stays (int_customers__net_purchase_days), and the
    # net purchase days equal a full build's
    net = (
        "select customer_id, sum(net_value), sum(gross_value) from intermediate.int_customers__net_purchase_days "
        "group by customer_id"
    )
    refunded = dict(
        two_batches.query(
            "select customer_id, sum(abs(line_amount)) from intermediate.int_transactions__classified "
            "where batch_id = 2 and quarantine_reason = 'cancellation' group by customer_id"
        )
    )
    net_before = {c: (float(n), float(g)) for c, n, g in fitted.query(net)}
    net_after = {c: (float(n), float(g)) for c, n, g in two_batches.query(net)}
    for c in map(str, RETURNED):
        assert refunded[c] > 0 and net_after[c][1] == pytest.approx(net_before[c][1])
        assert net_after[c][0] == pytest.approx(net_before[c][0] - refunded[c], abs=1e-6)
    days = "select * from intermediate.int_customers__net_purchase_days"
    assert sorted(
        two_batches.query(days.replace("*", "customer_id, purchase_date, gross_value, net_value"))
    ) == sorted(full.query(days.replace("*", "customer_id, purchase_date, gross_value, net_value")))
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
    before = copy_build(two_batches, tmp_path / "before")
    workdir = tmp_path / "again"
    copy_build(two_batches, workdir)
    again = run_dbt(workdir, "build", vars={"transactions_path": str(renamed)})
    assert again.returncode == 0, again.output[-4000:]
    assert "Nothing new to load" in again.output
    assert f"{renamed} (already loaded as batch 1)" in again.output
    assert mart_differences(before, again.db_path) == {}
    assert _ledger(again) == _ledger(two_batches)
    # and listed in the table of skipped files, with the batch it repeats
    assert again.query(
        "select source_file, skip_reason, same_as_batch_id from marts.fct_skipped_files "
        "where skipped_at = (select max(skipped_at) from marts.fct_skipped_files)"
    ) == [(str(renamed), "already_loaded", 1)]


def test_full_refresh_rebuilds_from_the_loaded_files(two_batches, batches, tmp_path):
    workdir = tmp_path / "wh"
    copy_build(two_batches, workdir)
    # transactions_path names only the first file: the late batch comes back from the ledger
    run = run_dbt(workdir, "build", "--full-refresh", vars={"transactions_path": str(batches["a"])})
    assert run.returncode == 0, run.output[-4000:]
    assert _ledger(run) == _ledger(two_batches)  # same batches, ids and load times
    # the same lines, so the same customers: no new run; registry and history are kept
    assert mart_differences(two_batches.db_path, run.db_path) == {}
    # a loaded file that is gone stops a full refresh with what to do: the probe the pre-flight
    # runs, given the ledger's files as a full refresh gives them (macro input_options)
    from custseg.inputs.transactions import probe_source

    gone = str(batches["late"].with_suffix(".away"))
    result = probe_source(
        {"transactions_path": str(batches["a"]), "reload_files": [str(batches["a"]), gone]},
        cache_dir=str(tmp_path / "cache"),
    )
    assert not result["ok"] and "cannot be found" in result["error"] and gone in result["error"]


def test_a_moved_snapshot_recomputes_only_the_customers_it_cuts(two_batches, batches, tmp_path):
    """The customer aggregates are kept incrementally: when var as_of_date moves (nothing new
    loaded), only the customers with a line between the old and the new snapshot are recomputed,
    and the features equal a full recomputation with the same vars."""
    workdir = tmp_path / "wh"
    copy_build(two_batches, workdir)
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


def test_a_shifted_batch_recommends_a_refit_and_auto_refits(fitted, batches, tmp_path):
    """Every price x 5: the drift says refit_recommended and the default mode (auto, refit_policy
    on_drift) refits in the same build; the segments come from version 2 (the choice per mode and
    policy: tests/unit/test_lifecycle.py)."""
    copy_build(fitted, tmp_path)
    auto = run_dbt(tmp_path, "build", vars={"transactions_path": str(batches["shifted"])})
    assert auto.returncode == 0, auto.output[-4000:]
    assert _drift(auto, 2) == [("refit_recommended", "fit", 2)]
    psi = auto.scalar(
        "select value from marts.fct_segmentation_drift where run_id = 2 and subject = 'monetary_value'"
    )
    assert psi >= 0.25
    assert auto.query(
        "select model_version from marts.dim_segmentation_models where is_active group by 1"
    ) == [(2,)]
    assert (
        auto.scalar("select distinct model_version from marts.fct_customer_segment_history where run_id = 2")
        == 2
    )


def test_a_killed_build_leaves_no_half_batch_and_the_serving_copy_intact(fitted, batches, tmp_path):
    """Killed (-9) as it writes the line store, then again as it starts the model registry: the
    publication, and the spare before it, are untouched and the store holds all of the batch or
    none; the next build then loads the batch and publishes. It is a batch from the training
    distribution (the drift is ok and the model of run 1 scores it) whose last lines repeat lines
    of batch a (exact duplicates)."""
    served = serving_path(copy_build(fitted, tmp_path, publication=True))
    served_bytes = served.read_bytes()
    spare = Path(spare_path(str(served)))  # a publication before the served one, as every week
    shutil.copyfile(fitted.serving_path, spare)
    spare.chmod(0o444)
    for marker in (
        "START sql incremental model intermediate.int_transactions__classified",
        "START python incremental model segmentation.ml_model_registry",
    ):
        killed = run_dbt_killed(tmp_path, marker, "build", vars={"transactions_path": str(batches["same"])})
        assert killed.returncode == -signal.SIGKILL, killed.output[-3000:]
        assert served.read_bytes() == served_bytes, marker  # never published half a build
        con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
        stored = dict(
            con.execute(
                "select batch_id, count(*) from intermediate.int_transactions__classified group by 1"
            ).fetchall()
        )
        con.close()
        assert stored.get(2) in (None, pq.read_metadata(batches["same"]).num_rows), marker  # all or none
        assert spare.read_bytes() == served_bytes, marker  # the killed build did not touch it either
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
    # the batch's last three lines repeat clean lines of batch a: exact duplicates
    last = pq.read_metadata(batches["same"]).num_rows
    assert rerun.query(
        "select quarantine_reason, count(*) from marts.fct_transaction_quarantine "
        f"where batch_id = 2 and source_row_number > {last - 3} group by 1"
    ) == [("exact_duplicate", 3)]
    # a batch from the training distribution: scored by version 1, drift ok
    assert _drift(rerun, 2) == [("ok", "score", 1)]
    assert rerun.scalar("select count(distinct model_version) from marts.dim_segmentation_models") == 1
    # history: both runs; migration: every customer of run 1 is in run 2
    first_customers = fitted.scalar("select count(*) from marts.dim_customers")
    assert rerun.query(
        "select run_id, count(*) from marts.fct_customer_segment_history group by 1 order by 1"
    ) == [(1, first_customers), (2, rerun.scalar("select count(*) from marts.dim_customers"))]
    assert rerun.scalar("select sum(customers) from marts.fct_segment_migration where to_run_id = 2") == (
        first_customers
    )
