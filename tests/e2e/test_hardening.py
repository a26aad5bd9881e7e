"""End-to-end hardening (issue 11): hostile vars and names stay data, bad settings and inputs stop
the build before anything runs, values no real line has are quarantined, silent wrong results are
gone, and an empty result says why."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import GLOB_NAMES, run_dbt

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


def test_quotes_semicolons_and_comments_in_every_name_build(tmp_path):
    """A folder, file, column names and a date format full of quotes, semicolons and comment
    markers: the build reads them as data, publishes, and creates nothing else."""
    workdir = tmp_path / 'it\'s; -- "dir"'
    workdir.mkdir()
    path = workdir / "O'Brien; --.csv"
    _customers_csv(path)
    run = run_dbt(
        workdir,
        "build",
        "--exclude",
        "path:python_models+",
        vars={
            "transactions_path": str(path),
            **HOSTILE_READ_VARS,
        },
    )
    assert run.returncode == 0, run.output[-4000:]
    assert "Published the warehouse" in run.output and run.serving_path.exists()
    assert run.scalar("select count(*) from marts.dim_customers") == 12
    assert run.scalar("select count(*) from marts.fct_transaction_quarantine") == 0
    # day-first with the quote-bearing format: c00's lines are on 5 January 2011
    first = run.scalar("select first_purchase_at from marts.dim_customers where customer_id = 'c00'")
    assert (first.year, first.month, first.day) == (2011, 1, 5)
    # price from amount / quantity (no price column mapped)
    assert {r[0] for r in run.query("select distinct unit_price from marts.fct_transactions")} == {10.0}
    assert not any("pwned" in t for t in _all_tables(run))


def test_hostile_vars_stop_the_build_before_anything_runs(tmp_path):
    bad_path = run_dbt(tmp_path / "a", "build", vars={"transactions_path": INJECTION})
    assert bad_path.returncode != 0
    assert "Transactions input problem: No file matches 'x'); create table pwned" in bad_path.output
    bad_settings = run_dbt(
        tmp_path / "b",
        "build",
        vars={
            "as_of_date": "2011-01-01'; create table pwned as select 1; --",
            "date_format": "%d/%m/%Y'); create table pwned as select 1; --",
            "segmentation_algorithm": "dbscan",
            "k_min": 5,
            "k_max": 3,
            "transactions_format": "csv'; --",
        },
    )
    assert bad_settings.returncode != 0
    assert "Setting problem: as_of_date must be a date written YYYY-MM-DD" in bad_settings.output
    assert "segmentation_algorithm must be one of" in bad_settings.output and "k_min" in bad_settings.output
    for run in (bad_path, bad_settings):
        # nothing ran: not even the seeds, and no table of the attacker's
        assert _all_tables(run) == set(), _all_tables(run)
        assert run.started == [] and "Not published" not in run.output


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


def test_no_clean_purchase_says_why(tmp_path):
    rows = [(f"C{i}", str(100 + i), "2011-01-0" + str(1 + i % 9), "-1", "2.5") for i in range(30)]
    path = tmp_path / "returns.csv"
    pd.DataFrame(rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"]).to_csv(
        path, index=False
    )
    run = run_dbt(tmp_path / "wh", "build", vars={"transactions_path": str(path)})
    assert run.returncode != 0
    assert (
        "No customer has a clean purchase, so there is nothing to segment. Of 30 raw lines: 30 cancellation"
        in run.output
    )
    assert "only cancellations" in run.output
    # where to look: the stopped build published nothing, so the working database, not the marts
    assert "nothing was published: every line and its reason are in the working database" in run.output
    assert "Not published" in run.output
    # the project's own message from the ML input's check, before any Python model ran
    assert "Segmentation input problem: No customer has a clean purchase" in run.output
    assert "Most lines are cancellation (30 of 30, 100%)" in run.output
    assert "Traceback" not in run.output and "Python model" not in run.output


def test_every_listed_file_is_read_once_by_its_literal_name_and_skips_are_a_table(tmp_path):
    """A folder (itself named with brackets) of files named with [ ] * ? { } , and spaces, read
    with a glob: each file's lines are counted once, under its own name, and a file whose bytes
    repeat another's is listed in fct_skipped_files with the reason."""
    folder = tmp_path / "in[put] {1}"
    folder.mkdir()
    expected = {}
    for i, name in enumerate(GLOB_NAMES):
        frame = _customers_csv(folder / name, rows_per_customer=i + 1, customers=12)
        frame[frame.columns[0]] = [f"{i}-{c}" for c in frame[frame.columns[0]]]  # customers of this file
        frame.to_csv(folder / name, index=False)
        expected[str(folder / name)] = len(frame)
    # the same bytes under a later name (in name order): read once, as sales1.csv
    (folder / "zz copy of sales1.csv").write_bytes((folder / "sales1.csv").read_bytes())
    run = run_dbt(
        tmp_path,
        "build",
        "--exclude",
        "path:python_models+",
        vars={
            "transactions_path": str(folder / "*.csv"),
            **HOSTILE_READ_VARS,
        },
    )
    assert run.returncode == 0, run.output[-4000:]
    lines = dict(
        run.query("select source_file, count(*) from intermediate.int_transactions__classified group by all")
    )
    assert lines == expected
    # every file's customers, once: file i has 12 customers of its own
    assert run.scalar("select count(*) from marts.dim_customers") == 12 * len(GLOB_NAMES)
    ledger = run.scalar("select source_files from marts.fct_batches")
    assert sorted(ledger.split("; ")) == sorted(expected)
    skipped = run.query(
        "select source_file, skip_reason, same_as_file, same_as_batch_id from marts.fct_skipped_files"
    )
    assert skipped == [
        (str(folder / "zz copy of sales1.csv"), "same_content_in_input", str(folder / "sales1.csv"), None)
    ]
    assert "(listed in marts.fct_skipped_files)" in run.output
    # the next build over the same glob: nothing new, every file listed as already loaded
    again = run_dbt(
        tmp_path,
        "build",
        "--select",
        "int_transactions__skipped_files fct_skipped_files",
        vars={"transactions_path": str(folder / "*.csv"), **HOSTILE_READ_VARS},
    )
    assert again.returncode == 0, again.output[-4000:]
    latest = run.query(
        "select skip_reason, same_as_batch_id, count(*) from marts.fct_skipped_files "
        "where skipped_at = (select max(skipped_at) from marts.fct_skipped_files) group by all"
    )
    assert latest == [("already_loaded", 1, len(GLOB_NAMES) + 1)]


def test_a_calibration_end_outside_the_data_stops_the_build_before_anything_runs(tmp_path):
    """clv_calibration_end after the last purchase used to pass the pre-flight and fail 19 s
    later as the last line of a traceback in the value step."""
    path = tmp_path / "sales.csv"
    _customers_csv(path)
    run = run_dbt(tmp_path, "build", vars={"transactions_path": str(path), **HOSTILE_READ_VARS,
                                           "clv_calibration_end": "2012-06-01"})  # fmt: skip
    assert run.returncode != 0
    assert (
        "Setting problem: clv_calibration_end 2012-06-01 is outside the data: it is after the last purchase"
        in (run.output)
    )
    assert "The input's dates run from 2011-01-05 to 2011-01-16" in run.output
    assert _all_tables(run) == set() and run.started == []
