"""Checks a transactions file before dbt reads it, and resolves its columns.

dbt calls :func:`probe_source` through a DuckDB UDF registered by :mod:`custseg.dbt_plugin`
(``custseg_probe_source``) when it compiles the source model. Everything that can be wrong
with an input file is found here and turned into one message that says what is wrong and how
to fix it, so a bad file stops the build before any table is written:

* no file matches the path or glob; an unknown or unsupported extension;
* an empty file, a header with no data rows, a file that cannot be parsed;
* a required column that is missing (the message lists the accepted spellings).

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


def _detect_format(files: list[str], fmt: str) -> str:
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in {"csv", "parquet", "xlsx"}:
            raise SourceError(f"transactions_format '{fmt}' is not supported; use csv, parquet or xlsx.")
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
                "Rename the file or set --vars '{transactions_format: csv}'."
            )
        formats.add(FORMATS[suffix])
    if len(formats) > 1:
        raise SourceError(f"The path matches files of different formats ({sorted(formats)}); use one format.")
    return formats.pop()


def _find_files(path: str) -> list[str]:
    if not path:
        raise SourceError("The var transactions_path is empty. " + HOW_TO_POINT)
    if glob.has_magic(path):
        files = sorted(f for f in glob.glob(path) if os.path.isfile(f))
    else:
        files = [path] if os.path.exists(path) else []
        if files and os.path.isdir(path):
            raise SourceError(f"'{path}' is a directory. Use a glob such as '{path}/*.parquet'.")
    if not files:
        raise SourceError(f"No file matches '{path}' (relative to {os.getcwd()}). " + HOW_TO_POINT)
    for f in files:
        if not os.access(f, os.R_OK):
            raise SourceError(f"'{f}' exists but cannot be read (permission denied).")
        if os.path.getsize(f) == 0:
            raise SourceError(f"'{f}' is empty (0 bytes). Export the transactions again.")
    # absolute, so the staging views work from any working directory (BI tools, the serving copy)
    return [os.path.abspath(f) for f in files]


def _sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def csv_reader_sql(files: list[str]) -> str:
    """The DuckDB expression that reads the CSV files; shared by the probe and the dbt model."""
    return f"read_csv({_sql_list(files)}, header = true, all_varchar = true, union_by_name = true)"


def parquet_reader_sql(files: list[str]) -> str:
    return f"read_parquet({_sql_list(files)}, union_by_name = true)"


def row_number_sql(con, files: list[str], fmt_read: str) -> str:
    """The expression for a line's 1-based position in the input (files in name order).

    Parquet has the virtual columns ``file_row_number`` and ``file_index``, so the position is
    computed in parallel: the row within its file plus the rows of the files before it (from
    the Parquet footers, no data read). CSV has no such column and falls back to
    ``row_number() over ()``, which DuckDB evaluates on one thread in scan order.
    """
    if fmt_read != "parquet":
        return "row_number() over ()"
    if len(files) == 1:
        return "file_row_number + 1"
    offsets, total = [], 0
    for f in files:
        offsets.append(total)
        total += con.execute(f"select count(*) from read_parquet({_sql_list([f])})").fetchone()[0]
    cases = " ".join(f"when {i} then {offset}" for i, offset in enumerate(offsets))
    return f"file_row_number + 1 + case file_index {cases} end"


def _xlsx_to_parquet(path: str, cache_dir: str) -> str:
    """Convert the first sheet of an XLSX workbook to a Parquet file of text columns (cached)."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    stat = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    out = (Path(cache_dir) / f"xlsx_{key}.parquet").resolve()
    if out.exists():
        return str(out)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise SourceError(
            f"Cannot read '{path}' as an XLSX workbook: {exc}. Check the file, or export CSV."
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or all(h is None for h in header):
            raise SourceError(f"'{path}' has an empty first sheet; the first row must hold the column names.")
        names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        out.parent.mkdir(parents=True, exist_ok=True)
        schema = pa.schema([(n, pa.string()) for n in names])
        tmp = out.with_suffix(".partial")
        n_rows = 0
        with pq.ParquetWriter(tmp, schema) as writer:
            batch: list[list] = [[] for _ in names]

            def flush() -> None:
                writer.write_table(
                    pa.Table.from_arrays([pa.array(c, pa.string()) for c in batch], schema=schema)
                )
                for c in batch:
                    c.clear()

            for row in rows:
                if row is None or all(v is None for v in row):
                    continue
                for i in range(len(names)):
                    v = row[i] if i < len(row) else None
                    if v is None:
                        batch[i].append(None)
                    elif hasattr(v, "isoformat"):
                        batch[i].append(v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat())
                    elif isinstance(v, float) and v.is_integer():
                        batch[i].append(str(int(v)) if abs(v) < 1e15 else repr(v))
                    else:
                        batch[i].append(str(v))
                n_rows += 1
                if len(batch[0]) >= 100_000:
                    flush()
            flush()
        if n_rows == 0:
            tmp.unlink(missing_ok=True)
            raise SourceError(f"'{path}' has a header row but no data rows.")
        tmp.replace(out)
    finally:
        workbook.close()
    return str(out)


def probe_source(path: str, fmt: str = "", cache_dir: str = "target/custseg_cache", column_map=None) -> dict:
    """Check the transactions input and describe how to read it.

    Returns ``{"ok": True, "format", "files", "reader_sql", "row_number_sql", "columns", "types",
    "mapping"}`` or
    ``{"ok": False, "error": message}``; never raises for a bad input.
    """
    import duckdb

    if isinstance(column_map, str):
        column_map = json.loads(column_map or "{}")
    try:
        files = _find_files(path)
        fmt = _detect_format(files, fmt)
        if fmt == "xlsx":
            files = [_xlsx_to_parquet(f, cache_dir) for f in files]
            fmt_read = "parquet"
        else:
            fmt_read = fmt
        reader = csv_reader_sql(files) if fmt_read == "csv" else parquet_reader_sql(files)
        con = duckdb.connect()
        try:
            described = con.execute(f"describe select * from {reader}").fetchall()
            has_rows = con.execute(f"select count(*) from (select 1 from {reader} limit 1)").fetchone()[0]
            position = row_number_sql(con, files, fmt_read)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise SourceError(
                f"Cannot read {', '.join(files)} as {fmt.upper()}: {first}. "
                f"Check that the file is a complete {fmt.upper()} file (not truncated or of another "
                "type), or set --vars '{transactions_format: ...}'."
            ) from exc
        finally:
            con.close()
        if not has_rows:
            raise SourceError(f"{', '.join(files)}: the file has no data rows (only a header, or nothing).")
        columns = [row[0] for row in described]
        types = {row[0]: row[1] for row in described}
        mapping = resolve_columns(columns, column_map)
    except SourceError as exc:
        return {"ok": False, "error": str(exc)}
    return {
        "ok": True,
        "format": fmt,
        "files": files,
        "reader_sql": reader,
        "row_number_sql": position,
        "columns": columns,
        "types": {field: (types[col] if col else None) for field, col in mapping.items()},
        "mapping": mapping,
    }
