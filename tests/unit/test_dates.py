"""One date-order rule for both input kinds (custseg.inputs.dates): the same text column reads
the same way as a transaction's purchase date and as a customer table's date column. It used to
read an all-ambiguous column month-first as transactions and day-first in a customer table."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from custseg.inputs.customer_probe import probe_customer_table
from custseg.inputs.transactions import probe_source

# the customer-table settings the probe needs (the build passes dbt_project.yml's defaults)
SETTINGS = {"onehot_top_n": 10, "impute_strategy": "median", "outlier_rule": "clip", "outlier_iqr_factor": 3.0,
            "k_min": 2, "segmentation_features": ["Spend"]}  # fmt: skip
COLUMNS = {
    "all ambiguous (slashes)": (["01/02/2011", "03/04/2011", "05/06/2011"], "month_first"),
    "all ambiguous (dashes)": (["01-02-2011", "03-04-2011", "05-06-2011"], "month_first"),
    "day first (a day above 12)": (["01/02/2011", "13/04/2011", "05/06/2011"], "day_first"),
    "month first (a day above 12)": (["01/02/2011", "04/13/2011", "05/06/2011"], "month_first"),
    "day first with dashes": (["04-09-2012", "21-03-2013", "10-12-2013"], "day_first"),
    "ISO": (["2011-02-01", "2011-04-13", "2011-06-05"], "month_first"),
}


def _as_transactions(tmp_path, dates: list[str]) -> list:
    path = tmp_path / "sales.csv"
    pd.DataFrame({"CustomerID": [str(i) for i in range(len(dates))], "InvoiceDate": dates,
                  "Quantity": ["1"] * len(dates), "UnitPrice": ["2"] * len(dates)}).to_csv(path, index=False)  # fmt: skip
    result = probe_source({"transactions_path": str(path)})
    assert result["ok"], result
    # the build's own SQL for the purchase date (macro parse_timestamp on DuckDB)
    formats = "[" + ", ".join("'" + f + "'" for f in result["date_formats"]) + "]"
    with duckdb.connect() as con:
        read = [
            con.execute(
                f"select coalesce(try_cast(? as timestamp), try_strptime(?, {formats}))", [d, d]
            ).fetchone()[0]
            for d in dates
        ]
    return result["date_order"], [r.date() if r else None for r in read]


def _as_customer_table(tmp_path, dates: list[str]) -> list:
    path = tmp_path / "customers.csv"
    n = 12
    pd.DataFrame({"ID": range(n), "Spend": range(n), "Joined": (dates * n)[:n]}).to_csv(path, index=False)
    result = probe_customer_table({**SETTINGS, "customers_path": str(path)})
    assert result["ok"], result
    joined = next(c for c in result["columns"] if c["name"] == "Joined")
    assert joined["kind"] == "date"
    with duckdb.connect() as con:
        read = con.execute(
            f"select {joined['typed_sql']} from {result['reader_sql']} limit {len(dates)}"
        ).fetchall()
    return joined["date_order"] if joined["date_order"] != "native" else None, [r[0] for r in read]


@pytest.mark.parametrize("case", list(COLUMNS))
def test_a_date_column_reads_the_same_as_a_transaction_date_and_as_a_customer_date(tmp_path, case):
    dates, order = COLUMNS[case]
    (tmp_path / "t").mkdir()
    (tmp_path / "c").mkdir()
    as_transactions = _as_transactions(tmp_path / "t", dates)
    as_customers = _as_customer_table(tmp_path / "c", dates)
    assert as_transactions == as_customers
    assert as_transactions[0] == order and None not in as_transactions[1]


def test_an_ambiguous_column_says_so_for_both_kinds_with_its_setting(tmp_path):
    ambiguous = ["01/02/2011", "03/04/2011"]
    path = tmp_path / "sales.csv"
    pd.DataFrame({"CustomerID": ["1", "2"], "InvoiceDate": ambiguous, "Quantity": ["1", "1"],
                  "UnitPrice": ["2", "2"]}).to_csv(path, index=False)  # fmt: skip
    note = probe_source({"transactions_path": str(path)})["date_note"]
    assert "reads both month-first and day-first" in note and "{date_format:" in note
    table = tmp_path / "customers.csv"
    pd.DataFrame({"ID": range(12), "Spend": range(12), "Joined": ambiguous * 6}).to_csv(table, index=False)
    note = probe_customer_table({**SETTINGS, "customers_path": str(table)})["date_note"]
    assert note.startswith("Joined: every text date reads both") and "{customer_date_format:" in note
