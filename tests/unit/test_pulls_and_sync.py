"""The database source and the sync target on SQLite files, in-process (custseg.inputs.database,
custseg.sync): pulls by change stamp, replacement by key, snapshots, the messages for bad
settings, and the upsert's counts. The PostgreSQL server cases: tests/e2e/test_database.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from custseg.inputs import SourceError, pulls
from custseg.inputs.database import DatabaseURL, source_url
from custseg.inputs.pulls import pull, reader_sql
from custseg.inputs.transactions import probe_source
from custseg.sync import SyncError, sync

COLUMNS = "line_id integer, InvoiceNo text, StockCode text, Description text, Quantity integer, " \
          "InvoiceDate text, UnitPrice real, CustomerID text, Country text, updated_at text"  # fmt: skip
KEYED = {"transactions_table": "sales", "transactions_key_columns": ["line_id"],
         "transactions_updated_at_column": "updated_at"}  # fmt: skip


def _line(i: int, quantity: int = 2, stamp: str = "2011-01-01 00:00:00") -> tuple:
    return (i, f"5{i // 3:05d}", f"SKU{i % 7}", "MUG", quantity, f"2011-01-{1 + i % 28:02d} 10:00:00", 1.5,
            f"C{i % 11}", "France", stamp)  # fmt: skip


def _shop(path: Path, lines: list[tuple]) -> Path:
    with sqlite3.connect(path) as con:
        con.execute(f"create table if not exists sales ({COLUMNS})")
        con.executemany(f"insert into sales values ({', '.join('?' * 10)})", lines)
    return path


@pytest.fixture
def shop(tmp_path, monkeypatch):
    path = _shop(tmp_path / "shop.db", [_line(i) for i in range(1, 61)])
    monkeypatch.setenv("CUSTSEG_SOURCE_URL", f"sqlite:///{path}")
    return path


def _pull(tmp_path, loaded=(), **options):
    return pull({**KEYED, **options}, str(tmp_path / "pulls"), list(loaded))


def test_a_pull_reads_the_rows_changed_since_the_last_and_a_known_key_replaces(shop, tmp_path):
    first = _pull(tmp_path)
    assert (first["rows"], first["reload"], first["window"]) == (60, False, ["", "2011-01-01 00:00:00"])
    again = _pull(tmp_path, first["files"])  # nothing changed: the last file, which the plan skips
    assert (again["rows"], again["new_file"], again["files"]) == (0, None, first["files"])
    with sqlite3.connect(shop) as con:
        con.execute(
            "update sales set Quantity = 9, updated_at = '2011-02-01 00:00:00' where line_id in (4, 5)"
        )
        con.execute(
            f"insert into sales values ({', '.join('?' * 10)})", _line(61, stamp="2011-02-01 00:00:00")
        )
    third = _pull(tmp_path, first["files"])
    assert (third["rows"], third["replaced"], third["reload"]) == (3, 2, True)
    assert third["files"] == [*first["files"], third["new_file"]]
    # the reload reads each key's newest version: 61 lines, two of them with the new quantity
    rows = duckdb.sql(
        f"select count(*), sum(Quantity) from {reader_sql(third['files'], ['line_id'])}"
    ).fetchall()[0]
    assert rows == (61, 2 * 59 + 9 * 2)
    # only new keys: no reload, the new file alone
    with sqlite3.connect(shop) as con:
        con.execute(
            f"insert into sales values ({', '.join('?' * 10)})", _line(62, stamp="2011-03-01 00:00:00")
        )
    fourth = _pull(tmp_path, third["files"])
    assert (fourth["rows"], fourth["replaced"], fourth["reload"], fourth["files"]) == (
        1,
        0,
        False,
        [fourth["new_file"]],
    )


def test_full_refresh_reads_every_pull_file_again(shop, tmp_path):
    first = _pull(tmp_path)
    again = pull(KEYED, str(tmp_path / "pulls"), first["files"], full_refresh=True)
    assert (again["reload"], again["files"], again["rows"]) == (True, first["files"], 0)


def test_a_table_without_a_stamp_is_read_whole_and_a_changed_snapshot_replaces_the_last(shop, tmp_path):
    options = {"transactions_updated_at_column": ""}
    first = _pull(tmp_path, **options)
    assert (first["mode"], first["rows"], first["reload"]) == ("snapshot", 60, False)
    same = _pull(tmp_path, first["files"], **options)
    assert (same["rows"], same["new_file"], same["files"]) == (0, None, first["files"])
    with sqlite3.connect(shop) as con:
        con.execute("delete from sales where line_id = 1")
    changed = _pull(tmp_path, first["files"], **options)
    assert (changed["rows"], changed["reload"], changed["files"]) == (59, True, [changed["new_file"]])


def test_the_probe_reads_a_table_as_a_parquet_input(shop, tmp_path):
    answer = probe_source({**KEYED, "pull_dir": str(tmp_path / "pulls")}, str(tmp_path / "cache"))
    assert answer["ok"], answer.get("error")
    assert answer["format"] == "parquet" and answer["mapping"]["customer_id"] == "CustomerID"
    assert answer["pull"]["rows"] == 60 and answer["source_files"] == answer["pull"]["files"]
    both = probe_source({**KEYED, "pull_dir": str(tmp_path / "p"), "transactions_path": "elsewhere.csv"})
    assert "Both transactions_table and transactions_path are set" in both["error"]


def test_a_command_that_loads_nothing_reads_the_last_pull_and_never_the_database(shop, tmp_path, monkeypatch):
    """dbt compile, docs generate, show (pull_now false, macro input_options): the last pull the
    warehouse loaded, no connection, no new file; before any pull, a message that says to build."""
    folder = tmp_path / "pulls"
    options = {**KEYED, "pull_dir": str(folder), "pull_now": False}
    before = probe_source(options, str(tmp_path / "cache"))
    assert (
        "Nothing has been pulled from sales yet" in before["error"]
        and "Run dbt build first" in before["error"]
    )
    assert not folder.exists()
    first = _pull(tmp_path)
    with sqlite3.connect(shop) as con:  # changed since: a pull would find this row
        con.execute(
            f"insert into sales values ({', '.join('?' * 10)})", _line(61, stamp="2011-02-01 00:00:00")
        )
    monkeypatch.setenv("CUSTSEG_SOURCE_URL", "postgresql://nobody@127.0.0.1:9/none")  # never connected
    answer = probe_source({**options, "loaded_pulls": first["files"]}, str(tmp_path / "cache"))
    assert answer["ok"], answer.get("error")
    assert answer["pull"]["pulled"] is False and answer["pull"]["rows"] == 0
    assert answer["source_files"] == first["files"] and sorted(folder.iterdir()) == [Path(first["new_file"])]
    assert answer["mapping"]["customer_id"] == "CustomerID"  # read from the last pull file


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"transactions_table": "a.b.c"}, "more than one '.'"),
        ({"transactions_table": "shop.sales"}, "a SQLite file has one schema, main"),
        (
            {"transactions_table": "orders"},
            "No table or view main.orders in the database; the schema main has: sales",
        ),
        ({"transactions_key_columns": []}, "transactions_updated_at_column needs transactions_key_columns"),
        ({"transactions_key_columns": "line_id, x"}, "names line_id, x, which sales does not have"),
        ({"transactions_key_columns": [3]}, "must be a list of column names"),
        (
            {"transactions_key_columns": ["Country"], "transactions_updated_at_column": ""},
            "The key Country repeats",
        ),
    ],
)
def test_settings_that_cannot_work_are_said(shop, tmp_path, options, said):
    with pytest.raises(SourceError, match=said.replace(".", r"\.").replace("(", r"\(")):
        _pull(tmp_path, **options)
    assert not list((tmp_path / "pulls").glob("*")) if (tmp_path / "pulls").exists() else True


def test_a_pull_that_fails_half_way_leaves_no_file(shop, tmp_path, monkeypatch):
    real = pulls._stream_to_parquet

    def half(reader, path, metadata):
        real(reader, path, metadata)  # the file is written, then the connection drops
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(pulls, "_stream_to_parquet", half)
    with pytest.raises(SourceError, match=r"dropped during the pull of sales.*nothing was loaded"):
        _pull(tmp_path)
    assert list((tmp_path / "pulls").glob("*")) == []


def test_the_url_is_never_shown(monkeypatch, tmp_path):
    monkeypatch.delenv("CUSTSEG_SOURCE_URL", raising=False)
    with pytest.raises(SourceError, match="the environment variable CUSTSEG_SOURCE_URL is not"):
        source_url()
    secret = "hunter2-very-secret"
    with pytest.raises(SourceError, match="the scheme 'mysql'") as caught:
        DatabaseURL(f"mysql://admin:{secret}@db.example/shop")
    assert secret not in str(caught.value) and "db.example" not in str(caught.value)
    url = DatabaseURL(f"postgresql://shopadmin:{secret}@db.example:5432/shop")
    scrubbed = url.scrub(
        f'password for user "shopadmin" ({secret}) at postgresql://shopadmin:{secret}@db.example:5432/shop'
    )
    assert secret not in scrubbed and "shopadmin" not in scrubbed
    with pytest.raises(SourceError, match="does not exist"):
        DatabaseURL(f"sqlite:///{tmp_path}/none.db").connect()
    assert not (tmp_path / "none.db").exists()  # read-only: never creates a database


def _published(path: Path, customers: list[tuple]) -> Path:
    """A warehouse with the marts the sync reads (a customer table's build: no value mart)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_customer_segments (customer_id varchar, cluster_id integer, segment_name varchar, "
            "as_of_date date)"
        )
        con.executemany(
            "insert into marts.dim_customer_segments values (?, ?, ?, date '2011-12-10')", customers
        )
        con.execute(
            "create table marts.fct_segment_profiles as select cluster_id, any_value(segment_name) as segment_name, "
            "'d' as description, 'a' as recommended_action, count(*) as customer_count, 0.5 as customer_share, "
            "0.5 as revenue_share from marts.dim_customer_segments group by cluster_id"
        )
    return path


def test_the_sync_upserts_by_key_removes_the_customers_gone_and_logs_its_counts(tmp_path):
    target = tmp_path / "audiences.db"
    env = {"CUSTSEG_SYNC_URL": f"sqlite:///{target}"}
    first = _published(
        tmp_path / "a.duckdb", [("c1", 0, "Champions"), ("c2", 1, "Lapsing"), ("c3", 1, "Lapsing")]
    )
    done = {d.table: d for d in sync(str(first), env=env)}
    assert (done["customer_segments"].inserted, done["customer_segments"].total) == (3, 3)
    second = _published(
        tmp_path / "b.duckdb", [("c1", 1, "Lapsing"), ("c2", 1, "Lapsing"), ("c4", 0, "Champions")]
    )
    done = {d.table: d for d in sync(str(second), run_id="week 2", env=env)}
    c = done["customer_segments"]
    assert (c.inserted, c.updated, c.removed, c.total) == (1, 1, 1, 3)
    with sqlite3.connect(target) as con:
        assert sorted(con.execute("select customer_id, cluster_id, segment_name, predicted_clv from customer_segments")) == [
            ("c1", 1, "Lapsing", None), ("c2", 1, "Lapsing", None), ("c4", 0, "Champions", None)]  # fmt: skip
        assert con.execute("select count(*) from sync_log where run_id = 'week 2'").fetchone() == (2,)
    again = sync(str(second), env=env)
    assert all(d.inserted == d.updated == d.removed == 0 for d in again)
    with pytest.raises(SyncError, match="not a plain name"):
        sync(str(second), 'x"; drop table y; --', env=env)
    with pytest.raises(SyncError, match="No published warehouse"):
        sync(str(tmp_path / "none.duckdb"), env=env)


def test_a_crafted_warehouse_is_refused_before_anything_reaches_the_target(tmp_path):
    """`custseg sync --db <file>` and an audience open the warehouse as every reader does
    (custseg.warehouse.open_warehouse): a mart view that reads a local file is refused, so the
    file's content never lands in the target."""
    from custseg.audiences import write_audience

    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    crafted = _published(tmp_path / "crafted.duckdb", [("c1", 0, "Champions")])
    with duckdb.connect(str(crafted)) as con:
        con.execute("alter table marts.dim_customer_segments rename to real_segments")
        con.execute(
            "create view marts.dim_customer_segments as select r.* replace ((select content from "
            f"read_text('{secret}')) as segment_name) from marts.real_segments as r"
        )
    target = tmp_path / "audiences.db"
    env = {"CUSTSEG_SYNC_URL": f"sqlite:///{target}"}
    with pytest.raises(SyncError, match="reads something outside the file"):
        sync(str(crafted), env=env)
    with pytest.raises(SyncError, match="reads something outside the file"):
        write_audience(str(crafted), "winback", ["c1"], env=env)
    assert not target.exists() or b"TOPSECRET" not in target.read_bytes()


def test_a_build_pulls_once_whatever_the_store_holds_when_a_model_asks_again(shop, tmp_path):
    """The pre-flight, the staging view and every later model ask the plugin the same question;
    the line store gains the pull's file half-way through the build, and the answer must not
    change (custseg.dbt_plugin.Checks.ASKED_ONCE)."""
    import json

    from custseg.dbt_plugin import Checks

    checks = Checks(str(tmp_path / "cache"))
    options = {**KEYED, "pull_dir": str(tmp_path / "pulls"), "loaded_pulls": []}
    first = json.loads(checks("probe_source", json.dumps(options)))
    later = json.loads(checks("probe_source", json.dumps({**options, "loaded_pulls": first["files"]})))
    assert first == later and first["pull"]["rows"] == 60
    assert len(list((tmp_path / "pulls").glob("pull-*.parquet"))) == 1


def test_a_sync_is_recorded_beside_the_warehouse_and_an_audience_is_replaced_whole(tmp_path):
    from custseg.audiences import write_audience
    from custseg.sync import last_sync

    target = tmp_path / "audiences.db"
    env = {"CUSTSEG_SYNC_URL": f"sqlite:///{target}"}
    served = _published(
        tmp_path / "a.duckdb", [(f"c{i}", i % 2, ["Champions", "Lapsing"][i % 2]) for i in range(20)]
    )
    assert last_sync(str(served)) is None
    sync(str(served), env=env)
    record = last_sync(str(served))
    assert record["ok"] and record["tables"][0] == {"table": "customer_segments", "inserted": 20, "updated": 0,
                                                     "removed": 0, "total": 20}  # fmt: skip
    with pytest.raises(SyncError):
        sync(str(served), "bad name", env=env)
    assert not last_sync(str(served))["ok"] and "not a plain name" in last_sync(str(served))["problem"]
    done = write_audience(str(served), "winback", [f"c{i}" for i in range(10)], 0.2, 3, env=env)
    assert (done.table, done.total, done.removed) == ("audience_winback", 10, 0)
    again = write_audience(str(served), "winback", ["c1", "c3"], env=env)
    assert (again.total, again.removed) == (2, 10)
    with sqlite3.connect(target) as con:
        assert sorted(con.execute("select customer_id, is_control from audience_winback")) == [
            ("c1", 0),
            ("c3", 0),
        ]


def test_a_store_loaded_from_files_is_not_read_as_pulls(shop, tmp_path):
    elsewhere = tmp_path / "sales.parquet"
    duckdb.sql(f"copy (select 1 as line_id) to '{elsewhere}' (format parquet)")
    with pytest.raises(SourceError, match="outside the pull folder"):
        _pull(tmp_path, [str(elsewhere)])
