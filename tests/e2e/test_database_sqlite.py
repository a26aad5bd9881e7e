"""A SQLite file (the embedded default) as the source and the sync target (issue 42;
docs/database.md): the same weekly story as test_database's PostgreSQL one, and a sync that
fails after the publish (the build is published, dbt exits non-zero, `custseg sync` repairs)."""

from __future__ import annotations

import shutil
import sqlite3

import duckdb
import pytest

from custseg.cli import main as custseg
from helpers import (
    CORRECTED,
    DATABASE_VARS,
    SECOND_STAMP,
    WHERE_FROM,
    assert_the_weekly_build_equals_the_file,
    mart_differences,
    run_dbt,
    sales_corrections,
    sales_december,
    sales_to_november,
)

VARS = {"transactions_table": "sales", **DATABASE_VARS}


def _rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def sqlite_builds(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite_source")
    shop, target = folder / "shop.db", folder / "audiences.db"
    with sqlite3.connect(shop) as con:
        sales_to_november(shared_data).to_sql("sales", con, index=False)
    # the target holds a customer_segments table of its own: the first sync must refuse it
    with sqlite3.connect(target) as con:
        con.execute("create table customer_segments (customer_id text, score real)")
    workdir = tmp_path_factory.mktemp("sqlite_build")
    env = {"CUSTSEG_SOURCE_URL": f"sqlite:///{shop}", "CUSTSEG_SYNC_URL": f"sqlite:///{target}"}
    first = run_dbt(workdir, "build", vars=VARS, env=env)
    kept = tmp_path_factory.mktemp("sqlite_first") / "wh.duckdb"
    shutil.copyfile(first.serving_path, kept)
    with sqlite3.connect(target) as con:  # the owner clears the way: the next build syncs
        con.execute("drop table customer_segments")

    with sqlite3.connect(shop) as con:
        sales_december(shared_data).to_sql("sales", con, index=False, if_exists="append")
        stamp = SECOND_STAMP[:-2] + "01"  # a second after December's lines
        con.executemany(
            "update sales set Quantity = ?, updated_at = ? where line_id = ?",
            [(int(q), stamp, int(i)) for i, q in sales_corrections(shared_data).itertuples(index=False)],
        )
    second = run_dbt(workdir, "build", vars=VARS, env=env)
    assert second.returncode == 0, second.output[-4000:]
    return {"first": first, "kept": kept, "second": second, "target": target}


def test_a_failed_sync_leaves_the_build_published_and_exits_non_zero(sqlite_builds, monkeypatch):
    first = sqlite_builds["first"]
    assert first.returncode != 0  # for the scheduler
    assert "Published, but not synced" in first.output and "exists with other columns" in first.output
    with duckdb.connect(str(sqlite_builds["kept"]), read_only=True) as con:  # its publication, kept
        assert con.execute("select count(*) from marts.dim_customer_segments").fetchone()[0] > 4000
    assert not first.failed  # every node succeeded: only the sync after the publish did not


def test_custseg_sync_repairs_a_failed_sync(sqlite_builds, monkeypatch, capsys, tmp_path):
    target = tmp_path / "again.db"
    monkeypatch.setenv("CUSTSEG_SYNC_URL", f"sqlite:///{target}")
    assert custseg(["sync", "--db", str(sqlite_builds["kept"])]) == 0
    assert "customer_segments:" in capsys.readouterr().out
    with duckdb.connect(str(sqlite_builds["kept"]), read_only=True) as con:  # the first build's publication
        published = con.execute("select count(*) from marts.dim_customer_segments").fetchone()[0]
    assert _rows(target, "select count(*) from customer_segments")[0][0] == published
    # run again: nothing to write (idempotent), and the log says so
    assert custseg(["sync", "--db", str(sqlite_builds["kept"])]) == 0
    assert _rows(target, "select rows_inserted, rows_updated, rows_removed from sync_log where run_id = "
                 "'custseg sync' order by rowid desc limit 1") == [(0, 0, 0)]  # fmt: skip


def test_a_sqlite_table_builds_as_the_file_of_its_rows(sqlite_builds, online_retail_to_november):
    assert (
        mart_differences(sqlite_builds["kept"], online_retail_to_november.serving_path, also_skip=WHERE_FROM)
        == {}
    )


def test_the_weekly_sqlite_pull_replaces_the_corrected_lines(sqlite_builds, online_retail):
    second = sqlite_builds["second"]
    assert f"{CORRECTED} replace rows already loaded" in second.output
    assert_the_weekly_build_equals_the_file(second, online_retail)
    synced = _rows(
        sqlite_builds["target"], "select customer_id, cluster_id, segment_name from customer_segments"
    )
    assert sorted(synced) == sorted(
        second.query("select customer_id, cluster_id, segment_name from marts.dim_customer_segments")
    )
