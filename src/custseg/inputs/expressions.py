"""Engineered features of a customer table: an expression a user writes in a var, checked
before it reaches SQL (security-relevant: the only place user text becomes SQL code).

Three steps, none of which passes text through unchecked: the expression is split into tokens
of a small grammar; DuckDB's own parser turns them into a tree, in which every function must be
on the allow-list and every name a column; the checked tree is rendered back to SQL by DuckDB."""

from __future__ import annotations

import functools
import json
import re
import threading
from typing import Any

from . import SourceError
from .quoting import sql_string

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
