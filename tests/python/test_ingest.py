"""Input probing: file checks, format detection, column resolution and XLSX conversion."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from custseg.ingest import SPELLINGS, SourceError, probe_source, resolve_columns

OR1 = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
OR2 = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]


@pytest.mark.parametrize("columns", [OR1, OR2])
def test_both_uci_spellings_resolve_without_configuration(columns):
    mapping = resolve_columns(columns)
    assert mapping["customer_id"] in {"CustomerID", "Customer ID"}
    assert mapping["unit_price"] in {"UnitPrice", "Price"}
    assert mapping["invoice_id"] in {"InvoiceNo", "Invoice"}
    assert mapping["invoiced_at"] == "InvoiceDate"
    assert mapping["line_amount"] is None


def test_spellings_ignore_case_spaces_and_underscores():
    mapping = resolve_columns(["customer_id", "INVOICE_DATE", "unit price", "QTY"])
    assert mapping == {
        "invoice_id": None,
        "stock_code": None,
        "description": None,
        "quantity": "QTY",
        "invoiced_at": "INVOICE_DATE",
        "unit_price": "unit price",
        "line_amount": None,
        "customer_id": "customer_id",
        "country": None,
    }


def test_column_map_wins_over_spellings():
    mapping = resolve_columns(
        ["Client Ref", "CustomerID", "When", "Net Sales"],
        {"customer_id": "Client Ref", "invoiced_at": "When", "line_amount": "Net Sales"},
    )
    assert mapping["customer_id"] == "Client Ref"
    assert mapping["line_amount"] == "Net Sales"


def test_amount_alone_is_enough_money():
    mapping = resolve_columns(["CustomerID", "InvoiceDate", "amount"])
    assert mapping["line_amount"] == "amount"
    assert mapping["quantity"] is None


def test_missing_customer_names_field_spellings_and_fix():
    with pytest.raises(SourceError) as err:
        resolve_columns(["InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice"])
    message = str(err.value)
    assert "required field 'customer_id'" in message
    for spelling in SPELLINGS["customer_id"]:
        assert spelling in message
    assert "InvoiceNo, InvoiceDate, Quantity, UnitPrice" in message
    assert "column_map" in message


def test_missing_money_explains_amount_or_quantity_and_price():
    with pytest.raises(SourceError, match=r"required field 'unit_price'.*either a line amount"):
        resolve_columns(["CustomerID", "InvoiceDate", "Quantity"])


def test_missing_date_is_reported():
    with pytest.raises(SourceError, match="required field 'invoiced_at'"):
        resolve_columns(["CustomerID", "Quantity", "UnitPrice"])


def test_column_map_errors_are_specific():
    with pytest.raises(SourceError, match="unknown field"):
        resolve_columns(OR1, {"customer": "CustomerID"})
    with pytest.raises(SourceError, match="which the file does not have"):
        resolve_columns(OR1, {"customer_id": "Client"})


# -- probe_source: files on disk ----------------------------------------------------------


def _frame(n=3):
    return pd.DataFrame(
        {
            "InvoiceNo": [str(536365 + i) for i in range(n)],
            "StockCode": ["85123A"] * n,
            "Quantity": [6] * n,
            "InvoiceDate": ["2010-12-01 08:26:00"] * n,
            "UnitPrice": [2.55] * n,
            "CustomerID": [17850.0] * n,
            "Country": ["United Kingdom"] * n,
        }
    )


def test_probe_csv_parquet_and_glob(tmp_path):
    _frame().to_csv(tmp_path / "a.csv", index=False)
    _frame().to_parquet(tmp_path / "b.parquet")
    _frame().to_parquet(tmp_path / "c.parquet")
    csv = probe_source(str(tmp_path / "a.csv"))
    assert csv["ok"] and csv["format"] == "csv" and csv["types"]["quantity"] == "VARCHAR"
    many = probe_source(str(tmp_path / "*.parquet"))
    assert many["ok"] and len(many["files"]) == 2 and many["types"]["quantity"] == "BIGINT"
    assert all(os.path.isabs(f) for f in many["files"])  # views must work from any directory


def test_line_numbers_follow_file_name_order_for_csv_and_parquet_globs(tmp_path):
    import duckdb

    frames = {}
    for name, n in (("b.parquet", 3), ("a.parquet", 4), ("c.parquet", 2)):
        frame = _frame(n).assign(Quantity=range(100 * len(frames), 100 * len(frames) + n))
        frame.to_parquet(tmp_path / name)
        frames[name] = frame
    many = probe_source(str(tmp_path / "*.parquet"))
    assert "over ()" not in many["row_number_sql"]  # parallel: file_row_number + earlier files' rows
    got = duckdb.sql(f'select {many["row_number_sql"]} as n, "Quantity" from {many["reader_sql"]} order by n')
    expected = pd.concat([frames[name] for name in sorted(frames)])["Quantity"].tolist()
    assert got.fetchall() == list(zip(range(1, 10), expected, strict=True))
    one = probe_source(str(tmp_path / "b.parquet"))
    assert one["row_number_sql"] == "file_row_number + 1"
    frames["b.parquet"].to_csv(tmp_path / "b.csv", index=False)
    assert probe_source(str(tmp_path / "b.csv"))["row_number_sql"] == "row_number() over ()"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "is empty (0 bytes)"),
        ("header.csv", b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n", "no data rows"),
        ("bad.parquet", b"this is not parquet at all", "Cannot read"),
        ("t.json", b"{}", "Cannot tell the format"),
        ("t.xls", b"\xd0\xcf\x11\xe0", "legacy .xls"),
        ("bad.xlsx", b"not a zip", "Cannot read"),
        ("cols.csv", b"a,b\n1,2\n", "required field 'customer_id'"),
    ],
)
def test_probe_bad_inputs_give_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = probe_source(str(path), cache_dir=str(tmp_path / "cache"))
    assert result["ok"] is False
    assert message in result["error"]


def test_probe_missing_file_and_directory(tmp_path):
    missing = probe_source(str(tmp_path / "nope.csv"))
    assert (
        not missing["ok"]
        and "No file matches" in missing["error"]
        and "transactions_path" in missing["error"]
    )
    assert "is a directory" in probe_source(str(tmp_path))["error"]
    assert "is empty" in probe_source("")["error"]
    assert "No file matches" in probe_source(str(tmp_path / "*.parquet"))["error"]


def test_probe_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "export.dat"
    _frame().to_csv(path, index=False)
    assert probe_source(str(path), "csv")["ok"]
    assert "not supported" in probe_source(str(path), "json")["error"]


def test_probe_xlsx_converts_to_text_parquet_once(tmp_path):
    xlsx = tmp_path / "t.xlsx"
    frame = _frame(5)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame.to_excel(xlsx, index=False)
    cache = tmp_path / "cache"
    first = probe_source(str(xlsx), cache_dir=str(cache))
    assert first["ok"] and first["format"] == "xlsx"
    assert set(first["types"].values()) <= {"VARCHAR", None}
    converted = pd.read_parquet(first["files"][0])
    assert len(converted) == 5
    assert converted["CustomerID"].tolist() == ["17850"] * 5
    assert converted["InvoiceDate"].iloc[0] == "2010-12-01 08:26:00"
    second = probe_source(str(xlsx), cache_dir=str(cache))
    assert second["files"] == first["files"]
    assert len(list(cache.iterdir())) == 1


def test_probe_xlsx_header_only(tmp_path):
    xlsx = tmp_path / "h.xlsx"
    _frame(0).to_excel(xlsx, index=False)
    result = probe_source(str(xlsx), cache_dir=str(tmp_path / "cache"))
    assert not result["ok"] and "no data rows" in result["error"]
