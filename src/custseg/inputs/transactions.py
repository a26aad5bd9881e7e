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
  value, so one file is never read both ways (custseg.inputs.dates, the rule customer tables
  follow too).

XLSX files are converted once to a cached Parquet file (all columns as text; custseg.inputs.xlsx);
the SQL then reads that Parquet file and does all parsing and typing itself.
"""

from __future__ import annotations

from pathlib import Path

from . import SourceError
from .columns import check_types, one_column_hint, resolve_columns
from .dates import date_order, timestamp_sql
from .files import detect_format, file_fingerprint, find_files, find_reload_files
from .pulls import reader_sql as pull_reader_sql
from .quoting import sql_identifier
from .readers import (
    check_byte_order_mark,
    csv_encoding,
    csv_reader_sql,
    file_row_counts,
    parquet_reader_sql,
    unreadable,
)
from .xlsx import formula_note, xlsx_to_parquet

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
    # a database table instead of files (custseg.inputs.pulls; the URL is the environment's)
    "transactions_table",
    "transactions_key_columns",
    "transactions_updated_at_column",
    # not vars: where the pull files live (beside the working warehouse), the ones the line store
    # holds, whether this is `dbt build --full-refresh`, and whether the command loads (dbt build
    # or run pull the table; compile, docs generate and show read the last pull; default true)
    "pull_dir",
    "loaded_pulls",
    "full_refresh",
    "pull_now",
)


def validate_input_options(options: dict) -> dict:
    """The probe's options with their types checked (values come from dbt vars)."""
    unknown = sorted(set(options) - set(INPUT_OPTIONS))
    if unknown:
        raise SourceError(f"unknown input option(s) {unknown}")
    out = {name: options.get(name) for name in INPUT_OPTIONS}
    for name in ("transactions_path", "transactions_format", "date_format", "transactions_sheet",
                 "transactions_encoding", "transactions_table", "pull_dir"):  # fmt: skip
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
    out["full_refresh"] = bool(out["full_refresh"])
    out["pull_now"] = out["pull_now"] is None or bool(out["pull_now"])
    out["loaded_pulls"] = list(out["loaded_pulls"] or [])
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
        raise SourceError(str(exc) + one_column_hint(columns, fmt_read)) from exc
    check_types(mapping, types, files)
    date_column = mapping["invoiced_at"]
    if types[date_column] == "VARCHAR":
        text = f"trim(cast({sql_identifier(date_column)} as varchar))"
        dates = date_order(con, reader, text, options["date_format"], "date_format")
        if "mixes orders" in dates["date_note"]:
            dates["date_note"] += " (the build quarantines those lines as unparseable_value)"
    else:
        dates = {"date_formats": [], "date_order": "native", "date_note": ""}
    if options["date_range"]:
        dates["date_range"] = _date_range(con, reader, date_column, dates["date_formats"])
    return columns, types, mapping, dates


def _date_range(con, reader: str, column: str, formats: list[str]) -> list[str] | None:
    """The first and last day of the input's dates as the build reads them (ISO text, or None
    when no date reads), quarantined lines included: a bound for the checks of date settings."""
    col = sql_identifier(column)
    day = (
        f"cast({timestamp_sql(f'trim(cast({col} as varchar))', formats)} as date)"
        if formats
        else f"try_cast({col} as date)"
    )
    low, high = con.execute(f"select min({day}), max({day}) from {reader}").fetchone()
    return [low.isoformat(), high.isoformat()] if low is not None else None


def probe_source(options: dict, cache_dir: str = "target/custseg_cache") -> dict:
    """Check the transactions input and describe how to read it.

    ``options``: every input option (:data:`INPUT_OPTIONS`, as the dbt plugin and the CLI pass
    them; the missing ones at their defaults). Returns ``{"ok": True, "format", "files",
    "reader_sql", "format_read", "file_rows", "columns", "types", "mapping", "date_formats",
    "date_order", "date_note"}`` or ``{"ok": False, "error": message}``; never raises for a bad input.
    """
    import duckdb

    pulled = None
    try:
        options = validate_input_options(options)
        pulled = _pull(options) if options["transactions_table"] else None
        files, fmt = _input_files(options, pulled)
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
        reader = _reader(files, fmt_read, encoding, pulled)
        con = duckdb.connect()
        try:
            described, file_rows = _read_shape(con, reader, files, fmt, fmt_read)
            columns, types, mapping, dates = _columns_and_dates(
                con, reader, described, files, fmt_read, options
            )
            input_note = formula_note(con, reader, mapping) if fmt == "xlsx" else ""
        finally:
            con.close()
    except SourceError as exc:
        if pulled is not None and pulled["new_file"]:
            Path(pulled["new_file"]).unlink(missing_ok=True)  # a pull the build cannot use is not kept
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
        # a database source: what the pull read (custseg.inputs.pulls.pull), else None
        "pull": pulled,
        **dates,
    }


def refusal(build_vars: dict, workdir: str | Path) -> str:
    """What the build's pre-flight would stop with, given a build's vars ("" when it would read
    its input): the probe over the vars' input options, in this process, before dbt starts (the
    upload, ``custseg score``), with the build's own cache folder in ``workdir`` (workspace_env's
    target: an XLSX is converted once) and the build's own message. "" when the vars name a
    database table, which the build reads instead of files."""
    if build_vars.get("transactions_table"):
        return ""
    options = {name: build_vars[name] for name in INPUT_OPTIONS if name in build_vars}
    checked = probe_source(options, cache_dir=str(Path(workdir) / "target" / "custseg_cache"))
    return "" if checked["ok"] else "Transactions input problem: " + checked["error"]


def _input_files(options: dict, pulled: dict | None) -> tuple[list[str], str]:
    """The files this build reads (a database source's pull files, else transactions_path's, and
    on a full refresh the files loaded before) and their format."""
    if pulled is not None:
        return pulled["files"], "parquet"
    files = find_files(options["transactions_path"])
    if options["reload_files"]:
        files = find_reload_files(files, options["reload_files"])
    return files, detect_format(files, options["transactions_format"])


def _reader(files: list[str], fmt_read: str, encoding: str, pulled: dict | None) -> str:
    if pulled is not None:
        return pull_reader_sql(files, pulled["key_columns"])
    return csv_reader_sql(files, encoding) if fmt_read == "csv" else parquet_reader_sql(files)


def _pull(options: dict) -> dict:
    """The database pull of this build (the files it reads; see custseg.inputs.pulls)."""
    from ..project import project_var
    from .pulls import last_pull, pull

    if options["transactions_path"] and options["transactions_path"] != project_var("transactions_path"):
        raise SourceError(
            "Both transactions_table and transactions_path are set; the build reads one of them. "
            "Leave transactions_path at its default when reading a table."
        )
    if not options["pull_dir"]:
        raise SourceError("A database source needs the pull folder (pull_dir), which the dbt build passes.")
    if not options["pull_now"]:
        return last_pull(options, options["pull_dir"], options["loaded_pulls"])
    return pull(options, options["pull_dir"], options["loaded_pulls"], full_refresh=options["full_refresh"])
