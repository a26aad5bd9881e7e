"""XLSX workbooks: one sheet converted once to a cached Parquet file of text columns (DuckDB's
excel extension cannot be downloaded on offline machines), the sheet chosen by its header, and
formula cells without a computed value named in the data and in the build log."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import SourceError
from .columns import resolve_columns
from .quoting import sql_identifier, sql_string


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


def formula_note(con, reader: str, mapping: dict) -> str:
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
