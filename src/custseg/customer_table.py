"""The second input kind: a customer table (one row per customer, attribute columns).

:func:`probe_customer_table` is what the pre-flight hook and the customer-table models ask (through
the dbt plugin's ``custseg_probe_customers``). It reads the file once, in DuckDB, and returns how
to build it, or a message that says what is wrong and how to fix it:

* the id column (``customer_id_column``, else a column named like ``ID``/``customer_id``);
* a kind per column, inferred from the whole column and overridable (``customer_column_types``):
  ``numeric`` (at least 95% of the non-empty values read as numbers; the rest are counted as
  unparseable and imputed), ``boolean`` (true/false/yes/no words), ``date`` (ISO, or the one
  strptime format that reads the most values), ``categorical`` (anything else), ``empty`` (no
  value at all: kept out of the model and reported) or ``ignore``;
* the SQL that types each column, the levels of each categorical (top ``onehot_top_n`` by count,
  a null is the level ``(missing)``, the rest ``(other)``), and each engineered feature
  (``engineered_features``: name -> expression) translated from a small, checked grammar;
* the model's feature names (numeric, boolean, engineered, one-hot ``column=level``), checked
  against ``segmentation_features``.

Every name and value that reaches SQL is quoted (:func:`custseg.ingest.sql_identifier`,
:func:`custseg.ingest.sql_string`); expressions are tokenised and only known columns, numbers,
strings, operators, a few keywords and the functions in :data:`FUNCTIONS` pass.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from typing import Any

from .ingest import (
    NUMBER_TYPES,
    TIME_TYPES,
    SourceError,
    check_byte_order_mark,
    csv_encoding,
    csv_reader_sql,
    detect_format,
    find_files,
    parquet_reader_sql,
    sql_identifier,
    sql_string,
    unreadable,
    xlsx_to_parquet,
)
from .project import project_var

OPTIONS = (
    "customers_path",
    "customers_format",
    "customer_id_column",
    "customer_column_types",
    "customer_date_format",
    "engineered_features",
    "onehot_top_n",
    "impute_strategy",
    "outlier_rule",
    "outlier_iqr_factor",
    "as_of_date",
    "segmentation_features",
    "segmentation_log_features",
    "k_min",
    "segment_value_feature",
    "customer_table_max_columns",
    "customers_encoding",
)
KINDS = ("numeric", "boolean", "date", "categorical", "ignore")
HOW_TO_POINT = (
    "Point the build at your customer table with --vars '{customers_path: path/to/customers.csv, "
    "customer_id_column: ID}' (CSV, Parquet or XLSX)."
)
ID_NAMES = ("customerid", "custid", "clientid", "memberid", "userid", "id")
TRUE_WORDS = ("true", "t", "yes", "y")
FALSE_WORDS = ("false", "f", "no", "n")
MISSING, OTHER = "(missing)", "(other)"
# share of the non-empty values that must read as a number / date for that kind
TYPE_SHARE = 0.95
DATE_FORMATS = (
    "%Y-%m-%d", "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M",
)  # fmt: skip
IMPUTE = ("median", "mean", "zero")
# per-column statistics are computed this many columns per query (one query with 10,000
# aggregates crashed DuckDB's planner)
STATS_CHUNK = 200
OUTLIER_RULES = ("clip", "quarantine", "none")

# functions an engineered feature may call (DuckDB spelling), and the project's own ones
FUNCTIONS = {
    "abs", "ln", "log10", "sqrt", "exp", "power", "round", "floor", "ceil", "coalesce", "nullif",
    "greatest", "least", "year", "month", "day", "lower", "upper", "length", "trim",
}  # fmt: skip
OWN_FUNCTIONS = {"days_between": "date_diff('day',"}  # days_between(a, b) = days from a to b
ALLOWED_FUNCTIONS_TEXT = ", ".join(sorted(FUNCTIONS | set(OWN_FUNCTIONS)))
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<string>'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")+")
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><=|>=|<>|!=|\|\||[-+*/%(),<>=])""",
    re.X,
)


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def validate_options(options: dict[str, Any]) -> dict[str, Any]:
    """The customer-table options with their types checked (the defaults live in dbt_project.yml)."""
    o = {name: options.get(name) for name in OPTIONS}
    for name in ("customers_path", "customers_format", "customer_id_column", "customer_date_format",
                 "customers_encoding"):  # fmt: skip
        if o[name] is None:
            o[name] = ""
        if not isinstance(o[name], str):
            raise SourceError(f"{name} must be text, got {o[name]!r}")
    for name in ("customer_column_types", "engineered_features"):
        o[name] = o[name] or {}
        if not isinstance(o[name], dict) or not all(isinstance(v, str) for v in o[name].values()):
            raise SourceError(
                f"{name} must map column names to text, e.g. {{Income: numeric}}, got {o[name]!r}"
            )
    bad = {c: k for c, k in o["customer_column_types"].items() if k not in KINDS}
    if bad:
        raise SourceError(f"customer_column_types {bad}: each kind must be one of {', '.join(KINDS)}")
    top = o["onehot_top_n"]
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise SourceError(f"onehot_top_n must be a whole number >= 1, got {top!r}")
    if o["impute_strategy"] not in IMPUTE:
        raise SourceError(f"impute_strategy must be one of {', '.join(IMPUTE)}, got {o['impute_strategy']!r}")
    if o["outlier_rule"] not in OUTLIER_RULES:
        raise SourceError(
            f"outlier_rule must be one of {', '.join(OUTLIER_RULES)}, got {o['outlier_rule']!r}"
        )
    o["customers_encoding"] = csv_encoding(o["customers_encoding"], "customers_encoding")
    widest = o["customer_table_max_columns"]
    if widest is None:  # a caller outside dbt (the CLI, a test): the project's default
        o["customer_table_max_columns"] = widest = project_var("customer_table_max_columns")
    if isinstance(widest, bool) or not isinstance(widest, int) or widest < 2:
        raise SourceError(f"customer_table_max_columns must be a whole number >= 2, got {widest!r}")
    factor = o["outlier_iqr_factor"]
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        raise SourceError(f"outlier_iqr_factor must be a number > 0, got {factor!r}")
    for name in ("segmentation_features", "segmentation_log_features"):
        o[name] = list(o[name] or [])
    return o


def find_id_column(columns: list[str], configured: str) -> str:
    """The configured id column, else the first column named like a customer id."""
    if configured:
        if configured in columns:
            return configured
        close = [c for c in columns if _norm(c) == _norm(configured)]
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise SourceError(
            f"customer_id_column '{configured}' is not a column of the customer table.{hint} "
            f"Columns: {', '.join(columns)}."
        )
    for wanted in ID_NAMES:
        for column in columns:
            if _norm(column) == wanted:
                return column
    raise SourceError(
        "The customer table needs an id column and none is named like one (ID, customer_id, ...). "
        f"Name it with --vars '{{customer_id_column: <column>}}'. Columns: {', '.join(columns)}."
    )


def _text(column: str) -> str:
    """The column as trimmed text, empty text as null (how every kind is read)."""
    return f"nullif(trim(cast({sql_identifier(column)} as varchar)), '')"


def _number_sql(column: str, native: str) -> str:
    if _is_number_type(native):
        return f"cast({sql_identifier(column)} as double)"
    return f"try_cast({_text(column)} as double)"


def _boolean_sql(column: str, native: str) -> str:
    if native == "BOOLEAN":
        return f"cast({sql_identifier(column)} as double)"
    text = f"lower({_text(column)})"
    trues = ", ".join(sql_string(w) for w in (*TRUE_WORDS, "1"))
    falses = ", ".join(sql_string(w) for w in (*FALSE_WORDS, "0"))
    return f"cast(case when {text} in ({trues}) then 1 when {text} in ({falses}) then 0 end as double)"


def _date_sql(column: str, native: str, fmt: str) -> str:
    if native in TIME_TYPES:
        return f"cast({sql_identifier(column)} as date)"
    if fmt == "iso":
        return f"try_cast({_text(column)} as date)"
    return f"cast(try_strptime({_text(column)}, {sql_string(fmt)}) as date)"


def _is_number_type(native: str) -> bool:
    return native.split("(")[0] in NUMBER_TYPES  # DECIMAL(18,3) is a DECIMAL


def infer_kind(con, reader: str, column: str, native: str, date_format: str) -> tuple[str, str]:
    """(kind, date format) of one column from all of its values."""
    if _is_number_type(native):
        return "numeric", ""
    if native == "BOOLEAN":
        return "boolean", ""
    if native in TIME_TYPES:
        return "date", "native"
    text = _text(column)
    words = ", ".join(sql_string(w) for w in (*TRUE_WORDS, *FALSE_WORDS))
    present, numbers, booleans = con.execute(
        f"select count({text}), count(try_cast({text} as double)), "
        f"count(case when lower({text}) in ({words}) then 1 end) from {reader}"
    ).fetchone()
    if present == 0:
        return "empty", ""
    if booleans == present:
        return "boolean", ""
    if numbers >= TYPE_SHARE * present:
        return "numeric", ""
    best, best_count = _best_date_format(con, reader, column, native, date_format)
    if best_count and best_count >= TYPE_SHARE * present:
        return "date", best
    return "categorical", ""


def translate_expression(name: str, expression: str, columns: dict[str, str], as_of: str) -> str:
    """An engineered feature's expression as DuckDB SQL, or a SourceError naming it.

    Three steps, none of which passes text through unchecked:

    1. the expression is split into tokens of a small grammar (names, "quoted names", numbers,
       'text', operators; anything else is refused, and `--` is two minus signs, never a comment);
    2. DuckDB's own parser turns the tokens into a tree (``json_serialize_sql``), so the check
       sees what DuckDB would run: every function node must be on :data:`FUNCTIONS` with no
       schema or catalog (a quoted name called as a function is a function, and is checked), every
       name must be a column (matched exactly, then case-insensitively) or ``as_of_date`` (the
       build's snapshot date), and only plain expression nodes may appear (no subquery, cast,
       window, lambda, star, subscript, parameter);
    3. the checked tree, its names replaced by the columns they resolve to, is rendered back to
       SQL by DuckDB (``json_deserialize_sql``), which quotes every name that needs it."""
    tokens = _grammar_tokens(name, expression)
    statement = _parse_select(name, expression, " ".join(tokens))
    node = statement["node"]["select_list"][0]
    node["alias"] = ""
    lowered = {c.lower(): c for c in columns}
    node = _checked(node, name, expression, columns, lowered, as_of)
    statement["node"]["select_list"] = [node]
    return _render(statement)


def _grammar_tokens(name: str, expression: str) -> list[str]:
    tokens = []
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match:
            raise SourceError(
                f"engineered feature '{name}': cannot read {expression[pos : pos + 20]!r} in {expression!r}; "
                "use column names, numbers, 'text', + - * / %, comparisons, CASE WHEN and "
                f"the functions {ALLOWED_FUNCTIONS_TEXT}"
            )
        pos = match.end()
        if match.lastgroup != "space":
            tokens.append(match.group())
    if not tokens:
        raise SourceError(f"engineered feature '{name}' has an empty expression")
    return tokens


# one in-memory DuckDB for parsing and rendering expressions (it reads no data)
_PARSER: dict[str, Any] = {}
_PARSER_LOCK = threading.Lock()


def _duckdb_json(function: str, argument: str) -> str:
    import duckdb

    with _PARSER_LOCK:
        if "con" not in _PARSER:
            _PARSER["con"] = duckdb.connect()
        return _PARSER["con"].execute(f"select {function}(?)", [argument]).fetchone()[0]


def _parse_select(name: str, expression: str, text: str) -> dict:
    """The statement ``select <text>`` as DuckDB's parse tree; exactly one plain expression."""
    tree = json.loads(_duckdb_json("json_serialize_sql", f"select {text}"))
    if tree.get("error"):
        message = str(tree.get("error_message", "")).splitlines()[0]
        raise SourceError(f"engineered feature '{name}': cannot read {expression!r}: {message}")
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    rest = {k: v for k, v in node.items() if k != "select_list"}
    if rest != _plain_select() or len(node["select_list"]) != 1:
        raise SourceError(f"engineered feature '{name}': {expression!r} is not one expression")
    return statements[0]


@functools.cache
def _plain_select() -> dict:
    """Everything of ``select 1``'s tree but its select list: no from, where, group, cte, ..."""
    node = json.loads(_duckdb_json("json_serialize_sql", "select 1"))["statements"][0]["node"]
    return {k: v for k, v in node.items() if k != "select_list"}


_ALLOWED_NODES = {
    "CONSTANT": {"VALUE_CONSTANT"},
    "COLUMN_REF": {"COLUMN_REF"},
    "FUNCTION": {"FUNCTION"},
    "COMPARISON": {
        "COMPARE_EQUAL", "COMPARE_NOTEQUAL", "COMPARE_LESSTHAN", "COMPARE_GREATERTHAN",
        "COMPARE_LESSTHANOREQUALTO", "COMPARE_GREATERTHANOREQUALTO",
    },
    "CONJUNCTION": {"CONJUNCTION_AND", "CONJUNCTION_OR"},
    "OPERATOR": {"OPERATOR_NOT", "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL", "COMPARE_IN", "COMPARE_NOT_IN"},
    "BETWEEN": {"COMPARE_BETWEEN"},
    "CASE": {"CASE_EXPR"},
}  # fmt: skip
# operators DuckDB's parser writes as function nodes (like is ~~)
_OPERATORS = {"+", "-", "*", "/", "%", "||", "~~", "!~~"}


def _checked(node: Any, name: str, expression: str, columns, lowered, as_of: str) -> Any:
    """The tree with every node checked and every name resolved (see translate_expression)."""
    if isinstance(node, list):
        return [_checked(item, name, expression, columns, lowered, as_of) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("class")
    if kind is None:  # not an expression (a constant's value, an empty modifier): its parts are
        return {k: _checked(v, name, expression, columns, lowered, as_of) for k, v in node.items()}
    if node.get("type") not in _ALLOWED_NODES.get(kind, ()):
        raise SourceError(
            f"engineered feature '{name}': {expression!r} uses {str(node.get('type')).lower()}, which an "
            "engineered feature may not; use column names, numbers, 'text', + - * / %, comparisons, "
            f"CASE WHEN and the functions {ALLOWED_FUNCTIONS_TEXT}"
        )
    if kind == "COLUMN_REF":
        return _resolved(node, name, expression, columns, lowered, as_of)
    if kind == "FUNCTION":
        node = _checked_function(node, name, expression)
    return {k: _checked(v, name, expression, columns, lowered, as_of) for k, v in node.items()}


def _checked_function(node: dict, name: str, expression: str) -> dict:
    function = str(node["function_name"])
    path = (node.get("qualified_name") or {}).get("path") or [function]
    arguments = node.get("arguments")  # DuckDB 2: [{name, expression}]; earlier: children
    plain = not (
        node.get("schema") or node.get("catalog") or node.get("distinct") or node.get("filter")
        or node.get("export_state") or (node.get("order_bys") or {}).get("orders")
        or path != [function] or any(a.get("name") for a in arguments or [])
    )  # fmt: skip
    if node.get("is_operator"):
        allowed = function in _OPERATORS
    else:
        allowed = function.lower() in FUNCTIONS | set(OWN_FUNCTIONS)
    if not (plain and allowed):
        shown = ".".join(str(p) for p in (node.get("catalog"), node.get("schema"), function) if p)
        raise SourceError(
            f"engineered feature '{name}': function {shown}() is not allowed in {expression!r}; "
            f"use {ALLOWED_FUNCTIONS_TEXT}"
        )
    if function.lower() in OWN_FUNCTIONS:  # days_between(a, b) = date_diff('day', a, b)
        day = _constant_node("'day'")
        node = dict(node, function_name="date_diff")
        if "qualified_name" in node:
            node["qualified_name"] = {"path": ["date_diff"]}
        if arguments is not None:
            node["arguments"] = [{"name": "", "expression": day}, *arguments]
        else:
            node["children"] = [day, *node["children"]]
    return node


def _resolved(node: dict, name: str, expression: str, columns, lowered, as_of: str) -> dict:
    parts = node["column_names"]
    word = parts[-1]
    if len(parts) == 1 and word.lower() == "as_of_date":
        return _constant_node(f"cast({sql_string(as_of)} as date)")
    column = word if word in columns else lowered.get(word.lower())
    if len(parts) != 1 or column is None:
        raise SourceError(
            f"engineered feature '{name}': '{'.'.join(parts)}' in {expression!r} is not a column of the "
            f"customer table nor an earlier engineered feature. Columns: {', '.join(columns)}."
        )
    return dict(node, column_names=[column])


def _constant_node(sql: str) -> dict:
    """The parse tree of a fixed expression the project writes (a date literal, 'day')."""
    return json.loads(_duckdb_json("json_serialize_sql", f"select {sql}"))["statements"][0]["node"][
        "select_list"
    ][0]


def _render(statement: dict) -> str:
    sql = _duckdb_json("json_deserialize_sql", json.dumps({"error": False, "statements": [statement]}))
    if not sql.startswith("SELECT "):
        raise ValueError(f"unexpected rendering of an expression: {sql!r}")
    return sql[len("SELECT ") :]


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
        _check_width(described, files, max_columns)
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
    date_formats: dict[str, str] = {}
    for column in columns:
        if column == id_column:
            continue
        forced = o["customer_column_types"].get(column)
        if forced == "ignore":
            kinds[column] = "ignore"
            continue
        kind, date_fmt = infer_kind(con, reader, column, native[column], o["customer_date_format"])
        if forced and forced != kind and kind != "empty":
            kind = forced
            if forced == "date":
                date_fmt, _ = _best_date_format(
                    con, reader, column, native[column], o["customer_date_format"]
                )
        kinds[column] = kind
        if kind == "date":
            date_formats[column] = date_fmt
    if not [c for c, k in kinds.items() if k not in ("ignore", "empty")]:
        raise SourceError(
            f"The customer table has no column to segment on besides the id '{id_column}'"
            + (f" (empty or ignored: {', '.join(kinds)})" if kinds else "")
            + ". Add attribute columns (spend, visits, demographics, ...)."
        )
    return kinds, date_formats


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
    kinds, date_formats = _kinds(con, reader, columns, native, id_column, o)
    usable = [c for c, k in kinds.items() if k not in ("ignore", "empty")]
    typed = {c: _typed_sql(c, kinds[c], native[c], date_formats.get(c, "")) for c in usable}
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
        "id_sql": _text(id_column),
        "columns": [
            {
                "name": c,
                "kind": kinds[c],
                "date_format": date_formats.get(c, ""),
                "typed_sql": typed.get(c, ""),
            }
            for c in kinds
        ],
        "levels": {c: top for c, (top, _other) in levels.items()},
        "has_other": {c: other for c, (_top, other) in levels.items()},
        "engineered": [{"name": n, "sql": s} for n, s in engineered.items()],
        "features": features,
        "as_of_date": as_of,
    }


def _typed_sql(column: str, kind: str, native: str, date_fmt: str) -> str:
    if kind == "numeric":
        return _number_sql(column, native)
    if kind == "boolean":
        return _boolean_sql(column, native)
    if kind == "date":
        return _date_sql(column, native, date_fmt)
    return _text(column)


def _check_width(described: list, files: list[str], widest: int) -> None:
    """A table wider than customer_table_max_columns is refused before any statistic is computed."""
    if len(described) > widest:
        raise SourceError(
            f"{files[0]} has {len(described):,} columns; a customer table may have at most {widest:,} "
            "(customer_table_max_columns). Keep the id and the columns worth segmenting on (export fewer "
            f"columns), or raise the limit, e.g. --vars '{{customer_table_max_columns: {len(described)}}}'."
        )


def _best_date_format(con, reader, column, native, date_format) -> tuple[str, int]:
    """The date format (var customer_date_format, else ISO or the strptime format) that reads the
    most values of the column, and how many it reads (ties: the earlier format)."""
    formats = [date_format] if date_format else ["iso", *DATE_FORMATS]
    best, best_count = formats[0], -1
    for fmt in formats:
        count = con.execute(f"select count({_date_sql(column, native, fmt)}) from {reader}").fetchone()[0]
        if count > best_count:
            best, best_count = fmt, count
    return best, best_count


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
