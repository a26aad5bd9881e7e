"""Checks a transactions file before dbt reads it, and resolves its columns.

dbt calls :func:`probe_source` through a DuckDB UDF registered by :mod:`custseg.dbt_plugin`
(``custseg_probe_source``) when it compiles the source model. Everything that can be wrong
with an input file is found here and turned into one message that says what is wrong and how
to fix it, so a bad file stops the build before any table is written:

* no file matches the path or glob; an unknown or unsupported extension;
* an empty file, a header with no data rows, a file that cannot be parsed;
* a required column that is missing (the message lists the accepted spellings), a file read as
  one column (its delimiter is not one CSV knows), a column of a type no field can hold;
* the date order of text dates (month-first or day-first) is decided once per file, not per
  value, so one file is never read both ways (see :func:`detect_date_formats`).

XLSX files are converted once to a cached Parquet file (all columns as text) because DuckDB's
excel extension cannot be downloaded on offline machines; the SQL then reads that Parquet file
and does all parsing and typing itself.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

# Canonical field -> accepted spellings (compared after lower-casing and dropping everything
# that is not a letter or digit, so "Customer ID", "customer_id" and "CustomerID" are one).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "invoice_id": ("InvoiceNo", "Invoice", "invoice_id", "invoice_number", "order_id", "OrderNo"),
    "stock_code": ("StockCode", "stock_code", "sku", "product_id", "ProductCode"),
    "description": ("Description", "product_name", "item_description"),
    "quantity": ("Quantity", "qty", "units"),
    "invoiced_at": ("InvoiceDate", "invoice_date", "order_date", "invoiced_at", "transaction_date", "date"),
    "unit_price": ("UnitPrice", "Price", "unit_price"),
    "line_amount": ("line_amount", "amount", "Sales", "line_total", "revenue", "TotalPrice"),
    "customer_id": ("CustomerID", "Customer ID", "customer_id", "client_id"),
    "country": ("Country", "country_name"),
}
REQUIRED_ALWAYS = ("customer_id", "invoiced_at")
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
HOW_TO_POINT = (
    "Point the build at your file with --vars '{transactions_path: path/to/file.csv}' "
    "(CSV, Parquet or XLSX; a glob such as 'data/*.parquet' also works)."
)


# Text dates that are not ISO are read with one family of formats per file: the month-first family
# (the UCI CSV exports) or the day-first one, whichever parses more of the file's distinct values
# (a tie, every slash date having a day <= 12, reads month-first and says so). Y/m/d and dotted
# d.m.Y dates are unambiguous and belong to both families.
MONTH_FIRST = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y", "%m/%d/%y")
DAY_FIRST = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y", "%d/%m/%y")
UNAMBIGUOUS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
)

# Which DuckDB column types each field can be read from (text is parsed, and quarantined where
# it cannot be). Anything else (BLOB, BOOLEAN, LIST, STRUCT, ...) is an input error naming it.
NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
           "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip
_TEXT = ("VARCHAR",)
TIME_TYPES = ("TIMESTAMP", "DATE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
FIELD_TYPES = {
    "invoice_id": _TEXT + NUMBER_TYPES,
    "stock_code": _TEXT + NUMBER_TYPES,
    "customer_id": _TEXT + NUMBER_TYPES,
    "description": _TEXT + NUMBER_TYPES,
    "country": _TEXT + NUMBER_TYPES,
    "quantity": _TEXT + NUMBER_TYPES,
    "unit_price": _TEXT + NUMBER_TYPES,
    "line_amount": _TEXT + NUMBER_TYPES,
    "invoiced_at": _TEXT + TIME_TYPES,
}
# each field as a sentence names it ("cannot hold a purchase date")
FIELD_NAMES = {
    "invoice_id": "an invoice id",
    "stock_code": "a stock code",
    "customer_id": "a customer id",
    "description": "a description",
    "country": "a country",
    "quantity": "a quantity",
    "unit_price": "a unit price",
    "line_amount": "a line amount",
    "invoiced_at": "a purchase date and time",
}
INPUT_OPTIONS = (
    "transactions_path",
    "transactions_format",
    "column_map",
    "date_format",
    "transactions_sheet",
    "transactions_encoding",
    # not a var: on `dbt build --full-refresh` the files of the batches already loaded, which the
    # rebuild reads again beside transactions_path (macro input_options)
    "reload_files",
    # not a var: also answer the first and last day of the dates (one more scan), for the checks
    # of date settings before the build (clv_calibration_end)
    "date_range",
)


class SourceError(ValueError):
    """An input problem the user can fix; the message says how."""


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def resolve_columns(columns: Iterable[str], column_map: dict[str, str] | None = None) -> dict:
    """Map the file's column names to canonical fields.

    ``column_map`` (from the dbt var ``column_map``) names the source column for any field and
    wins over the built-in spellings. Returns ``{field: source_column or None}`` for every
    canonical field. Raises :class:`SourceError` naming what is missing.
    """
    columns = list(columns)
    column_map = dict(column_map or {})
    unknown_fields = sorted(set(column_map) - set(SPELLINGS))
    if unknown_fields:
        raise SourceError(
            f"column_map names unknown field(s) {unknown_fields}; the fields are {sorted(SPELLINGS)}."
        )
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(_norm(col), col)
    resolved: dict[str, str | None] = {}
    for field, spellings in SPELLINGS.items():
        if field in column_map:
            wanted = column_map[field]
            if wanted not in columns:
                raise SourceError(
                    f"column_map maps '{field}' to column '{wanted}', which the file does not have. "
                    f"The file's columns are: {', '.join(columns)}."
                )
            resolved[field] = wanted
            continue
        match = next((by_norm[_norm(s)] for s in spellings if _norm(s) in by_norm), None)
        resolved[field] = match

    def missing(field: str) -> str:
        return (
            f"The transactions file has no column for required field '{field}'. "
            f"Accepted spellings (case, spaces and underscores ignored): {', '.join(SPELLINGS[field])}. "
            f"The file's columns are: {', '.join(columns)}. Rename the column, or map it with "
            f"--vars '{{column_map: {{{field}: \"Your Column\"}}}}'."
        )

    for field in REQUIRED_ALWAYS:
        if resolved[field] is None:
            raise SourceError(missing(field))
    if resolved["line_amount"] is None:
        for field in ("quantity", "unit_price"):
            if resolved[field] is None:
                raise SourceError(
                    missing(field) + " A money amount is required: either a line amount column "
                    f"({', '.join(SPELLINGS['line_amount'])}) or both quantity and unit price."
                )
    return resolved


def detect_format(files: list[str], fmt: str, var: str = "transactions_format") -> str:
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in {"csv", "parquet", "xlsx"}:
            raise SourceError(f"{var} '{fmt}' is not supported; use csv, parquet or xlsx.")
        return fmt
    formats = set()
    for f in files:
        suffix = Path(f).suffix.lower()
        if suffix == ".xls":
            raise SourceError(
                f"'{f}' is a legacy .xls workbook, which is not supported. Save it as .xlsx or CSV."
            )
        if suffix not in FORMATS:
            raise SourceError(
                f"Cannot tell the format of '{f}' from its extension '{suffix or '(none)'}'. "
                "Supported: .csv/.tsv/.txt/.csv.gz (CSV), .parquet/.pq (Parquet), .xlsx (Excel). "
                f"Rename the file or set --vars '{{{var}: csv}}'."
            )
        formats.add(FORMATS[suffix])
    if len(formats) > 1:
        raise SourceError(f"The path matches files of different formats ({sorted(formats)}); use one format.")
    return formats.pop()


def find_files(path: str, var: str = "transactions_path", how_to: str = HOW_TO_POINT) -> list[str]:
    if not path:
        raise SourceError(f"The var {var} is empty. " + how_to)
    # A path that names an existing file is that file, even when its name holds glob characters
    # (`sales[1].csv`); only a path that names no file is expanded as a glob, and the folder of
    # that glob is taken literally when it exists (`2011 [Q1]/*.csv`).
    if glob.has_magic(path) and not os.path.isfile(path):
        folder, pattern = os.path.split(path)
        if folder and glob.has_magic(folder) and os.path.isdir(folder):
            path = os.path.join(glob.escape(folder), pattern)
        files = sorted(f for f in glob.glob(path) if os.path.isfile(f))
    else:
        files = [path] if os.path.exists(path) else []
        if files and os.path.isdir(path):
            raise SourceError(f"'{path}' is a directory. Use a glob such as '{path}/*.parquet'.")
    if not files:
        brackets = (
            " In a glob, [...] is a set of characters: write [[] for a literal [ (or name the file itself)."
            if "[" in path
            else ""
        )
        raise SourceError(f"No file matches '{path}' (relative to {os.getcwd()}).{brackets} " + how_to)
    for f in files:
        if not os.access(f, os.R_OK):
            raise SourceError(f"'{f}' exists but cannot be read (permission denied).")
        if os.path.getsize(f) == 0:
            raise SourceError(f"'{f}' is empty (0 bytes). Export the file again.")
    # absolute, so the staging views work from any working directory (BI tools, the serving copy)
    return [os.path.abspath(f) for f in files]


def _find_reload_files(files: list[str], reload_files: list[str]) -> list[str]:
    """The input files plus the files of the batches already loaded (full refresh), in name order.
    A loaded file that is gone cannot be read again: say so, and how to go on."""
    missing = [f for f in reload_files if not os.path.isfile(f)]
    if missing:
        raise SourceError(
            "A full refresh rebuilds the warehouse from every file loaded so far (marts.fct_batches), "
            f"and {len(missing)} of them cannot be found: {', '.join(missing[:5])}. Put them back, or start "
            "over without them: delete the warehouse file (CUSTSEG_DB_PATH, default "
            "warehouse/custseg.duckdb) and load the files you have."
        )
    return sorted(set(files) | {os.path.abspath(f) for f in reload_files})


def file_fingerprint(path: str) -> str:
    """SHA-256 of a file's bytes: how a batch is recognised by its content, whatever its name."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def sql_string(value: str) -> str:
    """A SQL string literal: single quotes doubled, so no value ends the literal early."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier: double quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def _sql_list(values: list[str]) -> str:
    """A SQL list of string literals (file names, date formats)."""
    return "[" + ", ".join(sql_string(v) for v in values) + "]"


def literal_file_pattern(path: str) -> str:
    """A file name as a DuckDB glob that matches that file alone: DuckDB's readers expand every
    name they get (`*`, `?`, `[...]`), so each of those characters goes inside a class of its
    own (`sales[1].csv` -> `sales[[]1[]].csv`). Braces, commas and spaces are not special there."""
    return re.sub(r"([\[\]*?])", r"[\1]", str(path))


def _files_sql(files: list[str]) -> str:
    """The files the project listed, each read by its literal name (never expanded again)."""
    return _sql_list([literal_file_pattern(f) for f in files])


# text encodings a CSV may be read in (DuckDB reads these without an extension); aliases -> name
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "utf16": "utf-16", "latin-1": "latin-1",
             "latin1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1"}  # fmt: skip


def csv_encoding(value: str, var: str) -> str:
    """The encoding var as DuckDB names it ('' = UTF-8, the default), or a SourceError naming it."""
    if not value:
        return ""
    name = ENCODINGS.get(value.strip().lower())
    if name is None:
        raise SourceError(f"{var} {value!r} is not supported; use utf-8 (the default), utf-16 or latin-1.")
    return "" if name == "utf-8" else name


def check_byte_order_mark(files: list[str], encoding: str, var: str) -> None:
    """A CSV that starts with a UTF-16 byte-order mark (FF FE or FE FF, as Excel's "Unicode
    text" and PowerShell write) read without the utf-16 setting: say so, before DuckDB's sniffer
    fails on it with a message that does not name the encoding."""
    for path in files:
        with open(path, "rb") as handle:
            head = handle.read(2)
        if head == b"\xfe\xff":  # DuckDB reads little-endian UTF-16 only
            raise SourceError(
                f"{path} is big-endian UTF-16 text (it starts with the byte-order mark FE FF), which the "
                "reader cannot read: save the file as UTF-8 (CSV UTF-8 in Excel) or little-endian UTF-16."
            )
        if head == b"\xff\xfe" and encoding != "utf-16":
            raise SourceError(
                f"{path} is UTF-16 text (it starts with the UTF-16 byte-order mark FF FE). Set the encoding "
                f"with --vars '{{{var}: utf-16}}', or save the file as UTF-8 (CSV UTF-8 in Excel)."
            )


def csv_reader_sql(files: list[str], encoding: str = "") -> str:
    """The DuckDB expression that reads the CSV files; shared by the probe and the dbt model."""
    options = f", encoding = {sql_string(encoding)}" if encoding else ""
    return f"read_csv({_files_sql(files)}, header = true, all_varchar = true, union_by_name = true{options})"


def encoding_hint(message: str, files: list[str], var: str) -> str | None:
    """DuckDB's 'not utf-8' read error as a message that names the file, the setting and the fix."""
    if "not utf-8 encoded" not in message and "Invalid unicode" not in message:
        return None
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f" (line {line.group(1)})" if line else ""
    return (
        f"{', '.join(files)} is not UTF-8 text{where}: it holds bytes of another encoding, often Latin-1 "
        f"from Windows or older Excel exports. Set the encoding with --vars '{{{var}: latin-1}}' (or "
        "utf-16), or save the file as UTF-8 (CSV UTF-8 in Excel)."
    )


def parquet_reader_sql(files: list[str]) -> str:
    return f"read_parquet({_files_sql(files)}, union_by_name = true)"


def file_row_counts(con, reader: str, files: list[str], fmt_read: str) -> list[int] | None:
    """Rows per file, for a multi-file CSV input: CSV has no ``file_row_number`` column, so a
    line's row in its file is its position in the scan minus the rows of the files read before
    it (macro row_in_file_sql). None where it is not needed (Parquet, or one file)."""
    if fmt_read == "parquet" or len(files) == 1:
        return None
    counts = dict(con.execute(f"select file_index, count(*) from {reader} group by file_index").fetchall())
    return [int(counts.get(i, 0)) for i in range(len(files))]


def _header_of(sheet) -> list[str]:
    header = next(sheet.iter_rows(values_only=True, max_row=1), None) or ()
    return [str(h).strip() for h in header if h is not None]


def _choose_sheet(workbook, path: str, wanted: str, column_map) -> object:
    """The sheet named by ``transactions_sheet``, else the first whose header has the required
    columns; an error names every sheet and its columns when none has."""
    names = workbook.sheetnames
    if wanted:
        if wanted not in names:
            raise SourceError(
                f"'{path}' has no sheet '{wanted}' (transactions_sheet). Its sheets are: {', '.join(names)}."
            )
        return workbook[wanted]
    described = []
    for name in names:
        header = _header_of(workbook[name])
        try:
            resolve_columns(header, column_map)
            return workbook[name]
        except SourceError:
            described.append(f"'{name}' ({', '.join(header) or 'empty'})")
    if len(names) == 1:
        return workbook[names[0]]  # its own missing-column message is the clearest
    raise SourceError(
        f"No sheet of '{path}' has the required columns (a customer id, a date and money). Sheets: "
        f"{'; '.join(described)}. Name the sheet with --vars '{{transactions_sheet: \"Sheet name\"}}' "
        "and map its columns with column_map."
    )


def _cell_text(v) -> str | None:
    """An XLSX cell as the text a CSV export would hold (dates ISO, whole floats without .0)."""
    if v is None:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    return str(v)


def _write_text_parquet(rows, names: list[str], tmp: Path) -> int:
    """The non-empty rows as a Parquet file of text columns, 100,000 rows at a time; the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(n, pa.string()) for n in names])
    n_rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:

        def flush(batch: list[list]) -> None:
            writer.write_table(pa.Table.from_arrays([pa.array(c, pa.string()) for c in batch], schema=schema))

        batch: list[list] = [[] for _ in names]
        for row in rows:
            if row is None or all(v is None for v in row):
                continue
            for i in range(len(names)):
                batch[i].append(_cell_text(row[i] if i < len(row) else None))
            n_rows += 1
            if len(batch[0]) >= 100_000:
                flush(batch)
                batch = [[] for _ in names]
        flush(batch)
    return n_rows


# a formula cell the workbook holds no computed value for (written by a program that does not
# calculate, and never opened in Excel since): its text in the converted file, so the line is
# quarantined as unparseable_value with the formula in its raw value, and the build log says so
FORMULA_WITHOUT_VALUE = "formula without a value: "


def _workbook_has_formulas(path: str) -> bool:
    """Whether any worksheet of the XLSX holds a formula (a <f> element): only then is the
    workbook read a second time for its formulas."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as part:
                    tail = b""
                    while chunk := part.read(1 << 20):
                        if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                            return True
                        tail = chunk[-3:]
    return False


def _formulas_without_values(values, formulas):
    """The value rows, where a cell has no value but a formula, its formula behind the marker."""
    from itertools import zip_longest

    for row, row_formulas in zip(values, formulas, strict=False):
        yield tuple(
            FORMULA_WITHOUT_VALUE + formula
            if value is None and isinstance(formula, str) and formula.startswith("=")
            else value
            for value, formula in zip_longest(row, row_formulas or ())
        )


def xlsx_to_parquet(path: str, cache_dir: str, sheet_name: str = "", column_map=None) -> str:
    """Convert one sheet of an XLSX workbook to a Parquet file of text columns (cached); a
    formula cell without a computed value becomes the text FORMULA_WITHOUT_VALUE + its formula."""
    import openpyxl

    stat = os.stat(path)
    cache_key = (
        f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}|{sheet_name}|{json.dumps(column_map)}"
    )
    key = hashlib.sha1(cache_key.encode()).hexdigest()[:16]
    out = (Path(cache_dir) / f"xlsx_{key}.parquet").resolve()
    if out.exists():
        return str(out)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise SourceError(
            f"Cannot read '{path}' as an XLSX workbook: {exc}. Check the file, or export CSV."
        ) from exc
    formulas_book = None
    try:
        sheet = _choose_sheet(workbook, path, sheet_name, column_map)
        rows = sheet.iter_rows(values_only=True)
        if _workbook_has_formulas(path):
            formulas_book = openpyxl.load_workbook(path, read_only=True, data_only=False)
            rows = _formulas_without_values(rows, formulas_book[sheet.title].iter_rows(values_only=True))
        header = next(rows, None)
        if header is None or all(h is None for h in header):
            raise SourceError(
                f"'{path}' sheet '{sheet.title}' is empty; the first row must hold the column names."
            )
        names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".partial")
        if _write_text_parquet(rows, names, tmp) == 0:
            tmp.unlink(missing_ok=True)
            raise SourceError(f"'{path}' has a header row but no data rows.")
        tmp.replace(out)
    finally:
        workbook.close()
        if formulas_book is not None:
            formulas_book.close()
    return str(out)


def detect_date_formats(con, reader: str, column: str, date_format: str = "") -> dict:
    """The text-date formats for this file's date column, decided once for the whole file.

    ``date_format`` (the var) wins. Otherwise every distinct value is tried with the month-first
    and the day-first family; the family that parses more values is used for every line (a tie
    reads month-first, and ``note`` says the order was ambiguous). Values neither family parses
    are quarantined as ``unparseable_value`` by the build.
    """
    if date_format:
        return {"date_formats": [date_format], "date_order": "configured", "date_note": ""}
    col = sql_identifier(column)
    month, day = list(MONTH_FIRST + UNAMBIGUOUS), list(DAY_FIRST + UNAMBIGUOUS)

    n, iso, by_month, by_day, only_month, only_day = con.execute(
        f"""
        with distinct_values as (
            select distinct trim(cast({col} as varchar)) as value from {reader} where {col} is not null
        ),
        parsed as (
            select
                try_cast(value as timestamp) is not null as is_iso,
                try_strptime(value, {_sql_list(month)}) is not null as by_month,
                try_strptime(value, {_sql_list(day)}) is not null as by_day
            from distinct_values
        )
        select count(*), count(*) filter (is_iso),
            count(*) filter (is_iso or by_month), count(*) filter (is_iso or by_day),
            count(*) filter (not is_iso and by_month and not by_day),
            count(*) filter (not is_iso and by_day and not by_month)
        from parsed
        """
    ).fetchone()
    if by_day > by_month:
        order, formats = "day_first", day
    else:
        order, formats = "month_first", month
    note = ""
    slash_dates = max(by_month, by_day) - iso
    if slash_dates and not only_month and not only_day:
        note = (
            "every text date in the file reads both month-first and day-first (no day above 12): "
            "read month-first; set --vars '{date_format: \"%d/%m/%Y %H:%M\"}' if the file is day-first"
        )
    elif only_month and only_day:
        note = (
            f"{only_day} distinct dates read only day-first and {only_month} only month-first: the file "
            f"mixes orders; read {order.replace('_', '-')}, the others are quarantined as unparseable_value"
        )
    return {"date_formats": formats, "date_order": order, "date_note": note, "distinct_dates": n}


def _check_types(mapping: dict, types: dict, files: list[str]) -> None:
    for field, column in mapping.items():
        if column is None:
            continue
        base = types[column].split("(")[0]
        if base not in FIELD_TYPES[field]:
            raise SourceError(
                f"Column '{column}' ({field}) in {', '.join(files)} has type {types[column]}, which "
                f"cannot hold {FIELD_NAMES[field]}: expected "
                f"{'a timestamp, a date or text' if field == 'invoiced_at' else 'a number or text'}. "
                "Convert the column, or map another one with column_map."
            )


def _one_column_hint(columns: list[str], fmt: str) -> str:
    if fmt != "csv" or len(columns) != 1:
        return ""
    return (
        f" The file was read as a single column named '{columns[0]}': its delimiter is not a comma, "
        "semicolon, tab or pipe (a whitespace-aligned text export?). Save it as CSV with one of those "
        "delimiters."
    )


def validate_input_options(options: dict) -> dict:
    """The probe's options with their types checked (values come from dbt vars)."""
    unknown = sorted(set(options) - set(INPUT_OPTIONS))
    if unknown:
        raise SourceError(f"unknown input option(s) {unknown}")
    out = {name: options.get(name) for name in INPUT_OPTIONS}
    for name in ("transactions_path", "transactions_format", "date_format", "transactions_sheet",
                 "transactions_encoding"):  # fmt: skip
        value = out[name]
        if value is None:
            out[name] = ""
        elif not isinstance(value, str):
            raise SourceError(f"The var {name} must be text, got {value!r}.")
    out["transactions_encoding"] = csv_encoding(out["transactions_encoding"], "transactions_encoding")
    column_map = out["column_map"] or {}
    if not isinstance(column_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in column_map.items()
    ):
        raise SourceError(
            "The var column_map must map field names to column names, e.g. "
            "--vars '{column_map: {customer_id: \"Client Ref\"}}'."
        )
    out["column_map"] = column_map
    reload_files = out["reload_files"] or []
    if not isinstance(reload_files, list) or not all(isinstance(f, str) for f in reload_files):
        raise SourceError(f"reload_files must be a list of paths, got {reload_files!r}")
    out["reload_files"] = reload_files
    out["date_range"] = bool(out["date_range"])
    if out["date_format"]:
        import duckdb

        if "%" not in out["date_format"]:
            raise SourceError(
                f"date_format {out['date_format']!r} has no % directive; use strptime codes such as "
                "'%d/%m/%Y %H:%M'."
            )
        try:
            duckdb.connect().execute("select try_strptime('2011-01-01', ?)", [out["date_format"]]).fetchone()
        except duckdb.Error as exc:
            raise SourceError(
                f"date_format {out['date_format']!r} is not a valid strptime format: "
                f"{str(exc).splitlines()[0]}. Example: '%d/%m/%Y %H:%M'."
            ) from exc
    return out


def probe_path(path: str, fmt: str = "", cache_dir: str = "target/custseg_cache") -> dict:
    """:func:`probe_source` of one file or glob, every other option at its default."""
    return probe_source({"transactions_path": path, "transactions_format": fmt}, cache_dir)


def unreadable(exc: Exception, files: list[str], fmt: str, kind: str) -> SourceError:
    """The error for files DuckDB could not read: a wrong encoding named with its setting, else
    DuckDB's first line and what to check (``kind``: transactions or customers, whose
    ``<kind>_encoding`` and ``<kind>_format`` settings the message names)."""
    hint = encoding_hint(str(exc), files, f"{kind}_encoding")
    if hint:
        return SourceError(hint)
    first = str(exc).strip().splitlines()[0]
    return SourceError(
        f"Cannot read {', '.join(files)} as {fmt.upper()}: {first}. "
        f"Check that the file is a complete {fmt.upper()} file (not truncated or of another "
        f"type), or set --vars '{{{kind}_format: ...}}'."
    )


def _read_shape(con, reader: str, files: list[str], fmt: str, fmt_read: str):
    """The described columns, whether there is a data row, and each file's row count; an
    unreadable file says how to fix it."""
    import duckdb

    try:
        described = con.execute(f"describe select * from {reader}").fetchall()
        has_rows = con.execute(f"select count(*) from (select 1 from {reader} limit 1)").fetchone()[0]
        file_rows = file_row_counts(con, reader, files, fmt_read)
    except duckdb.Error as exc:
        raise unreadable(exc, files, fmt, "transactions") from exc
    if not has_rows:
        raise SourceError(f"{', '.join(files)}: the file has no data rows (only a header, or nothing).")
    return described, file_rows


def _columns_and_dates(con, reader: str, described, files: list[str], fmt_read: str, options: dict):
    """The mapping of canonical fields to the file's columns (types checked) and how the dates read."""
    columns = [row[0] for row in described]
    types = {row[0]: row[1] for row in described}
    try:
        mapping = resolve_columns(columns, options["column_map"])
    except SourceError as exc:
        raise SourceError(str(exc) + _one_column_hint(columns, fmt_read)) from exc
    _check_types(mapping, types, files)
    date_column = mapping["invoiced_at"]
    if types[date_column] == "VARCHAR":
        dates = detect_date_formats(con, reader, date_column, options["date_format"])
    else:
        dates = {"date_formats": [], "date_order": "native", "date_note": ""}
    if options["date_range"]:
        dates["date_range"] = _date_range(con, reader, date_column, dates["date_formats"])
    return columns, types, mapping, dates


def _date_range(con, reader: str, column: str, formats: list[str]) -> list[str] | None:
    """The first and last day of the input's dates as the build reads them (ISO text, or None
    when no date reads), quarantined lines included: a bound for the checks of date settings."""
    col = sql_identifier(column)
    if formats:
        text = f"trim(cast({col} as varchar))"
        day = f"cast(coalesce(try_cast({text} as timestamp), try_strptime({text}, {_sql_list(formats)})) as date)"
    else:
        day = f"try_cast({col} as date)"
    low, high = con.execute(f"select min({day}), max({day}) from {reader}").fetchone()
    return [low.isoformat(), high.isoformat()] if low is not None else None


def _formula_note(con, reader: str, mapping: dict) -> str:
    """How many lines have a formula without a value in a column the build reads, and what to do."""
    columns = [sql_identifier(c) for c in mapping.values() if c]
    marker = sql_string(FORMULA_WITHOUT_VALUE + "%")
    lines = con.execute(
        f"select count(*) from {reader} where {' or '.join(f'{c} like {marker}' for c in columns)}"
    ).fetchone()[0]
    if not lines:
        return ""
    return (
        f"{lines:,} line(s) hold a formula without a value (the workbook was saved by a program that does not "
        "calculate formulas): they are quarantined as unparseable_value, the formula in the raw value. Open and "
        "save the workbook in Excel or LibreOffice, or export it as CSV, to read them."
    )


def probe_source(options: dict, cache_dir: str = "target/custseg_cache") -> dict:
    """Check the transactions input and describe how to read it.

    ``options``: every input option (:data:`INPUT_OPTIONS`, as the dbt plugin and the CLI pass
    them; the missing ones at their defaults). Returns ``{"ok": True, "format", "files",
    "reader_sql", "format_read", "file_rows", "columns", "types", "mapping", "date_formats",
    "date_order", "date_note"}`` or ``{"ok": False, "error": message}``; never raises for a bad input.
    """
    import duckdb

    try:
        options = validate_input_options(options)
        files = find_files(options["transactions_path"])
        if options["reload_files"]:
            files = _find_reload_files(files, options["reload_files"])
        fmt = detect_format(files, options["transactions_format"])
        source_files = list(files)
        fingerprints = [file_fingerprint(f) for f in files]
        fmt_read = "parquet" if fmt == "xlsx" else fmt
        if fmt == "xlsx":
            files = [
                xlsx_to_parquet(f, cache_dir, options["transactions_sheet"], options["column_map"])
                for f in files
            ]
        encoding = options["transactions_encoding"]
        if fmt_read == "csv":
            check_byte_order_mark(files, encoding, "transactions_encoding")
        reader = csv_reader_sql(files, encoding) if fmt_read == "csv" else parquet_reader_sql(files)
        con = duckdb.connect()
        try:
            described, file_rows = _read_shape(con, reader, files, fmt, fmt_read)
            columns, types, mapping, dates = _columns_and_dates(
                con, reader, described, files, fmt_read, options
            )
            input_note = _formula_note(con, reader, mapping) if fmt == "xlsx" else ""
        finally:
            con.close()
    except SourceError as exc:
        return {"ok": False, "error": str(exc)}
    return {
        "ok": True,
        "format": fmt,
        "files": files,
        # the files as named (files differs for XLSX: the cached Parquet copies) and their content
        # fingerprints, in the reader's file_index order
        "source_files": source_files,
        "fingerprints": fingerprints,
        "reader_sql": reader,
        # how a line's row in its file is computed (macro row_in_file_sql)
        "format_read": fmt_read,
        "file_rows": file_rows,
        "columns": columns,
        "types": {field: (types[col] if col else None) for field, col in mapping.items()},
        # columns stored as nanosecond timestamps (pandas' default): Spark cannot read them as
        # timestamps, so its reader takes them as integers and converts (spark_path, profiles.yml)
        "nanosecond_columns": [c for c in columns if types[c].startswith("TIMESTAMP_NS")],
        "mapping": mapping,
        "input_note": input_note,
        **dates,
    }
