"""The engineered-feature expressions of a customer table (custseg.inputs.expressions): the one
place where text a user writes becomes SQL code, so every way of calling what is not allowed is
tried here: subqueries, casts, windows, statements, comments, and every function DuckDB has,
called bare, quoted, with schema prefixes and with look-alike quotes."""

from __future__ import annotations

import re

import duckdb
import pytest

from custseg.inputs import SourceError
from custseg.inputs.expressions import _OPERATORS, FUNCTIONS, OWN_FUNCTIONS, translate_expression


def test_engineered_expressions_are_translated_and_checked():
    columns = {"Kidhome": "numeric", "Teenhome": "numeric", "Status": "categorical", "Since": "date"}
    sql = translate_expression(
        "Family",
        "Kidhome + teenhome + case when Status in ('Married', 'Together') then 2 else 1 end",
        columns,
        "2014-06-30",
    )
    assert "Teenhome" in sql and "teenhome" not in sql  # names resolve to the table's spelling
    con = duckdb.connect()
    rows = "(values (1, 2, 'Married'), (0, 1, 'Single')) as t(Kidhome, Teenhome, Status)"
    assert con.execute(f"select {sql} from {rows}").fetchall() == [(5,), (2,)]
    days = translate_expression("Days", "days_between(Since, as_of_date)", columns, "2014-06-30")
    assert "date_diff('day'" in days and "2014-06-30" in days
    assert con.execute(f"select {days} from (select date '2014-06-01' as Since)").fetchone()[0] == 29


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("Kidhome; drop table x", "cannot read ';"),
        ("(select 1)", "uses subquery"),
        ("cast(Kidhome as varchar)", "uses operator_cast"),
        ("abs(Kidhome) over ()", "uses window"),
        ("\"current_setting\"('temp_directory')", "function current_setting() is not allowed"),
        ("main.abs(Kidhome)", "cannot read '.abs(Kidhome)'"),
        ("Kidhome.x", "cannot read '.x'"),
        ("read_csv('/etc/passwd')", "function read_csv() is not allowed"),
        ("Kidhome + Wealth", "'Wealth'"),
        ("Kidhome -- comment", "'comment'"),
        ("", "empty expression"),
    ],
)
def test_expressions_outside_the_grammar_are_refused_naming_the_feature(expression, message):
    with pytest.raises(SourceError) as error:
        translate_expression("Bad", expression, {"Kidhome": "numeric"}, "2014-01-01")
    assert "engineered feature 'Bad'" in str(error.value)
    assert message in str(error.value)


def test_no_duckdb_function_outside_the_allow_list_can_be_called_however_it_is_written():
    """Every function DuckDB lists that is not allowed, called bare, quoted (the old hole: a
    quoted name was taken for a column and passed through), with schema and catalog prefixes,
    and with Unicode look-alike quotes, in a table whose columns carry those names: refused."""
    names = sorted(
        {
            r[0]
            for r in duckdb.connect()
            .execute(
                "select distinct function_name from duckdb_functions() where function_type in ('scalar', 'table', 'aggregate', 'macro', 'table_macro')"
            )
            .fetchall()
        }
        - FUNCTIONS
        - set(OWN_FUNCTIONS)
        - _OPERATORS  # + - * / % || and like (~~, !~~) are the grammar's operators
    )
    # a name of operator characters only (//, **) is read as the grammar's operators, not a call
    names = [n for n in names if not re.fullmatch(r"[-+*/%|]+", n)]
    assert len(names) > 500 and "current_setting" in names and "read_text" in names
    columns = {"Kidhome": "numeric", **{n: "numeric" for n in names}}
    accepted = []
    for fn in names:
        quoted = '"' + fn.replace('"', '""') + '"'
        for call in (
            f"{fn}(Kidhome)",
            f"{quoted}(Kidhome)",
            f"length({quoted}('temp_directory'))",
            f"main.{fn}(Kidhome)",
            f"main.{quoted}(Kidhome)",
            f"system.main.{quoted}(Kidhome)",
            f'pg_catalog."{fn}"(Kidhome)',
            f"\u201c{fn}\u201d(Kidhome)",
            f"\uff02{fn}\uff02(Kidhome)",
        ):
            try:
                sql = translate_expression("Leak", call, columns, "2014-01-01")
            except SourceError:
                continue
            accepted.append((call, sql))
    assert accepted == []


def test_a_quoted_column_name_stays_a_column():
    # a column named like a function is a column where it is a name, and a call where it is called
    columns = {"current_setting": "numeric", "abs": "numeric"}
    sql = translate_expression("ok", '"current_setting" + abs("abs")', columns, "2014-01-01")
    con = duckdb.connect()
    assert con.execute(f'select {sql} from (select 2 as "current_setting", -3 as "abs")').fetchone()[0] == 5


def test_two_minus_signs_never_start_a_comment():
    sql = translate_expression("Twice", "Kidhome --Kidhome", {"Kidhome": "numeric"}, "2014-01-01")
    assert "--" not in sql
    assert duckdb.connect().execute(f"select {sql} from (select 2 as Kidhome)").fetchone()[0] == 4
