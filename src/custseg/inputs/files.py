"""Finding the input files: a path or a glob (read literally when a file has that name), the
format from the extension, the content fingerprint, and the files' names as DuckDB reads them
(each listed file by its literal name, never expanded again)."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

from . import SourceError
from .quoting import sql_list

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


def find_reload_files(files: list[str], reload_files: list[str]) -> list[str]:
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


def literal_file_pattern(path: str) -> str:
    """A file name as a DuckDB glob that matches that file alone: DuckDB's readers expand every
    name they get (`*`, `?`, `[...]`), so each of those characters goes inside a class of its
    own (`sales[1].csv` -> `sales[[]1[]].csv`). Braces, commas and spaces are not special there."""
    return re.sub(r"([\[\]*?])", r"[\1]", str(path))


def files_sql(files: list[str]) -> str:
    """The files the project listed, each read by its literal name (never expanded again)."""
    return sql_list([literal_file_pattern(f) for f in files])
