"""The project's generic data tests (tests/generic/*.sql), rendered as dbt renders them and run
on DuckDB against small tables: each returns no row on good data and a row for each kind of bad
data it is there to catch. No dbt: the `{% test %}` block is a Jinja macro."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import jinja2
import pytest

GENERIC = Path(__file__).resolve().parents[2] / "tests" / "generic"


def render(test: str, **arguments) -> str:
    """The SQL dbt runs for ``test`` with these arguments (``model`` is a relation's name)."""
    text = (GENERIC / f"{test}.sql").read_text()
    text = re.sub(r"\{%\s*test\s", "{% macro ", text).replace("endtest", "endmacro")
    module = jinja2.Environment().from_string(text).module
    return str(getattr(module, test)(**arguments))


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create table good as select * from (values (1, 'a'), (2, 'b'), (3, null)) t(id, label)")
    con.execute("create table repeated as select * from (values (1, 'a'), (2, 'b'), (2, 'c')) t(id, label)")
    con.execute("create table with_null as select * from (values (1, 'a'), (null, 'b')) t(id, label)")
    yield con
    con.close()


def fails(con, test: str, model: str, **arguments) -> list[tuple]:
    """The rows ``test`` returns on ``model``: each is a failure."""
    return con.execute(render(test, model=model, **arguments)).fetchall()


def test_primary_key_fails_on_a_repeated_or_a_null_key_and_passes_a_key(con):
    assert fails(con, "primary_key", "good", column_name="id") == []
    assert fails(con, "primary_key", "repeated", column_name="id") == [(2, 2)]
    assert fails(con, "primary_key", "with_null", column_name="id") == [(None, 1)]
    # a column with a null that is not a key fails (good.label has one)
    assert fails(con, "primary_key", "good", column_name="label") == [(None, 1)]


def test_unique_combination_of_columns_fails_on_a_repeated_or_partly_null_key(con):
    assert fails(con, "unique_combination_of_columns", "repeated", columns=["id", "label"]) == []
    assert fails(con, "unique_combination_of_columns", "repeated", columns=["id"]) == [(2, 2)]
    assert fails(con, "unique_combination_of_columns", "good", columns=["id", "label"]) == [(3, None, 1)]


def test_accepted_range_fails_outside_either_bound_and_lets_nulls_pass(con):
    assert fails(con, "accepted_range", "with_null", column_name="id", min_value=1, max_value=1) == []
    assert fails(con, "accepted_range", "good", column_name="id", min_value=2) == [(1,)]
    assert fails(con, "accepted_range", "good", column_name="id", max_value=2) == [(3,)]


def test_expression_is_true_fails_where_the_expression_is_false_or_null(con):
    assert fails(con, "expression_is_true", "good", expression="id > 0") == []
    assert fails(con, "expression_is_true", "good", expression="id < 3") == [(3, None)]
    assert sorted(fails(con, "expression_is_true", "good", expression="label <> 'a'")) == [
        (1, "a"),
        (3, None),
    ]
