"""The second input kind: a customer table (one row per customer, attribute columns).

:func:`probe_customer_table` is what the pre-flight hook and the customer-table models ask (through
the dbt plugin's ``custseg_probe_customers``). It reads the file once, in DuckDB, and returns how
to build it, or a message that says what is wrong and how to fix it:

* the id column (``customer_id_column``, else a column named like ``ID``/``customer_id``);
* a kind per column, inferred from the whole column and overridable (``customer_column_types``):
  ``numeric`` (at least 95% of the non-empty values read as numbers; the rest are counted as
  unparseable and imputed), ``boolean`` (true/false/yes/no words), ``date`` (ISO, or the
  month-first or day-first family that reads the most values: custseg.inputs.dates, the rule
  transactions follow too), ``categorical`` (anything else), ``empty`` (no value at all: kept out
  of the model and reported) or ``ignore`` (custseg.inputs.customer_kinds);
* the SQL that types each column, the levels of each categorical (top ``onehot_top_n`` by count,
  a null is the level ``(missing)``, the rest ``(other)``), and each engineered feature
  (``engineered_features``: name -> expression) checked as a tree (custseg.inputs.expressions);
* the model's feature names (numeric, boolean, engineered, one-hot ``column=level``), checked
  against ``segmentation_features``.

Every name and value that reaches SQL is quoted (custseg.inputs.quoting).
"""

from __future__ import annotations

import os
from typing import Any

from . import SourceError
from .customer_kinds import MISSING, OTHER, date_reading, find_id_column, infer_kind, text_sql, typed_sql
from .customer_options import HOW_TO_POINT, validate_options
from .expressions import translate_expression
from .files import detect_format, find_files
from .quoting import sql_identifier, sql_string
from .readers import check_byte_order_mark, csv_reader_sql, parquet_reader_sql, unreadable
from .xlsx import xlsx_to_parquet

# per-column statistics are computed this many columns per query (one query with 10,000
# aggregates crashed DuckDB's planner)
STATS_CHUNK = 200


def probe_customer_table(options: dict[str, Any], cache_dir: str = "target/custseg_cache") -> dict:
    """Check the customer table and describe how to build it (see the module docstring).

    Returns ``{"ok": True, ...}`` or ``{"ok": False, "error": message}``; never raises for a bad input.
    """
    import duckdb

    try:
        o = validate_options(options)
        files = find_files(o["customers_path"], var="customers_path", how_to=HOW_TO_POINT)
        fmt = detect_format(files, o["customers_format"], var="customers_format")
        source_files = list(files)
        if fmt == "xlsx":
            files = [xlsx_to_parquet(f, cache_dir) for f in files]
        if fmt in ("xlsx", "parquet"):
            reader = parquet_reader_sql(files)
        else:
            check_byte_order_mark(files, o["customers_encoding"], "customers_encoding")
            reader = csv_reader_sql(files, o["customers_encoding"])
        con = duckdb.connect()
        try:
            return {"ok": True, **_describe(con, reader, files, source_files, fmt, o)}
        finally:
            con.close()
    except SourceError as exc:
        return {"ok": False, "error": str(exc)}


def _load(con, reader: str, files: list[str], fmt: str, max_columns: int) -> tuple[list[tuple], int]:
    """Read the table once into a temp table (every check queries this copy; a customer table
    fits in memory): its described columns and row count."""
    import duckdb

    try:
        described = con.execute(f"describe select * from {reader}").fetchall()
        check_width(described, files, max_columns)
        con.execute(f"create temp table custseg_raw as select * from {reader}")
        n_rows = con.execute("select count(*) from custseg_raw").fetchone()[0]
    except duckdb.Error as exc:
        raise unreadable(exc, files, fmt, "customers") from exc
    return described, n_rows


def _check_shape(columns: list[str], n_rows: int, files: list[str], fmt: str, o: dict) -> str:
    """The id column, after the checks on the table's shape (one column, unknown overrides, too
    few rows)."""
    if len(columns) == 1 and fmt == "csv" and any(sep in columns[0] for sep in (";", "\t", "|")):
        raise SourceError(
            f"{files[0]} was read as one column '{columns[0][:60]}': its separator was not recognised. "
            "Save it with commas or tabs."
        )
    id_column = find_id_column(columns, o["customer_id_column"])
    unknown = sorted(set(o["customer_column_types"]) - set(columns))
    if unknown:
        raise SourceError(f"customer_column_types names {unknown}, which are not columns; columns: {columns}")
    minimum = max(3, int(o["k_min"] or 2) + 1)
    if n_rows < minimum:
        raise SourceError(
            f"{files[0]} has {n_rows} data row(s); segmenting needs at least {minimum} customers "
            f"(k_min + 1). Check that this is the whole customer table."
        )
    return id_column


def _kinds(con, reader: str, columns: list[str], native: dict, id_column: str, o: dict):
    """Each column's kind (inferred, or forced by customer_column_types) and the date format of
    its date columns."""
    kinds: dict[str, str] = {}
    readings: dict[str, dict] = {}
    for column in columns:
        if column == id_column:
            continue
        forced = o["customer_column_types"].get(column)
        if forced == "ignore":
            kinds[column] = "ignore"
            continue
        kind, reading = infer_kind(con, reader, column, native[column], o["customer_date_format"])
        if forced and forced != kind and kind != "empty":
            kind = forced
            if forced == "date":
                reading, _ = date_reading(con, reader, column, native[column], o["customer_date_format"])
        kinds[column] = kind
        if kind == "date":
            readings[column] = reading
    if not [c for c, k in kinds.items() if k not in ("ignore", "empty")]:
        raise SourceError(
            f"The customer table has no column to segment on besides the id '{id_column}'"
            + (f" (empty or ignored: {', '.join(kinds)})" if kinds else "")
            + ". Add attribute columns (spend, visits, demographics, ...)."
        )
    return kinds, readings


def _engineered(o: dict, known: dict[str, str], id_column: str, as_of) -> dict[str, str]:
    """The engineered features as checked SQL, each known to the ones after it."""
    known = dict(known)
    engineered = {}
    for name, expression in o["engineered_features"].items():
        if name in known or name == id_column:
            raise SourceError(f"engineered feature '{name}' has the name of a column; choose another name")
        engineered[name] = translate_expression(name, expression, known, as_of)
        known[name] = "numeric"
    return engineered


def _describe(con, reader: str, files: list[str], source_files: list[str], fmt: str, o: dict) -> dict:
    source = reader
    described, n_rows = _load(con, reader, files, fmt, o["customer_table_max_columns"])
    reader = "custseg_raw"
    columns = [row[0] for row in described]
    native = {row[0]: row[1] for row in described}
    id_column = _check_shape(columns, n_rows, files, fmt, o)
    kinds, readings = _kinds(con, reader, columns, native, id_column, o)
    usable = [c for c, k in kinds.items() if k not in ("ignore", "empty")]
    typed = {c: typed_sql(c, kinds[c], native[c], readings.get(c)) for c in usable}
    levels = {
        c: _levels(con, reader, typed[c], int(o["onehot_top_n"])) for c in usable if kinds[c] == "categorical"
    }
    as_of = _as_of(con, reader, typed, kinds, o["as_of_date"], source_files)
    engineered = _engineered(o, {c: kinds[c] for c in usable}, id_column, as_of)
    _check_expressions(con, reader, typed, engineered)
    numeric = [c for c in usable if kinds[c] in ("numeric", "boolean")]
    features = (
        numeric
        + list(engineered)
        + [
            f"{c}={level}"
            for c, (top, other) in levels.items()
            for level in [*top, *([OTHER] if other else [])]
        ]
    )
    _check_features(o, features, kinds, _constant_columns(con, reader, typed, numeric))
    return {
        "format": fmt,
        "files": files,
        "reader_sql": source,
        "rows": int(n_rows),
        "id_column": id_column,
        "id_sql": text_sql(id_column),
        "columns": [
            {
                "name": c,
                "kind": kinds[c],
                # how a date column reads: native, configured, month_first or day_first
                "date_order": readings[c]["date_order"] if c in readings else "",
                "typed_sql": typed.get(c, ""),
            }
            for c in kinds
        ],
        "levels": {c: top for c, (top, _other) in levels.items()},
        "has_other": {c: other for c, (_top, other) in levels.items()},
        "engineered": [{"name": n, "sql": s} for n, s in engineered.items()],
        "features": features,
        "as_of_date": as_of,
        # the date columns whose order was a guess (every date reads both ways) or mixed
        "date_note": "; ".join(f"{c}: {r['date_note']}" for c, r in readings.items() if r["date_note"]),
    }


def check_width(described: list, files: list[str], widest: int) -> None:
    """A table wider than customer_table_max_columns is refused before any statistic is computed."""
    if len(described) > widest:
        raise SourceError(
            f"{files[0]} has {len(described):,} columns; a customer table may have at most {widest:,} "
            "(customer_table_max_columns). Keep the id and the columns worth segmenting on (export fewer "
            f"columns), or raise the limit, e.g. --vars '{{customer_table_max_columns: {len(described)}}}'."
        )


def _levels(con, reader: str, typed: str, top_n: int) -> tuple[list[str], bool]:
    """The top ``top_n`` levels by count (ties by level) with nulls as (missing); and whether more exist."""
    rows = con.execute(
        f"select coalesce({typed}, {sql_string(MISSING)}) as level, count(*) as n from {reader} "
        f"group by 1 order by n desc, level limit {top_n + 1}"
    ).fetchall()
    return [r[0] for r in rows[:top_n]], len(rows) > top_n


def _as_of(con, reader, typed, kinds, configured, files) -> str:
    """The snapshot date: var as_of_date, else the day after the latest date in any date column,
    else the day the file was last modified (a table without dates is a snapshot of that day)."""
    from datetime import datetime, timedelta, timezone

    if configured:
        return str(configured)
    dates = [typed[c] for c in typed if kinds[c] == "date"]
    latest = None
    if dates:
        latest = con.execute(f"select max(greatest({', '.join(dates)})) from {reader}").fetchone()[0]
    if latest is None:
        modified = max(os.path.getmtime(f) for f in files)
        return datetime.fromtimestamp(modified, tz=timezone.utc).date().isoformat()
    return (latest + timedelta(days=1)).isoformat()


def _check_expressions(con, reader, typed, engineered) -> None:
    """Each engineered expression runs on the typed table and gives a number; else its name and why."""
    import duckdb

    if not engineered:
        return
    base = ", ".join(f"{sql} as {sql_identifier(c)}" for c, sql in typed.items())
    con.execute(f"create or replace temp table custseg_typed as select {base} from {reader}")
    done: list[str] = []
    for name, sql in engineered.items():
        item = f"cast(({sql}) as double) as {sql_identifier(name)}"
        select = ", ".join(["*", *done, item])
        try:
            con.execute(f"select {select} from custseg_typed limit 100").fetchall()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise SourceError(f"engineered feature '{name}' cannot be computed: {first}") from exc
        done.append(item)


def _constant_columns(con, reader, typed, columns) -> set[str]:
    constant = set()
    for start in range(0, len(columns), STATS_CHUNK):
        chunk = columns[start : start + STATS_CHUNK]
        # at most one distinct value: min = max, or no value at all (cheaper than count distinct)
        flags = con.execute(
            "select "
            + ", ".join(f"coalesce(min({typed[c]}) = max({typed[c]}), true)" for c in chunk)
            + f" from {reader}"
        ).fetchone()
        constant |= {c for c, flag in zip(chunk, flags, strict=True) if flag}
    return constant


def _check_features(o, features, kinds, constant) -> None:
    """segmentation_features (and the log ones) must be model features of this table."""
    wanted = o["segmentation_features"]
    problems = []
    for f in wanted:
        if f in features:
            if f in constant:
                problems.append(
                    f"'{f}' has one value for every customer, so it cannot separate them: remove it"
                )
            continue
        if kinds.get(f) == "categorical":
            cols = [x for x in features if x.startswith(f + "=")]
            problems.append(f"'{f}' is categorical: name its one-hot columns instead ({', '.join(cols)})")
        elif kinds.get(f) in ("date", "empty", "ignore"):
            problems.append(f"'{f}' is a {kinds[f]} column, not a number (derive one in engineered_features)")
        else:
            problems.append(f"'{f}' is not a feature of the customer table")
    if problems or not wanted:
        raise SourceError(
            "segmentation_features must name features of the customer table"
            + (": " + "; ".join(problems) if problems else " (it is empty)")
            + f". Features: {', '.join(features)}."
        )
    value = o["segment_value_feature"] or ""
    if value and value not in features:
        raise SourceError(
            f"segment_value_feature '{value}' is not a numeric feature of the customer table. "
            f"Features: {', '.join(features)}."
        )
    bad_log = [f for f in o["segmentation_log_features"] if f not in wanted]
    if bad_log:
        raise SourceError(f"segmentation_log_features {bad_log} are not in segmentation_features {wanted}")
