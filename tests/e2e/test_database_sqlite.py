"""A SQLite file (the embedded default) as the source and the sync target (issue 42;
docs/database.md), on the session's demo lines (no public data needed): text dates and stamps,
the first pull equal to the file build of the same lines (conftest.demo_warehouse: the same
inputs and vars give the same tables, whatever the source), a week of new lines equal to the
file build of that batch (conftest.second_batch), a sync that fails after the publish (the
build is published, dbt exits non-zero, `custseg sync` repairs), and `dbt docs generate`, which
reads the last pull and never the database (every mart column described, the example
analyses compiled and run). Corrected lines (a key pulled again) are test_database's PostgreSQL
story; on SQLite in-process: tests/unit/test_pulls_and_sync.py."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg.cli import main as custseg
from helpers import DATABASE_VARS, FIRST_STAMP, SECOND_STAMP, WHERE_FROM, mart_differences, run_dbt

VARS = {"transactions_table": "sales", **DATABASE_VARS}


def _rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute(sql).fetchall()


def _published(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from marts.dim_customer_segments").fetchone()[0]


def _keyed(source: Path, first_line: int, stamp: str) -> pd.DataFrame:
    """A batch file's lines with the table's key (line_id, numbered in file order from
    ``first_line``) and change stamp."""
    frame = pd.read_parquet(source)
    frame.insert(0, "line_id", range(first_line, first_line + len(frame)))
    frame["updated_at"] = pd.Timestamp(stamp)
    return frame


@pytest.fixture(scope="module")
def sqlite_builds(demo_warehouse, second_batch, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite_source")
    shop, target = folder / "shop.db", folder / "audiences.db"
    week_1 = _keyed(demo_warehouse.source, 1, FIRST_STAMP)
    with sqlite3.connect(shop) as con:
        week_1.to_sql("sales", con, index=False)
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

    week_2 = _keyed(second_batch.source, len(week_1) + 1, SECOND_STAMP)
    with sqlite3.connect(shop) as con:
        week_2.to_sql("sales", con, index=False, if_exists="append")
    second = run_dbt(workdir, "build", vars=VARS, env=env)
    assert second.returncode == 0, second.output[-4000:]
    return {
        "first": first,
        "kept": kept,
        "second": second,
        "target": target,
        "weeks": (week_1, week_2),
        "env": env,
    }


@pytest.fixture(scope="module")
def documented(sqlite_builds):
    """`dbt docs generate` in the SQLite build's own folder (its warehouse and pull folder) after
    the table gained a line a build would pull: the pull files before and after, and the target
    folder (the manifest, the catalog, every node compiled, the example analyses included)."""
    second = sqlite_builds["second"]
    week_1, week_2 = sqlite_builds["weeks"]
    later = week_2.tail(1).assign(
        line_id=len(week_1) + len(week_2) + 1, updated_at=pd.Timestamp("2011-12-20")
    )
    with sqlite3.connect(sqlite_builds["target"].with_name("shop.db")) as con:
        later.to_sql("sales", con, index=False, if_exists="append")
    pulls = Path(f"{second.db_path}.pulls")
    before = sorted(pulls.iterdir())
    docs = run_dbt(second.db_path.parent, "docs", "generate", vars=VARS, env=sqlite_builds["env"])
    assert docs.returncode == 0, docs.output[-3000:]
    return {"target": second.db_path.parent / "target", "before": before, "after": sorted(pulls.iterdir())}


def test_a_failed_sync_leaves_the_build_published_and_exits_non_zero(sqlite_builds, demo_warehouse):
    first = sqlite_builds["first"]
    assert first.returncode != 0  # for the scheduler
    assert "Published, but not synced" in first.output and "exists with other columns" in first.output
    assert not first.failed  # every node succeeded: only the sync after the publish did not
    customers = demo_warehouse.scalar("select count(*) from marts.dim_customer_segments")
    assert _published(sqlite_builds["kept"]) == customers  # its publication, kept


def test_custseg_sync_repairs_a_failed_sync(sqlite_builds, monkeypatch, capsys, tmp_path):
    target = tmp_path / "again.db"
    monkeypatch.setenv("CUSTSEG_SYNC_URL", f"sqlite:///{target}")
    assert custseg(["sync", "--db", str(sqlite_builds["kept"])]) == 0
    assert "customer_segments:" in capsys.readouterr().out
    assert _rows(target, "select count(*) from customer_segments")[0][0] == _published(sqlite_builds["kept"])
    # run again: nothing to write (idempotent), and the log says so
    assert custseg(["sync", "--db", str(sqlite_builds["kept"])]) == 0
    assert _rows(target, "select rows_inserted, rows_updated, rows_removed from sync_log where run_id = "
                 "'custseg sync' order by rowid desc limit 1") == [(0, 0, 0)]  # fmt: skip


def test_a_sqlite_table_builds_as_the_file_of_its_rows(sqlite_builds, demo_warehouse):
    """The dates and stamps are text in SQLite: the pull reads them as the file's timestamps."""
    assert _rows(sqlite_builds["target"].with_name("shop.db"), "select typeof(InvoiceDate), typeof(updated_at) "
                 "from sales limit 1") == [("text", "text")]  # fmt: skip
    assert mart_differences(sqlite_builds["kept"], demo_warehouse.serving_path, also_skip=WHERE_FROM) == {}


def test_the_weekly_sqlite_pull_adds_the_new_lines_as_the_file_batch_does(sqlite_builds, second_batch):
    second = sqlite_builds["second"]
    week_1, week_2 = sqlite_builds["weeks"]
    assert second.query("select batch_id, raw_line_count from marts.fct_batches order by 1") == [
        (1, len(week_1)),
        (2, len(week_2)),
    ]
    assert f"Pulled {len(week_2)} row(s) from transactions_table" in second.output
    assert mart_differences(second.serving_path, second_batch.serving_path, also_skip=WHERE_FROM) == {}
    synced = _rows(
        sqlite_builds["target"], "select customer_id, cluster_id, segment_name from customer_segments"
    )
    assert sorted(synced) == sorted(
        second.query("select customer_id, cluster_id, segment_name from marts.dim_customer_segments")
    )


def test_docs_generate_reads_the_last_pull_and_never_the_database(documented):
    """Only dbt build and dbt run pull a database source: docs generate (as compile and show)
    compiles against the last pull the warehouse loaded, though the table has a new line."""
    assert documented["after"] == documented["before"] and len(documented["before"]) == 2
    manifest = json.loads((documented["target"] / "manifest.json").read_text())
    base = manifest["nodes"]["model.custseg.base_retail__transactions"]["compiled_code"]
    assert documented["before"][-1].name in base and documented["before"][0].name not in base


def test_docs_generate_and_every_mart_column_is_described(documented):
    target = documented["target"]
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    marts = [
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"
    ]
    assert len(marts) >= 15
    undocumented = []
    for node in marts:
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["description"].strip(), node["name"]
        described = {c: v["description"].strip() for c, v in node["columns"].items()}
        built = catalog["nodes"][node["unique_id"]]["columns"]
        undocumented += [f"{node['name']}.{c}" for c in built if not described.get(c.lower())]
    assert undocumented == []


def test_example_analyses_compile_and_run(documented, sqlite_builds):
    folder = documented["target"] / "compiled" / "custseg" / "analyses"
    files = sorted(folder.glob("*.sql"))
    assert {f.stem for f in files} >= {
        "segment_sizes_and_revenue",
        "top_customers_per_segment",
        "segment_by_country",
        "rfm_vs_ml_segments",
    }
    with duckdb.connect(str(sqlite_builds["second"].serving_path), read_only=True) as con:
        for file in files:
            assert con.execute(file.read_text()).fetchall(), file.name
