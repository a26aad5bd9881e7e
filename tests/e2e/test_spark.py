"""`dbt build --target spark` (dbt-spark's local session through the custseg_spark adapter) on
the same demo file (text dates, day-first; double customer ids) as a DuckDB build: the same data
tests pass (and dbt's fixture unit tests), and the tables agree (counts, customer features within
1e-9, the same segment for every customer, on the Python models' and on the pure-SQL scorer's
side). In the same process, after it (one JVM: helpers.run_dbt_in_turn), a CSV is refused before
any model and a nanosecond-timestamp file is read as the next batch.

Spark's tables are Parquet files under CUSTSEG_SPARK_WAREHOUSE/tables/<schema>.db/<table>; the
test reads them with DuckDB, so no second Spark session is started.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg.demo_data import GeneratorConfig, write_transactions
from custseg.inputs.quoting import sql_string
from helpers import DbtRun, run_dbt, run_dbt_in_turn

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

DEMO = GeneratorConfig(rows=20_000, customers=400, seed=5)
# tables written by the build (views are not files); the registry's training time and the
# ledger's load time are when each build ran
SCHEMAS = ("intermediate", "segmentation", "marts")
RUN_TIME_COLUMNS = {"trained_at", "loaded_at", "run_id"}


def spark_missing() -> str:
    """Why Spark cannot run here ("" when it can)."""
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        return "pyspark / dbt-spark not installed (bash scripts/setup.sh --dev installs them)"
    java = shutil.which("java")
    if java is None:
        return "no Java: Spark needs Java 17+ (scripts/test.sh installs Debian's openjdk-17-jre-headless)"
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)', version)
    if not found or int(found.group(1)) < 17:
        return f"Spark 4 needs Java 17+, found: {version.splitlines()[0] if version else '?'}"
    return ""


# the nanosecond file's timestamps: 2011-01-01 10:00 (and some nanoseconds) + i days
STAMPS = [1_293_876_000_123_456_789 + i * 86_400_000_000_000 for i in range(30)]
# the models up to the line store, no data tests (the main Spark build runs those): the
# nanosecond build is about how the file is read
NANOSECOND_BUILD = ("build", "--target", "spark", "--select", "+int_transactions__classified",
                    "--exclude", "resource_type:test", "resource_type:unit_test")  # fmt: skip


def write_nanosecond_file(folder) -> str:
    """A Parquet file with nanosecond timestamps (pandas' default; Online Retail's own file), in a
    folder whose name holds glob characters."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "InvoiceNo": [str(500 + i) for i in range(30)],
            "CustomerID": [float(i % 12) for i in range(30)],
            "InvoiceDate": pa.array(STAMPS, pa.timestamp("ns")),
            "Quantity": [1 + i % 3 for i in range(30)],
            "UnitPrice": [2.5] * 30,
        }
    )
    path = folder / "in [ns] {1}" / "sales[1].parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    assert pq.read_schema(path).field("InvoiceDate").type == pa.timestamp("ns")
    return str(path)


@dataclass
class Builds:
    duck: DbtRun
    spark: DbtRun
    spark_dir: Path
    refused_csv: DbtRun  # test_a_csv_on_spark_stops_...
    nanoseconds: DbtRun  # test_nanosecond_timestamps_read_on_spark


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Builds:
    """The DuckDB build, then in one process (one JVM, helpers.run_dbt_in_turn) the Spark build,
    a refused CSV on Spark (it writes nothing), and, once the Spark build's tables are copied
    aside (to spark_dir/built, what the comparisons read), a nanosecond file's build: it writes
    into the same session's warehouse, as the next batch."""
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    # a quote in the path: it reaches Spark SQL as a path identifier and as string literals; three
    # files in one batch: its fingerprint hashes their sorted fingerprints on both engines
    folder = tmp_path_factory.mktemp("spark-demo") / "O'Brien's files"
    folder.mkdir()
    raw = folder.with_name("generated.parquet")
    write_transactions(raw, DEMO)
    # dates as day-first text (strptime on DuckDB, a Java pattern on Spark); ids stay doubles
    with duckdb.connect() as con:  # its own connection: the module's default one is shared
        for part in range(3):
            demo = folder / f"transactions part {part + 1}.parquet"
            con.execute(
                f"copy (select * exclude (n) replace (strftime(InvoiceDate, '%d/%m/%Y %H:%M') as InvoiceDate) "
                f"from (select *, row_number() over () as n from read_parquet({sql_string(str(raw))})) "
                f"where n % 3 = {part} order by n) to {sql_string(str(demo))} (format parquet)"
            )
    raw.unlink()
    vars = {"transactions_path": str(folder / "*.parquet")}
    duck = run_dbt(tmp_path_factory.mktemp("duckdb"), "build", vars=vars)
    assert duck.returncode == 0, duck.output[-4000:]
    spark_dir = tmp_path_factory.mktemp("spark")
    others = tmp_path_factory.mktemp("spark-inputs")
    csv = others / "sales.csv"
    csv.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,7,2024-01-02,1,2.5\n")
    nanosecond_file = write_nanosecond_file(others)
    # dbt's fixture unit tests run on Spark too (a user's build leaves them out), but those of the
    # DuckDB-only incremental path (tag duckdb_only): Spark rebuilds those tables as tables
    spark, refused = run_dbt_in_turn(
        (spark_dir, ("build", "--target", "spark", "--selector", "with_portable_unit_tests"), vars),
        (others / "csv", ("build", "--target", "spark"), {"transactions_path": str(csv)}),
        stay=True,
    )
    try:
        shutil.copytree(spark_dir / "spark" / "tables", spark_dir / "built")
    finally:  # the process ends with this command
        [nanoseconds] = run_dbt_in_turn(
            (others / "nanoseconds", NANOSECOND_BUILD, {"transactions_path": nanosecond_file})
        )
    assert spark.returncode == 0, spark.output[-6000:]
    return Builds(duck, spark, spark_dir, refused, nanoseconds)


def _results(workdir) -> dict[str, str]:
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results}


def _spark_tables(spark_dir) -> dict[str, str]:
    """schema.table -> a Parquet glob, for every table the Spark build wrote (as it left them)."""
    root = spark_dir / "built"
    return {
        f"{schema}.{table.name}": str(table / "*.parquet")
        for schema in SCHEMAS
        for table in sorted((root / f"{schema}.db").iterdir())
        if table.is_dir()
    }


@pytest.fixture(scope="module")
def con(builds):
    duck, spark_dir = builds.duck, builds.spark_dir
    con = duckdb.connect()
    con.execute(f"attach '{duck.db_path}' as duck (read_only)")
    for name, glob in _spark_tables(spark_dir).items():
        schema, table = name.split(".")
        con.execute(f"create schema if not exists spark_{schema}")
        con.execute(f"create view spark_{schema}.{table} as select * from read_parquet('{glob}')")
    yield con
    con.close()


def test_the_adapter_is_dbt_spark_with_a_driver_side_python_runner():
    pytest.importorskip("dbt.adapters.spark")
    from dbt.adapters.factory import FACTORY

    FACTORY.load_plugin("custseg_spark")
    # macros dispatch custseg_spark__, then spark__ (dbt-spark's), then default__
    assert FACTORY.get_adapter_type_names("custseg_spark") == ["custseg_spark", "spark"]
    assert FACTORY.get_adapter_package_names("custseg_spark")[:2] == ["dbt_custseg_spark", "dbt_spark"]
    adapter = FACTORY.plugins["custseg_spark"].adapter
    assert adapter.type() == "custseg_spark"
    helpers = adapter.python_submission_helpers.fget(adapter.__new__(adapter))
    assert {"session", "all_purpose_cluster"} <= set(helpers)


def test_a_csv_on_spark_stops_before_any_model_saying_how_to_convert_it(builds):
    run = builds.refused_csv
    assert run.returncode != 0
    assert "on Spark the transactions are read as Parquet" in run.output
    assert "COPY (FROM read_csv(" in run.output
    assert run.started == []  # no node started


def test_nanosecond_timestamps_read_on_spark(builds):
    """A Parquet file with nanosecond timestamps, in a folder whose name holds glob characters:
    Spark used to refuse it (PARQUET_TYPE_ILLEGAL); it reads it, each timestamp to the
    microsecond as DuckDB does. It is the session warehouse's second batch (its first, the Spark
    build's): appended to the line store (a second batch once failed there, Spark's
    row_number() an int and its count(*) a bigint in copy_number)."""
    run = builds.nanoseconds
    assert run.returncode == 0, run.output[-4000:]
    # the session's warehouse: the Spark build's (helpers.run_dbt_in_turn)
    store = builds.spark_dir / "spark" / "tables" / "intermediate.db" / "int_transactions__classified"
    lines = f"read_parquet('{store / '*.parquet'}')"
    with duckdb.connect() as con:
        batches = con.execute(f"select batch_id, count(*) from {lines} group by 1 order by 1").fetchall()
        got = [
            r[0]
            for r in con.execute(
                f"select invoiced_at from {lines} where batch_id = {batches[-1][0]} order by 1"
            ).fetchall()
        ]
    assert [n for _, n in batches] == [DEMO.rows, len(STAMPS)]
    expected = [pd.Timestamp(ns // 1000, unit="us").to_pydatetime() for ns in STAMPS]
    assert got == expected


def test_spark_build_passes_the_same_data_tests(builds):
    duck, spark_dir = builds.duck, builds.spark_dir
    duck_results, spark_results = _results(duck.db_path.parent), _results(spark_dir)
    duck_tests = {k for k, v in duck_results.items() if k.startswith("test.") and v == "pass"}
    spark_tests = {k for k, v in spark_results.items() if k.startswith("test.") and v == "pass"}
    assert len(duck_tests) > 100
    assert spark_tests == duck_tests
    assert {k for k in spark_results if k.startswith("model.")} == {
        k for k in duck_results if k.startswith("model.")
    }


def test_the_sql_unit_tests_pass_on_spark(builds):
    spark_dir = builds.spark_dir
    manifest = json.loads((spark_dir / "target" / "manifest.json").read_text())
    duckdb_only = {k for k, v in manifest["unit_tests"].items() if "duckdb_only" in v["config"]["tags"]}
    # only the incremental path's tests are DuckDB's alone: it is what Spark never runs
    assert duckdb_only and all(
        manifest["unit_tests"][k]["overrides"]["macros"]["is_incremental"] for k in duckdb_only
    )
    unit_tests = set(manifest["unit_tests"]) - duckdb_only
    assert len(unit_tests) >= 5
    assert {
        k for k, v in _results(spark_dir).items() if k.startswith("unit_test.") and v == "pass"
    } == unit_tests


def test_every_table_has_the_same_rows_and_columns(builds, con):
    spark_dir = builds.spark_dir
    tables = _spark_tables(spark_dir)
    assert {
        "marts.dim_customers",
        "marts.dim_customer_segments",
        "marts.fct_sql_centroid_scores",
        "segmentation.ml_model_registry",
        "intermediate.int_transactions__classified",
    } <= set(tables)
    for name in tables:
        schema, table = name.split(".")
        duck_columns = [r[0] for r in con.execute(f"describe duck.{schema}.{table}").fetchall()]
        spark_columns = [r[0] for r in con.execute(f"describe spark_{schema}.{table}").fetchall()]
        assert spark_columns == duck_columns, name
        counts = con.execute(
            f"select (select count(*) from duck.{schema}.{table}), (select count(*) from spark_{schema}.{table})"
        ).fetchone()
        assert counts[0] == counts[1], f"{name}: DuckDB {counts[0]} rows, Spark {counts[1]}"


def _differences(con, schema: str, table: str, key: str) -> list[str]:
    """Columns of a table whose values differ between the engines for some key: numbers beyond
    1e-9 (relative to max(1, |value|)), anything else when not equal."""
    described = con.execute(f"describe duck.{schema}.{table}").fetchall()
    problems = []
    for column, kind, *_ in described:
        if column == key or column in RUN_TIME_COLUMNS or kind == "BLOB":
            continue
        a, b = f'd."{column}"', f's."{column}"'
        if kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
            differs = (
                f"abs(cast({a} as double) - cast({b} as double)) "
                f"> 1e-9 * greatest(1, abs(cast({a} as double)))"
            )
        else:
            differs = f"cast({a} as varchar) <> cast({b} as varchar)"
        count = con.execute(
            f"select count(*) from duck.{schema}.{table} d join spark_{schema}.{table} s using ({key}) "
            f"where {differs} or ({a} is null) <> ({b} is null)"
        ).fetchone()[0]
        if count:
            problems.append(f"{column}: {count} rows")
    return problems


def test_a_batch_of_several_files_has_the_same_fingerprint_on_both_engines(builds, con):
    """Spark's listagg ignores an order by (dbt warned twice): the batch's fingerprint, a hash of
    its files' fingerprints, came out in whatever order Spark collected them."""
    spark = builds.spark
    assert con.execute("select source_file_count from duck.marts.fct_batches").fetchall() == [(3,)]
    assert _differences(con, "marts", "fct_batches", "batch_id") == []
    assert "order_by_clause is not supported" not in spark.output


def test_customer_features_agree_within_1e_9(con):
    assert con.execute("select count(*) from duck.marts.dim_customers").fetchone()[0] > 300
    assert _differences(con, "marts", "dim_customers", "customer_id") == []
    assert _differences(con, "intermediate", "int_customers__features", "customer_id") == []


def test_every_customer_gets_the_same_segment(con):
    assert _differences(con, "marts", "dim_customer_segments", "customer_id") == []
    # the pure-SQL scorer, run by Spark over every customer, agrees with DuckDB's Python assignment
    mismatched = con.execute(
        "select count(*) from duck.marts.dim_customer_segments d "
        "full join spark_marts.fct_sql_centroid_scores s using (customer_id) "
        "where s.cluster_id is distinct from d.cluster_id"
    ).fetchone()[0]
    assert mismatched == 0
    assert _differences(con, "marts", "fct_segment_profiles", "cluster_id") == []
