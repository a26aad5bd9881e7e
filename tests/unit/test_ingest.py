"""Input probing: file checks, format detection, column resolution and XLSX conversion."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from custseg.inputs import SourceError
from custseg.inputs.columns import SPELLINGS, resolve_columns
from custseg.inputs.transactions import probe_path, probe_source
from helpers import GLOB_NAMES

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
    csv = probe_path(str(tmp_path / "a.csv"))
    assert csv["ok"] and csv["format"] == "csv" and csv["types"]["quantity"] == "VARCHAR"
    many = probe_path(str(tmp_path / "*.parquet"))
    assert many["ok"] and len(many["files"]) == 2 and many["types"]["quantity"] == "BIGINT"
    assert all(os.path.isabs(f) for f in many["files"])  # views must work from any directory


def test_files_are_read_in_name_order_with_their_fingerprints_and_csv_row_counts(tmp_path):
    import hashlib

    for name, n in (("b", 3), ("a", 4), ("c", 2)):
        _frame(n).to_parquet(tmp_path / f"{name}.parquet")
        _frame(n).to_csv(tmp_path / f"{name}.csv", index=False)
    many = probe_path(str(tmp_path / "*.parquet"))
    assert [os.path.basename(f) for f in many["files"]] == ["a.parquet", "b.parquet", "c.parquet"]
    assert many["fingerprints"] == [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in many["files"]]
    assert many["format_read"] == "parquet" and many["file_rows"] is None  # file_row_number exists
    csv = probe_path(str(tmp_path / "*.csv"))
    assert csv["format_read"] == "csv" and csv["file_rows"] == [4, 3, 2]
    assert probe_path(str(tmp_path / "b.csv"))["file_rows"] is None  # one file: its scan position


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
    result = probe_path(str(path), cache_dir=str(tmp_path / "cache"))
    assert result["ok"] is False
    assert message in result["error"]


def test_probe_missing_file_and_directory(tmp_path):
    missing = probe_path(str(tmp_path / "nope.csv"))
    assert (
        not missing["ok"]
        and "No file matches" in missing["error"]
        and "transactions_path" in missing["error"]
    )
    assert "is a directory" in probe_path(str(tmp_path))["error"]
    assert "is empty" in probe_path("")["error"]
    assert "No file matches" in probe_path(str(tmp_path / "*.parquet"))["error"]


def test_probe_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "export.dat"
    _frame().to_csv(path, index=False)
    assert probe_path(str(path), "csv")["ok"]
    assert "not supported" in probe_path(str(path), "json")["error"]


def test_probe_xlsx_converts_to_text_parquet_once(tmp_path):
    xlsx = tmp_path / "t.xlsx"
    frame = _frame(5)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame.to_excel(xlsx, index=False)
    cache = tmp_path / "cache"
    first = probe_path(str(xlsx), cache_dir=str(cache))
    assert first["ok"] and first["format"] == "xlsx"
    assert set(first["types"].values()) <= {"VARCHAR", None}
    converted = pd.read_parquet(first["files"][0])
    assert len(converted) == 5
    assert converted["CustomerID"].tolist() == ["17850"] * 5
    assert converted["InvoiceDate"].iloc[0] == "2010-12-01 08:26:00"
    second = probe_path(str(xlsx), cache_dir=str(cache))
    assert second["files"] == first["files"]
    assert len(list(cache.iterdir())) == 1


def test_probe_xlsx_header_only(tmp_path):
    xlsx = tmp_path / "h.xlsx"
    _frame(0).to_excel(xlsx, index=False)
    result = probe_path(str(xlsx), cache_dir=str(tmp_path / "cache"))
    assert not result["ok"] and "no data rows" in result["error"]


# -- hardening: one date order per file, types, delimiters, sheets, hostile options -----------


def _dates_csv(tmp_path, dates, name="d.csv"):
    path = tmp_path / name
    pd.DataFrame(
        {"CustomerID": ["1"] * len(dates), "InvoiceDate": dates, "amount": ["1"] * len(dates)}
    ).to_csv(path, index=False)
    return str(path)


def _read_dates(result, dates):
    """The timestamps the build's SQL makes of these texts with the probe's formats."""
    import duckdb

    formats = "[" + ", ".join("'" + f + "'" for f in result["date_formats"]) + "]"
    con = duckdb.connect()
    return [
        con.execute(
            f"select coalesce(try_cast(? as timestamp), try_strptime(?, {formats}))", [d, d]
        ).fetchone()[0]
        for d in dates
    ]


def test_day_first_file_is_read_day_first_for_every_line(tmp_path):
    dates = ["01/02/2011 10:00", "13/02/2011 10:00", "05/03/2011 09:00"]
    result = probe_path(_dates_csv(tmp_path, dates))
    assert result["ok"] and result["date_order"] == "day_first" and result["date_note"] == ""
    parsed = _read_dates(result, dates)
    assert [(p.month, p.day) for p in parsed] == [(2, 1), (2, 13), (3, 5)]


def test_month_first_file_and_ambiguous_file(tmp_path):
    dates = ["12/1/2010 8:26", "12/13/2010 8:26"]
    result = probe_path(_dates_csv(tmp_path, dates))
    assert result["date_order"] == "month_first" and result["date_note"] == ""
    assert [(p.month, p.day) for p in _read_dates(result, dates)] == [(12, 1), (12, 13)]
    ambiguous = probe_path(_dates_csv(tmp_path, ["01/02/2011", "03/04/2011"], "a.csv"))
    assert ambiguous["date_order"] == "month_first"
    assert (
        "both month-first and day-first" in ambiguous["date_note"] and "date_format" in ambiguous["date_note"]
    )


def test_mixed_orders_are_not_read_both_ways(tmp_path):
    dates = ["13/01/2011", "14/01/2011", "01/20/2011"]  # two day-first only, one month-first only
    result = probe_path(_dates_csv(tmp_path, dates))
    assert result["date_order"] == "day_first" and "mixes orders" in result["date_note"]
    parsed = _read_dates(result, dates)
    assert parsed[2] is None  # quarantined as unparseable_value by the build, not read month-first


def test_configured_date_format_wins_and_is_checked(tmp_path):
    path = _dates_csv(tmp_path, ["01/02/2011 10:00"])
    result = probe_source({"transactions_path": path, "date_format": "%m/%d/%Y %H:%M"})
    assert result["date_formats"] == ["%m/%d/%Y %H:%M"] and result["date_order"] == "configured"
    assert "no % directive" in probe_source({"transactions_path": path, "date_format": "dd/mm/yyyy"})["error"]
    bad = probe_source({"transactions_path": path, "date_format": "%Q/%m"})
    assert not bad["ok"] and "not a valid strptime format" in bad["error"]


def test_whitespace_delimited_file_says_so(tmp_path):
    path = tmp_path / "aligned.txt"
    path.write_text("CustomerID  InvoiceDate   amount\n17850  2011-01-01  10\n")
    result = probe_path(str(path))
    assert not result["ok"]
    assert "read as a single column" in result["error"] and "delimiter" in result["error"]


@pytest.mark.parametrize(
    "column, values, expected",
    [
        ("Quantity", [True, False], "has type BOOLEAN, which cannot hold a quantity:"),
        ("InvoiceDate", [1, 2], "has type BIGINT, which cannot hold a purchase date and time:"),
        ("CustomerID", [b"x", b"y"], "has type BLOB, which cannot hold a customer id:"),
    ],
)
def test_parquet_columns_of_impossible_types_are_named(tmp_path, column, values, expected):
    frame = pd.DataFrame(
        {"CustomerID": ["1", "2"], "InvoiceDate": pd.to_datetime(["2011-01-01", "2011-01-02"]),
         "Quantity": [1, 2], "UnitPrice": [1.0, 2.0]}
    )  # fmt: skip
    frame[column] = values
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path)
    result = probe_path(str(path))
    assert not result["ok"] and expected in result["error"] and f"Column '{column}'" in result["error"]


def test_xlsx_formulas_without_a_value_are_named_in_the_line_and_the_log(tmp_path):
    """A workbook written by a program that does not calculate (openpyxl itself, many exporters)
    holds formulas without values: read as empty, they were quarantined with no hint."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
    sheet.append(["1", "2011-01-01", 2, 3.5])
    sheet.append(["2", "2011-01-02", "=1+1", 3.5])
    sheet.append(["3", "2011-01-03", 1, "=B4*0"])
    sheet.append(["4", "2011-01-04", 1, 2.0, "=SUM(C2:C5)"])  # an unread column: not counted
    path = tmp_path / "book.xlsx"
    book.save(path)
    result = probe_path(str(path), cache_dir=str(tmp_path / "cache"))
    assert result["ok"], result
    assert result["input_note"].startswith("2 line(s) hold a formula without a value")
    assert "Open and save the workbook in Excel or LibreOffice" in result["input_note"]
    converted = pd.read_parquet(result["files"][0])
    assert list(converted["Quantity"]) == ["2", "formula without a value: =1+1", "1", "1"]
    assert converted["UnitPrice"].iloc[2] == "formula without a value: =B4*0"
    plain = tmp_path / "plain.xlsx"
    _frame(3).to_excel(plain, index=False)  # no formula: read once, no note
    assert probe_path(str(plain), cache_dir=str(tmp_path / "cache"))["input_note"] == ""


def test_xlsx_picks_the_sheet_with_the_data_and_names_sheets_otherwise(tmp_path):
    xlsx = tmp_path / "book.xlsx"
    with pd.ExcelWriter(xlsx) as writer:
        pd.DataFrame({"Notes": ["exported by ERP"]}).to_excel(writer, sheet_name="Cover", index=False)
        _frame(3).to_excel(writer, sheet_name="Sales", index=False)
        _frame(2).to_excel(writer, sheet_name="Sales'; --", index=False)
    result = probe_path(str(xlsx), cache_dir=str(tmp_path / "cache"))
    assert result["ok"] and len(pd.read_parquet(result["files"][0])) == 3
    hostile = probe_source(
        {"transactions_path": str(xlsx), "transactions_sheet": "Sales'; --"}, cache_dir=str(tmp_path / "c1")
    )
    assert hostile["ok"] and len(pd.read_parquet(hostile["files"][0])) == 2
    named = probe_source(
        {"transactions_path": str(xlsx), "transactions_sheet": "Cover"}, cache_dir=str(tmp_path / "c2")
    )
    assert not named["ok"] and "required field 'customer_id'" in named["error"]
    missing = probe_source(
        {"transactions_path": str(xlsx), "transactions_sheet": "Nope"}, cache_dir=str(tmp_path / "c3")
    )
    assert "no sheet 'Nope'" in missing["error"] and "Cover, Sales, Sales'; --" in missing["error"]
    cover_only = tmp_path / "cover.xlsx"
    with pd.ExcelWriter(cover_only) as writer:
        pd.DataFrame({"Notes": ["x"]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.DataFrame({"Total": [1]}).to_excel(writer, sheet_name="Summary", index=False)
    none = probe_path(str(cover_only), cache_dir=str(tmp_path / "c4"))
    assert "No sheet of" in none["error"] and "'Cover' (Notes)" in none["error"]
    assert "'Summary' (Total)" in none["error"] and "transactions_sheet" in none["error"]


def test_hostile_names_stay_data(tmp_path):
    """A file name and column names with quotes, semicolons and comment markers are read, and
    the SQL the probe hands to dbt quotes them."""
    import duckdb

    folder = tmp_path / "it's; -- here"
    folder.mkdir()
    path = folder / "O'Brien\"; drop table x; --.csv"
    pd.DataFrame({'Client "Ref"; --': ["a"], "When": ["2011-01-01"], "Net": ["5"]}).to_csv(path, index=False)
    result = probe_source(
        {"transactions_path": str(path),
         "column_map": {"customer_id": 'Client "Ref"; --', "invoiced_at": "When", "line_amount": "Net"}}
    )  # fmt: skip
    assert result["ok"], result
    assert duckdb.connect().execute(f"select count(*) from {result['reader_sql']}").fetchone()[0] == 1
    wrong_type = probe_source({"transactions_path": str(path), "column_map": {"customer_id": 5}})
    assert "column_map must map field names to column names" in wrong_type["error"]
    assert "must be text" in probe_source({"transactions_path": ["a", "b"]})["error"]


def test_probe_cli_takes_the_build_options(tmp_path, capsys):
    import json

    from custseg.cli import main

    path = tmp_path / "shop.csv"
    pd.DataFrame({"Client": ["a"], "When": ["13/01/2011 10:00"], "Net": ["5"]}).to_csv(path, index=False)
    assert main(["probe", str(path)]) == 2
    assert "required field 'customer_id'" in json.loads(capsys.readouterr().out)["error"]
    mapped = ["--column-map", '{"customer_id": "Client", "invoiced_at": "When", "line_amount": "Net"}']
    assert main(["probe", str(path), *mapped]) == 0
    assert json.loads(capsys.readouterr().out)["date_order"] == "day_first"
    assert main(["probe", str(path), *mapped, "--date-format", "%m/%d/%Y %H:%M"]) == 0
    assert json.loads(capsys.readouterr().out)["date_formats"] == ["%m/%d/%Y %H:%M"]
    assert main(["probe", str(path), "--column-map", "{bad"]) == 2
    assert "--column-map is not valid JSON" in capsys.readouterr().err


def test_a_latin1_file_names_the_encoding_and_the_setting_reads_it(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(
        "CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n1,2011-01-01,1,2.5,Curaçao\n".encode("latin-1")
    )
    result = probe_path(str(path))
    assert not result["ok"]
    assert "is not UTF-8 text" in result["error"] and "{transactions_encoding: latin-1}" in result["error"]
    fixed = probe_source({"transactions_path": str(path), "transactions_encoding": "latin-1"})
    assert fixed["ok"], fixed
    from custseg.cli import main  # custseg probe takes the same setting

    assert main(["probe", str(path)]) == 2
    assert main(["probe", str(path), "--encoding", "latin-1"]) == 0
    import duckdb

    assert duckdb.connect().execute(f"select Country from {fixed['reader_sql']}").fetchone()[0] == "Curaçao"
    bad = probe_source({"transactions_path": str(path), "transactions_encoding": "cp-437'; --"})
    assert not bad["ok"] and "use utf-8 (the default), utf-16 or latin-1" in bad["error"]


def test_a_utf16_file_names_the_encoding_and_the_setting_reads_it(tmp_path):
    """Excel's "Unicode text" export: a UTF-16 file with its byte-order mark, read without the
    setting, is named as UTF-16 (it used to fail in DuckDB's sniffer or be called Latin-1)."""
    path = tmp_path / "sales.csv"
    text = "CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n1,2011-01-01,1,2.5,Curaçao\n"
    path.write_bytes("\ufeff".encode("utf-16-le") + text.encode("utf-16-le"))
    result = probe_path(str(path))
    assert not result["ok"]
    assert "is UTF-16 text" in result["error"] and "{transactions_encoding: utf-16}" in result["error"]
    fixed = probe_source({"transactions_path": str(path), "transactions_encoding": "utf-16"})
    assert fixed["ok"], fixed
    path.write_bytes("\ufeff".encode("utf-16-be") + text.encode("utf-16-be"))  # read by no setting
    for encoding in ("", "utf-16"):
        big = probe_source({"transactions_path": str(path), "transactions_encoding": encoding})
        assert (
            not big["ok"] and "big-endian UTF-16" in big["error"] and "save the file as UTF-8" in big["error"]
        )


def test_the_probe_answers_the_inputs_first_and_last_day_when_asked(tmp_path):
    """The pre-flight check of clv_calibration_end reads the input's date range from the probe:
    text dates in the file's own order (day-first here), native timestamps as they are."""
    text = tmp_path / "sales.csv"
    text.write_text(
        "CustomerID,InvoiceDate,Quantity,UnitPrice\n1,13/01/2011 10:00,1,2\n2,02/03/2011 09:00,1,2\n3,,1,2\n"
    )
    assert "date_range" not in probe_source({"transactions_path": str(text)})  # one scan less by default
    assert probe_source({"transactions_path": str(text), "date_range": True})["date_range"] == [
        "2011-01-13", "2011-03-02",
    ]  # fmt: skip
    native = tmp_path / "sales.parquet"
    pd.DataFrame({
        "CustomerID": ["1", "2"], "InvoiceDate": pd.to_datetime(["2010-12-01 08:26", "2011-12-09 12:50"]),
        "Quantity": [1, 2], "UnitPrice": [1.0, 2.0],
    }).to_parquet(native)  # fmt: skip
    assert probe_source({"transactions_path": str(native), "date_range": True})["date_range"] == [
        "2010-12-01", "2011-12-09",
    ]  # fmt: skip


def test_every_listed_file_is_read_by_its_literal_name(tmp_path):
    """The probe's reader reads each file it listed exactly once, whatever the characters of
    its name; a path that names a file with [1] in it reads that file, not sales1.csv."""
    import duckdb

    for i, name in enumerate(GLOB_NAMES):
        rows = "".join(f"{i}-{j},2011-01-01,1,2.5\n" for j in range(i + 1))
        (tmp_path / name).write_text("CustomerID,InvoiceDate,Quantity,UnitPrice\n" + rows)
    result = probe_path(str(tmp_path / "*.csv"))
    assert result["ok"], result
    counts = dict(
        duckdb.connect()
        .execute(f"select file_index, count(*) from {result['reader_sql']} group by all")
        .fetchall()
    )
    by_name = {Path(result["files"][i]).name: n for i, n in counts.items()}
    assert by_name == {name: i + 1 for i, name in enumerate(GLOB_NAMES)}
    literal = probe_path(str(tmp_path / "sales[1].csv"))
    assert literal["files"] == [str(tmp_path / "sales[1].csv")]
    ids = duckdb.connect().execute(f"select CustomerID from {literal['reader_sql']} order by 1").fetchall()
    assert ids == [("1-0",), ("1-1",)]  # sales[1].csv is the second name
    missing = probe_path(str(tmp_path / "nothing[2].csv"))
    assert not missing["ok"] and "write [[] for a literal [" in missing["error"]
