"""Quoting for SQL text: every value and name the project puts into SQL goes through these
(a file name, a column name, a setting). DuckDB dialect; the Spark adapter has its own
(custseg.spark)."""

from __future__ import annotations


def sql_string(value: str) -> str:
    """A SQL string literal: single quotes doubled, so no value ends the literal early."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier: double quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def sql_list(values: list[str]) -> str:
    """A SQL list of string literals (file names, date formats)."""
    return "[" + ", ".join(sql_string(v) for v in values) + "]"
