"""End-to-end hardening (issue 11): hostile vars and names stay data, bad settings and inputs stop
the build before anything runs, values no real line has are quarantined, silent wrong results are
gone, and an empty result says why."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import GLOB_NAMES, copy_build, run_dbt

pytestmark = pytest.mark.e2e

INJECTION = "x'); create table pwned as select 1; --"


def _all_tables(run) -> set[str]:
    if not run.db_path.exists():
        return set()
    return {
        f"{s}.{t}" for s, t in run.query("select table_schema, table_name from information_schema.tables")
    }


# how to read the files _customers_csv writes: hostile column names and a quoted date format
HOSTILE_READ_VARS = {
    "column_map": {
        "customer_id": 'Client "Ref"; --',
        "invoiced_at": "Order Time",
        "quantity": "Units",
        "line_amount": "Net Sales",
    },
    "date_format": "%d/%m/%Y %H:%M o'clock",
}


def _customers_csv(path, rows_per_customer=3, customers=12, date="05/01/2011 10:00 o'clock"):
    rows = []
    for c in range(customers):
        for i in range(rows_per_customer):
            rows.append(
                (f"c{c:02d}", date.replace("05/", f"{(c % 20) + 5:02d}/", 1), str(i + 1), str(10 * (i + 1)))
            )
    frame = pd.DataFrame(rows, columns=['Client "Ref"; --', "Order Time", "Units", "Net Sales"])
    frame.to_csv(path, index=False)
    return frame


def test_hostile_vars_are_refused_before_anything_runs(tmp_path):
    """Settings that would be SQL if pasted, and wrong ones: the settings check of the pre-flight
    (custseg.settings.check_settings, which the build runs before any node; a refused build:
    test_a_calibration_end_outside_the_data_stops_the_build_before_anything_runs) names every
    problem; the input path is data to the probe: it matches no file."""
    from custseg.inputs.transactions import probe_source
    from custseg.settings import check_settings

    bad_path = probe_source({"transactions_path": INJECTION}, cache_dir=str(tmp_path / "cache"))
    assert not bad_path["ok"] and bad_path["error"].startswith("No file matches 'x'); create table pwned")
    bad_settings = check_settings(
        {
            "as_of_date": "2011-01-01'; create table pwned as select 1; --",
            "date_format": "%d/%m/%Y'); create table pwned as select 1; --",
            "segmentation_algorithm": "dbscan",
            "k_min": 5,
            "k_max": 3,
            "transactions_format": "csv'; --",
        }
    )
    assert not bad_settings["ok"]
    assert bad_settings["error"].startswith("as_of_date must be a date written YYYY-MM-DD")
    assert (
        "segmentation_algorithm must be one of" in bad_settings["error"] and "k_min" in bad_settings["error"]
    )


def test_values_no_real_line_has_are_quarantined_and_silent_errors_are_gone(tmp_path):
    """No invoice ids, day-first text dates, quantity and amount but no price, a repeat purchase,
    a line dated years ahead, NaN / Infinity / 1e308, and the as_of_date example of docs/transactions.md, with
    the fixture unit tests run beside the user's vars."""
    rows = [
        ("a", "13/01/2011 10:00", "2", "20"),
        ("a", "13/01/2011 10:00", "2", "20"),  # the same purchase twice that day: kept twice
        ("a", "02/03/2011 10:00", "1", "5"),
        ("b", "01/02/2011 09:00", "4", "10"),
        ("b", "01/02/2031 09:00", "1", "10"),  # years ahead: implausible_date
        ("c", "20/02/2011 12:00", "NaN", "10"),
        ("c", "21/02/2011 12:00", "1", "Infinity"),
        ("c", "22/02/2011 12:00", "1", "1e308"),
        ("c", "23/02/2011 12:00", "3", "9"),
        ("d", "10/03/2011 12:00", "1", "7"),  # after as_of_date: ignored by the features
    ]
    path = tmp_path / "shop.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "qty", "amount"]).to_csv(path, index=False)
    run = run_dbt(
        tmp_path / "wh",
        "build",
        "--select",
        "fqn:*",  # everything, fixture unit tests included ...
        "--exclude",
        "path:python_models+",  # ... but four customers are too few to cluster
        vars={
            "transactions_path": str(path),
            "column_map": {"quantity": "qty", "line_amount": "amount", "invoiced_at": "date"},
            "as_of_date": "2011-03-05",
        },
    )
    assert run.returncode == 0, run.output[-4000:]
    # they ran, with the user's as_of_date set, and passed
    unit_tests = [
        n for n, status in run.events.statuses.items() if n.startswith("unit_test.") and status == "pass"
    ]
    assert len(unit_tests) >= 14 and run.failed == []
    assert "text dates read day_first" in run.output
    outcomes = dict(
        run.query("select outcome, row_count from marts.fct_ingestion_summary where row_count > 0")
    )
    assert outcomes == {"clean": 6, "out_of_range_value": 3, "implausible_date": 1}
    customers = {
        r[0]: r[1:]
        for r in run.query(
            "select customer_id, line_count, order_count, monetary_value, last_purchase_at::date, as_of_date "
            "from marts.dim_customers order by 1"
        )
    }
    assert set(customers) == {"a", "b", "c"}
    assert customers["a"][:3] == (3, 2, 45.0)  # both copies of the repeat purchase count
    assert str(customers["a"][3]) == "2011-03-02"  # 02/03 read day-first, as the file
    assert str(customers["b"][3]) == "2011-02-01" and customers["b"][2] == 10.0  # the 2031 line moved nothing
    assert all(str(c[4]) == "2011-03-05" for c in customers.values())
    assert run.scalar("select unit_price from marts.fct_transactions where customer_id = 'b'") == 2.5
    assert run.scalar("select sum(row_count) from marts.fct_ingestion_summary") == len(rows)


def test_no_clean_purchase_says_why():
    """The message the check of the ML input stops a build with when no customer has a clean
    purchase (macro check_segmentation_input, from the raw lines by outcome; a build stopped so:
    test_serving.test_failed_build_keeps_the_last_good_publication)."""
    from custseg.segmentation.readiness import check_segmentation_input

    result = check_segmentation_input({"customers": 0, "outcomes": {"clean": 0, "cancellation": 30}})
    assert not result["ok"]
    message = result["error"]
    assert message.startswith(
        "No customer has a clean purchase, so there is nothing to segment. Of 30 raw lines: 30 cancellation"
    )
    assert "only cancellations" in message and "Most lines are cancellation (30 of 30, 100%)" in message
    # where to look: the stopped build published nothing, so the working database, not the marts
    assert "nothing was published: every line and its reason are in the working database" in message
    # clean lines after the snapshot: the snapshot is named first
    late = check_segmentation_input({"customers": 0, "outcomes": {"clean": 12, "cancellation": 3}})["error"]
    assert "12 lines are clean purchases, but none falls before as_of_date" in late


def test_hostile_names_are_data_and_every_listed_file_is_read_once_by_its_literal_name(tmp_path):
    """A build folder, an input folder, file names, column names and a date format full of
    quotes, semicolons, comment markers and glob characters ([ ] * ? { } , and spaces), read with
    a glob: the build reads them as data, publishes and creates nothing else; each file's lines
    are counted once, under its own name; a file whose bytes repeat another's is listed in
    fct_skipped_files with the reason (a file already loaded: test_batches)."""
    workdir = tmp_path / 'it\'s; -- "dir"'
    folder = workdir / "in[put] {1}"
    folder.mkdir(parents=True)
    expected = {}
    for i, name in enumerate([*GLOB_NAMES, "O'Brien;-- x.csv"]):
        frame = _customers_csv(folder / name, rows_per_customer=i + 1, customers=12)
        frame[frame.columns[0]] = [f"{i}-{c}" for c in frame[frame.columns[0]]]  # customers of this file
        frame.to_csv(folder / name, index=False)
        expected[str(folder / name)] = len(frame)
    # the same bytes under a later name (in name order): read once, as sales1.csv
    (folder / "zz copy of sales1.csv").write_bytes((folder / "sales1.csv").read_bytes())
    run = run_dbt(
        workdir,
        "build",
        "--exclude",
        "path:python_models+",  # 12 customers a file are few to cluster: segmenting is tested elsewhere
        vars={"transactions_path": str(folder / "*.csv"), **HOSTILE_READ_VARS},
    )
    assert run.returncode == 0, run.output[-4000:]
    assert "Published the warehouse" in run.output and run.serving_path.exists()
    lines = dict(
        run.query("select source_file, count(*) from intermediate.int_transactions__classified group by all")
    )
    assert lines == expected
    # every file's customers, once: file i has 12 customers of its own
    assert run.scalar("select count(*) from marts.dim_customers") == 12 * len(expected)
    assert run.scalar("select count(*) from marts.fct_transaction_quarantine") == 0
    # day-first with the quote-bearing format: c00's lines are on 5 January 2011
    for first in run.query(
        "select first_purchase_at from marts.dim_customers where customer_id like '%-c00'"
    ):
        assert (first[0].year, first[0].month, first[0].day) == (2011, 1, 5)
    # price from amount / quantity (no price column mapped)
    assert {r[0] for r in run.query("select distinct unit_price from marts.fct_transactions")} == {10.0}
    assert not any("pwned" in t for t in _all_tables(run))
    # the ledger names every file (joined by "; ", which these names hold too)
    count, ledger = run.query("select source_file_count, source_files from marts.fct_batches")[0]
    assert count == len(expected) and ledger == "; ".join(sorted(expected))
    skipped = run.query(
        "select source_file, skip_reason, same_as_file, same_as_batch_id from marts.fct_skipped_files"
    )
    assert skipped == [
        (str(folder / "zz copy of sales1.csv"), "same_content_in_input", str(folder / "sales1.csv"), None)
    ]
    assert "(listed in marts.fct_skipped_files)" in run.output


def test_a_calibration_end_outside_the_data_stops_the_build_before_anything_runs(demo_warehouse, tmp_path):
    """clv_calibration_end after the last purchase used to pass the pre-flight and fail 19 s
    later as the last line of a traceback in the value step. A refused build of a warehouse
    that holds a batch: nothing runs and the warehouse is untouched."""
    import duckdb

    copy_build(demo_warehouse, tmp_path)

    def state() -> list:
        with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables order by all"
            )
            marts = con.execute("select count(*), sum(monetary_value) from marts.dim_customers")
            return [tables.fetchall(), marts.fetchall()]

    before = state()
    with duckdb.connect() as con:  # the input's first and last day, as the probe reads them
        first, last = con.execute(
            "select min(InvoiceDate)::date, max(InvoiceDate)::date from read_parquet(?)",
            [str(demo_warehouse.source)],
        ).fetchone()
    run = run_dbt(
        tmp_path,
        "build",
        vars={"transactions_path": str(demo_warehouse.source), "clv_calibration_end": "2012-06-01"},
    )
    assert run.returncode != 0
    assert (
        "Setting problem: clv_calibration_end 2012-06-01 is outside the data: the holdout starts the day after it"
        in run.output
    )
    assert f"The input's dates run from {first} to {last}" in run.output
    assert run.started == [] and "Not published" not in run.output
    assert state() == before
