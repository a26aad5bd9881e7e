"""Serving: the published read-only database, readers during builds, failed builds, BI access,
the descriptions BI users see and exports. `dbt docs generate` (every mart column described, the
example analyses compiled and run) is test_database_sqlite's, on a database source, which it must
not pull."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg.dashboard import queries
from helpers import REPO, SHARED_DEMO, copy_build, run_dbt, serving_path

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(demo_warehouse):
    """The session's demo warehouse (conftest), published."""
    assert "Published the warehouse" in demo_warehouse.output
    return demo_warehouse


def test_readers_keep_answering_while_dbt_builds_and_then_see_new_data(demo_warehouse, second_batch):
    """A reader held open on the publication, and the dashboard's overview queries in one page
    run after another (each run opens the publication afresh, as the app does), while the second
    batch builds (conftest.second_batch): every read answers; the held connection keeps reading
    the file it opened, the dashboard sees the old publication until the new one is swapped in,
    then the new one."""
    assert "Could not set lock" not in second_batch.output
    # built on a warehouse whose segment_names seed had the columns of a release before: reloaded
    columns = [row[0] for row in second_batch.query("describe seeds.segment_names")]
    assert "rule_order" in columns and "recency_score" not in columns
    # a user's plain `dbt build` (the default selector user_build) leaves the fixture unit tests out
    assert second_batch.started and not [n for n in second_batch.started if n.startswith("unit_test.")]
    before = demo_warehouse.scalar("select count(*) from marts.dim_customers")
    after = second_batch.scalar("select count(*) from marts.dim_customers")
    assert after > before
    span = (second_batch.build_started, second_batch.build_finished)
    during = {}
    for mode, log in second_batch.reader_logs.items():
        lines = [line.split() for line in log.read_text().splitlines()]
        assert all(line[0] == "ok" for line in lines), (mode, [line for line in lines if line[0] != "ok"][:3])
        during[mode] = [int(line[1]) for line in lines if span[0] <= float(line[-1]) <= span[1]]
        assert len(during[mode]) > 20, mode  # it kept answering through the whole build
    assert set(during["held"]) == {before}  # the held connection: the file it opened
    assert set(during["dashboard"]) <= {before, after}  # the dashboard: old, then new
    assert queries.overview(second_batch.serving_path)["customers"] == after  # and then the new one
    fresh = duckdb.connect(str(second_batch.serving_path), read_only=True)
    assert fresh.execute("select count(*) from marts.dim_customers").fetchone()[0] == after
    fresh.close()


def test_failed_build_keeps_the_last_good_publication(demo_warehouse, tmp_path):
    """A new batch and a snapshot before every purchase: the build stops at the check of the ML
    input, before any Python model, with the project's message (custseg.segmentation.readiness);
    the working database is partly rebuilt but the served copy is the last good one."""
    workdir = tmp_path / "wh"
    served = serving_path(copy_build(demo_warehouse, workdir, publication=True))
    before = pd.read_parquet(_export(served, tmp_path / "before"))
    tiny = tmp_path / "tiny.csv"
    pd.DataFrame(
        {
            "CustomerID": ["1", "2", "3"],
            "InvoiceDate": ["2011-01-01"] * 3,
            "Quantity": [1, 2, 3],
            "UnitPrice": [1.0] * 3,
        }
    ).to_csv(tiny, index=False)
    bad = run_dbt(workdir, "build", vars={"transactions_path": str(tiny), "as_of_date": "1995-01-01"})
    assert bad.returncode != 0
    assert "Segmentation input problem: No customer has a clean purchase" in bad.output
    assert "none falls before as_of_date" in bad.output
    # where to look: the stopped build published nothing, so the working database, not the marts
    assert "nothing was published: every line and its reason are in the working database" in bad.output
    assert "Not published" in bad.output
    assert "Traceback" not in bad.output and "Python model" not in bad.output
    # the working database was partly rebuilt (the batch loaded, no customer before 1995) ...
    assert bad.scalar("select count(*) from marts.fct_batches") == 2
    assert bad.scalar("select count(*) from marts.dim_customers") == 0
    # ... but the served copy is the last good one, intact and readable
    after = pd.read_parquet(_export(served, tmp_path / "after"))
    pd.testing.assert_frame_equal(before, after)
    assert len(after) == SHARED_DEMO.customers
    assert not Path(str(served) + ".publishing").exists()


def _export(db: Path, out: Path) -> Path:
    cli = str(Path(sys.executable).with_name("custseg"))
    done = subprocess.run(
        [cli, "export", "--db", str(db), "--out", str(out), "--formats", "parquet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return out / "customer_segments.parquet"


def test_sqlalchemy_duckdb_engine_reads_segments(served):
    from sqlalchemy import create_engine, text

    # the URL form docs/serving.md gives for BI tools
    engine = create_engine(f"duckdb:///{served.serving_path}?access_mode=read_only")
    with engine.connect() as conn:
        rows = conn.execute(
            text("select segment_name, count(*) from marts.dim_customer_segments group by 1 order by 1")
        ).fetchall()
    engine.dispose()
    assert sum(n for _, n in rows) == SHARED_DEMO.customers
    assert len(rows) == served.scalar("select count(*) from marts.fct_segment_profiles")


def test_export_writes_csv_and_parquet(served, tmp_path):
    cli = str(Path(sys.executable).with_name("custseg"))
    done = subprocess.run(
        [cli, "export", "--db", str(served.serving_path), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["written"]) == 4
    csv = pd.read_csv(tmp_path / "customer_segments.csv", dtype={"customer_id": str})
    parquet = pd.read_parquet(tmp_path / "customer_segments.parquet")
    assert len(csv) == len(parquet) == SHARED_DEMO.customers
    assert list(csv.columns) == list(parquet.columns)
    assert {"customer_id", "segment_name", "confidence", "rfm_segment"} <= set(csv.columns)
    profiles = pd.read_csv(tmp_path / "segment_profiles.csv")
    assert profiles["customer_count"].sum() == served.scalar(
        "select count(*) from marts.dim_customer_segments"
    )


def test_descriptions_are_persisted_for_bi_users(served):
    """Every mart table and column has its description as a comment, and every model's comments
    are its YAML's descriptions, word for word: contracted marts and the rest (views, tables,
    the ML layer's; macros/serving/persist_docs.sql writes both kinds)."""
    con = duckdb.connect(str(served.serving_path), read_only=True)
    missing = con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'marts' "
        "and (comment is null or comment = '')"
    ).fetchall()
    tables = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' and (comment is null or comment = '')"
    ).fetchone()[0]
    relations = dict(
        ((schema, name), comment)
        for schema, name, comment in con.execute(
            "select schema_name, table_name, comment from duckdb_tables() union all "
            "select schema_name, view_name, comment from duckdb_views() where not internal"
        ).fetchall()
    )
    columns = {
        (schema, table, column): comment
        for schema, table, column, comment in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns()"
        ).fetchall()
    }
    con.close()
    assert missing == [] and tables == 0
    manifest = json.loads((served.db_path.parent / "target" / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["description"]]
    contracted = {n["config"]["contract"]["enforced"] for n in models}
    assert contracted == {True, False}  # both ways of finding a model's columns
    for node in models:
        relation = (node["schema"], node["alias"])
        assert relations[relation] == node["description"], relation
        for name, column in node["columns"].items():
            assert columns[(*relation, name)] == column["description"], (relation, name)


def test_exposures_declare_the_consumers(served):
    manifest = json.loads((served.db_path.parent / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"bi_segment_reporting", "segmentation_dashboard", "segment_exports", "scoring_cli"} <= set(
        exposures
    )
    assert "model.custseg.dim_customer_segments" in exposures["bi_segment_reporting"]["depends_on"]["nodes"]


def test_the_connection_examples_use_the_serving_database():
    assert ".venv/bin/custseg sql" in (REPO / "README.md").read_text()  # read-only, the locked reader
    serving = (REPO / "docs" / "serving.md").read_text()
    for snippet in [
        "duckdb -readonly warehouse/custseg.duckdb",
        "duckdb:///warehouse/custseg.duckdb",
        "DBeaver",
    ]:
        assert snippet in serving


WRITER = """
import sys, time, duckdb
path, ready, stop = sys.argv[1:4]
con = duckdb.connect(path)  # read-write: the mistake the publish step must not hide
con.execute("create table main.my_notes as select 'keep me' as note")
open(ready, "w").write("ready")
import os
while not os.path.exists(stop):
    time.sleep(0.1)
con.close()
"""


def test_publish_never_drops_what_a_read_write_connection_wrote(served, tmp_path):
    """A read-write connection on the serving copy: while it is open (a build's publish step,
    dbt's own message), and after it wrote and closed (the publish itself, in-process), the
    publish refuses loudly and the file keeps its writes; once it is moved away, the next publish
    writes a read-only file."""
    import os
    import stat

    from custseg.publish import PublishError, publish_file

    assert stat.S_IMODE(served.serving_path.stat().st_mode) == 0o444  # what the build publishes
    workdir = copy_build(served, tmp_path / "wh").parent
    working = workdir / served.db_path.name
    served_copy = workdir / "serving" / served.db_path.name
    publish_file(str(working), str(served_copy))  # published, with its stamp, as a build does
    assert stat.S_IMODE(served_copy.stat().st_mode) == 0o444
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(served_copy), str(ready), str(stop)])
    try:
        deadline = time.time() + 30
        while not ready.exists() and time.time() < deadline:
            time.sleep(0.1)
        held = run_dbt(
            workdir,
            "run",
            "--select",
            "fct_ingestion_summary",
            vars={"transactions_path": str(served.source)},
        )
    finally:
        stop.write_text("stop")
        writer.wait(timeout=60)
    assert held.returncode != 0
    assert "Not published" in held.output and "is open read-write by another process" in held.output
    # the writer has closed; what it wrote is in the file, and the publish still refuses
    with pytest.raises(PublishError, match="was changed after it was published") as changed:
        publish_file(str(working), str(served_copy))
    assert "read_only=True" in str(changed.value)
    con = duckdb.connect(str(served_copy), read_only=True)
    assert con.execute("select note from main.my_notes").fetchone() == ("keep me",)
    con.close()
    # moved away: the next publish writes a read-only file
    os.rename(served_copy, tmp_path / "my_notes.duckdb")
    publish_file(str(working), str(served_copy))
    assert stat.S_IMODE(served_copy.stat().st_mode) == 0o444
    with duckdb.connect(str(served_copy), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == SHARED_DEMO.customers


def test_a_workspace_keeps_every_file_of_a_build_in_its_folder(tmp_path, monkeypatch):
    # one definition for the CLI's scoring build, the dashboard's upload, the tests and the
    # benchmarks: nothing of such a build lands in the checkout's warehouse/ or target/
    from custseg.workspace import dbt_executable, workspace_env

    monkeypatch.setenv("CUSTSEG_DB_PATH", "warehouse/build/custseg.duckdb")
    env = workspace_env(tmp_path, "features.duckdb", CUSTSEG_MODEL_KEY_PATH=tmp_path / "key")
    paths = ("CUSTSEG_DB_PATH", "CUSTSEG_SERVING_PATH", "CUSTSEG_TEMP_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH")
    assert all(Path(env[name]).is_relative_to(tmp_path) for name in (*paths, "CUSTSEG_MODEL_KEY_PATH"))
    assert env["CUSTSEG_SERVING_PATH"] == str(tmp_path / "serving" / "features.duckdb")
    assert Path(dbt_executable()).name == "dbt"
