"""Reading CSV and Parquet files with DuckDB: the reader expressions, text encodings (UTF-8,
UTF-16, Latin-1) and the messages for files DuckDB cannot read."""

from __future__ import annotations

import re

from . import SourceError
from .files import files_sql
from .quoting import sql_string

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
    return f"read_csv({files_sql(files)}, header = true, all_varchar = true, union_by_name = true{options})"


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
    return f"read_parquet({files_sql(files)}, union_by_name = true)"


def file_row_counts(con, reader: str, files: list[str], fmt_read: str) -> list[int] | None:
    """Rows per file, for a multi-file CSV input: CSV has no ``file_row_number`` column, so a
    line's row in its file is its position in the scan minus the rows of the files read before
    it (macro row_in_file_sql). None where it is not needed (Parquet, or one file)."""
    if fmt_read == "parquet" or len(files) == 1:
        return None
    counts = dict(con.execute(f"select file_index, count(*) from {reader} group by file_index").fetchall())
    return [int(counts.get(i, 0)) for i in range(len(files))]


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
