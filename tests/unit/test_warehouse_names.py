"""A warehouse file's name becomes DuckDB's catalog name, which dbt-duckdb pastes into SQL: a
name with a quote is refused at connection with a message, and custseg score renames its copy."""

from __future__ import annotations

import duckdb
import pytest

from custseg.dbt_plugin import catalog_name_problem
from custseg.scoring import context_copy_name


@pytest.mark.parametrize("name", ["o'brien.duckdb", 'say "hi".duckdb'])
def test_a_working_database_named_with_a_quote_is_named_as_the_problem(tmp_path, name):
    con = duckdb.connect(str(tmp_path / name))
    try:
        problem = catalog_name_problem(con)
    finally:
        con.close()
    assert f"The warehouse file {tmp_path / name} has a quote in its name" in problem
    assert "CUSTSEG_DB_PATH" in problem


def test_a_plain_name_passes_and_the_score_copy_is_always_plain(tmp_path):
    con = duckdb.connect(str(tmp_path / "custseg-2024_v1.duckdb"))
    try:
        assert catalog_name_problem(con) == ""
    finally:
        con.close()
    assert context_copy_name('/srv/o\'brien "2024".duckdb') == "o_brien__2024_.duckdb"
    assert context_copy_name("/srv/custseg.duckdb") == "custseg.duckdb"
