"""The README's commands that need a built warehouse, run on the session's demo warehouse (the
others: tests/unit/test_docs.py)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import REPO

README = (REPO / "README.md").read_text()


def _on(published: Path, text: str) -> str:
    return text.replace("warehouse/custseg.duckdb", str(published))


@pytest.mark.e2e
def test_the_first_query_runs_on_a_published_warehouse(demo_warehouse):
    line = next(
        ln for ln in re.findall(r"```bash\n(.*?)```", README, re.S)[1].splitlines() if "python -c" in ln
    )
    args = shlex.split(_on(demo_warehouse.serving_path, line))
    done = subprocess.run([sys.executable, *args[1:]], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    segments = demo_warehouse.query("select segment_name from marts.fct_segment_profiles")
    assert all(name in done.stdout for (name,) in segments)


@pytest.mark.e2e
def test_the_readmes_sql_runs_on_a_published_warehouse(demo_warehouse):
    """Each SQL block of the README through `custseg sql`, as the README runs it: every
    statement answers rows (the tables are printed with their values)."""
    blocks = re.findall(r"```sql\n(.*?)```", README, re.S)
    assert blocks
    cli = str(Path(sys.executable).with_name("custseg"))
    con = duckdb.connect(str(demo_warehouse.serving_path), read_only=True)
    try:
        for block in blocks:
            done = subprocess.run([cli, "sql", "--db", str(demo_warehouse.serving_path)], input=block,
                                  capture_output=True, text=True)  # fmt: skip
            assert done.returncode == 0, done.stderr
            for statement in (s for s in block.split(";") if s.strip().strip("-").strip()):
                first = con.execute(statement).fetchone()
                assert first is not None, statement
                assert str(first[0]) in done.stdout, statement  # its rows are shown
    finally:
        con.close()
