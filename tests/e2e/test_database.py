"""A PostgreSQL table as the source and the sync target (issue 42; docs/database.md), against a
server of the tests' own (tests/postgres_server.py): Online Retail's lines to 30 November in
shop.sales, then December and 100 corrected lines; every bad input the issue lists, each a clear
message within seconds that never holds the password."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from custseg.audiences import control_group
from custseg.dashboard import explorer
from custseg.inputs import SourceError
from custseg.inputs.transactions import probe_source
from custseg.sync import SyncError, sync
from custseg.sync import last_sync as sync_record
from helpers import (
    CORRECTED,
    DATABASE_VARS,
    SECOND_STAMP,
    WHERE_FROM,
    assert_the_weekly_build_equals_the_file,
    mart_differences,
    render,
    run_dbt,
    sales_corrections,
    sales_december,
    sales_to_november,
)
from postgres_server import PASSWORD, PostgresServer, server_programs

VARS = {"transactions_table": "shop.sales", **DATABASE_VARS}
READER = "custseg_reader"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    if server_programs() is None:
        pytest.skip("PostgreSQL's server programs are not installed (bash scripts/install_postgres.sh)")
    server = PostgresServer().start()
    try:
        server.execute(
            f"create role {READER} login password '{PASSWORD}'",
            "create schema shop",
            f"grant usage on schema shop to {READER}",
            f"alter default privileges in schema shop grant select on tables to {READER}",
        )
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sales(postgres, shared_data):
    """shop.sales: Online Retail's lines to 30 November (helpers.sales_to_november)."""
    postgres.load("sales", pa.Table.from_pandas(sales_to_november(shared_data), preserve_index=False))
    postgres.execute("alter table shop.sales add primary key (line_id)")
    return "shop.sales"


@pytest.fixture(scope="module")
def pg_builds(postgres, sales, shared_data, tmp_path_factory):
    """Build 1 over the lines to 30 November; December and the corrections written to the table;
    build 2. Returns the first build's published copy, the second build and its folder."""
    workdir = tmp_path_factory.mktemp("pg_build")
    env = {"CUSTSEG_SOURCE_URL": postgres.url(READER), "CUSTSEG_SYNC_URL": postgres.url()}
    # with dbt's debug file log: the password must be in none of the files they write
    first = run_dbt(workdir, "build", vars=VARS, env=env, file_log=True)
    assert first.returncode == 0, first.output[-4000:]
    kept = tmp_path_factory.mktemp("pg_first") / "wh.duckdb"
    shutil.copyfile(first.serving_path, kept)
    synced_first = postgres.execute("select count(*) from custseg.customer_segments")[0][0]

    postgres.load("december", pa.Table.from_pandas(sales_december(shared_data), preserve_index=False))
    postgres.load("corrections", pa.Table.from_pandas(sales_corrections(shared_data), preserve_index=False))
    postgres.execute(
        "insert into shop.sales select * from shop.december",
        'update shop.sales as s set "Quantity" = c."Quantity", '
        f"updated_at = timestamp '{SECOND_STAMP}' + interval '1 second' from shop.corrections as c "
        "where s.line_id = c.line_id",
        "drop table shop.december",
        "drop table shop.corrections",
    )
    second = run_dbt(workdir, "build", vars=VARS, env=env, file_log=True)
    assert second.returncode == 0, second.output[-4000:]
    return kept, second, workdir, first, synced_first


def test_a_postgres_table_builds_as_the_file_of_its_rows(pg_builds, online_retail_to_november):
    kept, _, _, first, _ = pg_builds
    assert (
        "Pulled 516384 row(s) from transactions_table up to 2011-12-01 00:00:00 (changes mode)"
        in first.output
    )
    assert mart_differences(kept, online_retail_to_november.serving_path, also_skip=WHERE_FROM) == {}


def test_the_weekly_pull_reads_what_changed_and_replaces_the_corrected_lines(pg_builds, online_retail):
    _, second, _, _, _ = pg_builds
    assert (
        f"Pulled {25525 + CORRECTED} row(s) from transactions_table changed after 2011-12-01" in second.output
    )
    assert f"{CORRECTED} replace rows already loaded" in second.output
    assert_the_weekly_build_equals_the_file(second, online_retail)


def test_the_segments_are_upserted_into_postgres_after_every_build(pg_builds, postgres):
    _, second, _, _, synced_first = pg_builds
    served = second.query(
        "select s.customer_id, s.cluster_id, s.segment_name, s.rfm_segment, v.predicted_clv, v.churn_risk_band "
        "from marts.dim_customer_segments as s left join marts.dim_customer_value as v using (customer_id)"
    )
    synced = postgres.execute(
        "select customer_id, cluster_id, segment_name, rfm_segment, predicted_clv, churn_risk_band "
        "from custseg.customer_segments"
    )
    assert sorted(synced) == sorted(served) and len(served) > 4000
    log = postgres.execute(
        "select table_name, rows_inserted, rows_updated, rows_removed, rows_total from custseg.sync_log "
        "order by synced_at, table_name"
    )
    customers = [row for row in log if row[0] == "customer_segments"]
    assert len(customers) == 2 and customers[0][1] == customers[0][4] == synced_first
    inserted, total = customers[1][1], customers[1][4]
    assert total == len(served) and total == synced_first + inserted - customers[1][3]
    catalogue = postgres.execute(
        "select cluster_id, segment_name, recommended_action from custseg.segment_catalogue"
    )
    assert sorted(catalogue) == sorted(
        second.query("select cluster_id, segment_name, recommended_action from marts.fct_segment_profiles")
    )


def test_the_password_is_in_no_file_the_builds_wrote(pg_builds):
    _, second, workdir, first, _ = pg_builds
    secret = PASSWORD.encode()
    assert (Path(workdir) / "logs" / "dbt.log").stat().st_size > 100_000  # every statement, debug level
    found = [p for p in Path(workdir).rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert found == []
    assert PASSWORD not in first.output + second.output
    assert any(Path(str(second.db_path) + ".pulls").glob("pull-*.parquet"))


# --- bad inputs: each a clear message within seconds, without the password -----------------------


def _probe(monkeypatch, url: str, tmp_path: Path, **options):
    monkeypatch.setenv("CUSTSEG_SOURCE_URL", url)
    started = time.monotonic()
    answer = probe_source({**VARS, "pull_dir": str(tmp_path / "pulls"), **options}, str(tmp_path / "cache"))
    assert time.monotonic() - started < 10
    assert not answer["ok"]
    assert PASSWORD not in answer["error"] and url not in answer["error"]
    assert not list((tmp_path / "pulls").glob("*")) if (tmp_path / "pulls").exists() else True
    return answer["error"]


def test_an_unreachable_server_a_wrong_password_or_a_missing_database_is_said(
    postgres, sales, monkeypatch, tmp_path
):
    down = postgres.url().replace(f":{postgres.port}/", f":{postgres.port + 1}/")
    assert "the server is down or unreachable" in _probe(monkeypatch, down, tmp_path)
    wrong = postgres.url(READER, password="not-" + PASSWORD)
    message = _probe(monkeypatch, wrong, tmp_path)
    assert "the user name or password is wrong" in message and "not-" not in message
    assert "does not exist" in _probe(monkeypatch, postgres.url(database="nowhere"), tmp_path)
    assert "the scheme 'mysql'" in _probe(monkeypatch, "mysql://u:" + PASSWORD + "@127.0.0.1/db", tmp_path)


def test_a_missing_table_names_the_tables_of_its_schema(postgres, sales, monkeypatch, tmp_path):
    message = _probe(monkeypatch, postgres.url(READER), tmp_path, transactions_table="shop.orders")
    assert "No table or view shop.orders" in message and "sales" in message
    assert "no schema 'store'" in _probe(
        monkeypatch, postgres.url(READER), tmp_path, transactions_table="store.sales"
    )


def test_an_empty_view_keys_and_stamps_that_cannot_work_are_refused(postgres, sales, monkeypatch, tmp_path):
    postgres.execute(
        "create view shop.empty_sales as select * from shop.sales where false",
        "create table shop.nulls as select * from shop.sales where line_id <= 50",
        "update shop.nulls set line_id = null where line_id = 3",
        "create table shop.repeats as select * from shop.sales where line_id <= 50",
        "update shop.repeats set line_id = 1 where line_id = 2",
        "create table shop.no_stamp as select * from shop.sales where line_id <= 50",
        "update shop.no_stamp set updated_at = null where line_id = 7",
        f"grant select on shop.empty_sales to {READER}",
    )
    url = postgres.url(READER)
    assert "has no rows" in _probe(monkeypatch, url, tmp_path, transactions_table="shop.empty_sales")
    assert "1 row(s) of shop.nulls have no value in the key" in _probe(
        monkeypatch, url, tmp_path, transactions_table="shop.nulls"
    )
    assert "The key line_id repeats within one pull" in _probe(
        monkeypatch, url, tmp_path, transactions_table="shop.repeats"
    )
    assert "1 row(s) of shop.no_stamp have no change stamp" in _probe(
        monkeypatch, url, tmp_path, transactions_table="shop.no_stamp"
    )
    assert "names order_line, which shop.sales does not have" in _probe(
        monkeypatch, url, tmp_path, transactions_key_columns=["order_line"]
    )
    assert "transactions_updated_at_column names changed" in _probe(
        monkeypatch, url, tmp_path, transactions_updated_at_column="changed"
    )


def test_stamps_that_move_backwards_are_refused(postgres, sales, monkeypatch, tmp_path):
    postgres.execute("create table shop.restored as select * from shop.sales where line_id <= 500")
    postgres.execute(f"grant select on shop.restored to {READER}")
    monkeypatch.setenv("CUSTSEG_SOURCE_URL", postgres.url(READER))
    first = probe_source({**VARS, "transactions_table": "shop.restored", "pull_dir": str(tmp_path / "p")})
    assert first["ok"], first.get("error")
    postgres.execute("update shop.restored set updated_at = updated_at - interval '30 days'")
    again = probe_source({**VARS, "transactions_table": "shop.restored", "pull_dir": str(tmp_path / "p"),
                          "loaded_pulls": first["files"]})  # fmt: skip
    assert not again["ok"] and "moved backwards" in again["error"]


def test_a_column_of_the_wrong_type_and_a_table_the_user_may_not_read(postgres, sales, monkeypatch, tmp_path):
    postgres.execute(
        'create table shop.flags as select line_id, "InvoiceNo", "StockCode", "Quantity", '
        '("UnitPrice" > 1) as "InvoiceDate", "UnitPrice", "CustomerID", updated_at '
        "from shop.sales where line_id <= 50",
        f"grant select on shop.flags to {READER}",
        "create table shop.secret as select * from shop.sales where line_id <= 50",
        f"revoke select on shop.secret from {READER}",
    )
    url = postgres.url(READER)
    message = _probe(monkeypatch, url, tmp_path, transactions_table="shop.flags")
    assert "InvoiceDate" in message and "BOOLEAN" in message.upper()
    message = _probe(monkeypatch, url, tmp_path, transactions_table="shop.secret")
    assert "may not read shop.secret" in message and "GRANT SELECT" in message


def test_a_connection_that_drops_mid_pull_stores_nothing(postgres, sales, monkeypatch, tmp_path):
    postgres.execute(
        "create view shop.slow as select s.*, case when s.line_id = 400000 then pg_sleep(3)::text end as pause "
        "from shop.sales as s",
        f"grant select on shop.slow to {READER}",
    )

    def cut():
        time.sleep(1.0)
        postgres.execute(f"select pg_terminate_backend(pid) from pg_stat_activity where usename = '{READER}'")

    killer = threading.Thread(target=cut)
    killer.start()
    try:
        message = _probe(monkeypatch, postgres.url(READER), tmp_path, transactions_table="shop.slow")
    finally:
        killer.join()
    assert "dropped during the pull" in message and "nothing was loaded" in message
    assert list((tmp_path / "pulls").glob("*")) == []


def test_a_sync_target_that_cannot_be_written_says_why_and_changes_nothing(postgres, pg_builds, tmp_path):
    _, second, _, _, _ = pg_builds
    postgres.execute("create schema locked", "create schema taken",
                     "create table taken.customer_segments (customer_id text, score real)")  # fmt: skip
    reader = {"CUSTSEG_SYNC_URL": postgres.url(READER)}
    with pytest.raises(SyncError, match="may not write the schema locked") as caught:
        sync(str(second.serving_path), "locked", env=reader)
    assert PASSWORD not in str(caught.value)
    owner = {"CUSTSEG_SYNC_URL": postgres.url()}
    with pytest.raises(
        SyncError, match=r"taken\.customer_segments exists with other columns \(customer_id, score\)"
    ):
        sync(str(second.serving_path), "taken", env=owner)
    # one transaction: the refused sync created none of its tables
    assert postgres.execute(
        "select count(*) from information_schema.tables where table_schema = 'taken'"
    ) == [(1,)]
    # an unknown scheme
    with pytest.raises(SourceError, match="the scheme 'oracle'"):
        sync(str(second.serving_path), env={"CUSTSEG_SYNC_URL": "oracle://u:" + PASSWORD + "@h/db"})
    # and the same sync again writes nothing new (idempotent)
    done = sync(str(second.serving_path), env=owner)
    assert all(d.inserted == d.updated == d.removed == 0 for d in done)


def test_the_explorer_sends_its_list_as_an_audience_and_the_overview_says_when_the_last_sync_ran(
    pg_builds, postgres, monkeypatch
):
    _, second, _, _, _ = pg_builds
    serving = second.serving_path
    monkeypatch.setenv("CUSTSEG_SERVING_PATH", str(serving))
    monkeypatch.setenv("CUSTSEG_SYNC_URL", postgres.url())
    cluster_id, name = second.query(  # the segment with the most customers in the top three value deciles
        "select cluster_id, any_value(segment_name) from marts.dim_customer_value where value_decile <= 3 "
        "group by cluster_id order by count(*) desc, cluster_id limit 1"
    )[0]
    top = explorer.ExplorerFilter(max_value_decile=3)
    listed, total = explorer.segment_customers(cluster_id, top, path=serving, page_size=None)
    done = explorer.send_audience(
        cluster_id, top, "spring_push", path=serving, control_share=0.1, control_seed=5
    )
    assert (done.table, done.total) == ("audience_spring_push", total) and total > 50
    rows = postgres.execute(
        "select customer_id, segment_name, predicted_clv, is_control from custseg.audience_spring_push"
    )
    assert sorted(r[0] for r in rows) == sorted(listed["customer_id"])
    assert {r[1] for r in rows} == {name} and sum(r[3] for r in rows) == round(0.1 * total)
    # the hold-out is the download's: the same customers marked
    marked = control_group(listed["customer_id"].sort_values().reset_index(drop=True), 0.1, 5)
    assert {r[0] for r in rows if r[3]} == set(
        listed["customer_id"].sort_values().reset_index(drop=True)[marked]
    )
    # sent again: replaced whole, logged
    again = explorer.send_audience(cluster_id, explorer.ExplorerFilter(), "spring_push", path=serving)
    assert again.removed == total
    with pytest.raises(SyncError, match="must be lower-case letters"):
        explorer.send_audience(cluster_id, top, "x; drop table y", path=serving)
    # the Overview: the last sync (the build's) with its counts
    page = render("Overview")
    said = " ".join(c.value for c in page.caption)
    synced = sync_record(str(serving))
    assert synced["ok"] and "Last sync to the database:" in said
    assert f"{synced['tables'][0]['total']:,} customers in customer_segments" in said
    # no page shows the URL or its password (the Overview and the explorer, rendered)
    for name in ("Overview", "Segment explorer"):
        shown = render(name)
        texts = [e.value for kind in ("caption", "markdown", "text", "title", "subheader", "warning", "success")
                 for e in getattr(shown, kind)]  # fmt: skip
        assert not [t for t in texts if PASSWORD in str(t) or postgres.url() in str(t)]
