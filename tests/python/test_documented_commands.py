"""Every command the README gives is run by a test: here, or by the test named beside it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb

from conftest import REPO

README = (REPO / "README.md").read_text()

# a command (its first two words) -> where it runs
RUN_BY = {
    "bash scripts/build.sh": "conftest.py::demo_warehouse",  # builds the session's demo warehouse
    "bash scripts/test.sh": "../.ci/run",  # CI runs exactly this, and it runs this suite
    "bash scripts/dashboard.sh": "test_dashboard_browser.py::server",
    ".venv/bin/custseg --help": "test_documented_commands.py::test_the_cli_help_names_every_command",
    ".venv/bin/python -c": "test_documented_commands.py::test_the_first_query_runs_on_a_published_warehouse",
    "duckdb -readonly": "test_documented_commands.py::test_the_readmes_sql_runs_on_a_published_warehouse",
}


def readme_commands() -> set[str]:
    """The first two words of every shell command of the README (code blocks and inline)."""
    commands = set()
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.add(line)
    commands |= {
        m for m in re.findall(r"`([^`]+)`", README) if m.startswith(("bash ", ".venv/bin/", "duckdb "))
    }
    return {" ".join(shlex.split(c, posix=False)[:2]) for c in commands}


def test_every_readme_command_is_run_by_a_test():
    assert readme_commands() <= set(RUN_BY), sorted(readme_commands() - set(RUN_BY))
    for where in RUN_BY.values():
        file, _, name = where.partition("::")
        text = (REPO / "tests" / "python" / file).read_text() if not file.startswith("..") else ""
        if file.startswith(".."):
            assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()
        else:
            assert f"def {name}(" in text, where


def test_the_cli_help_names_every_command():
    cli = str(Path(sys.executable).with_name("custseg"))
    done = subprocess.run([cli, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for command in ("generate", "probe", "score", "export", "export-model"):
        assert command in done.stdout


def _on(published: Path, text: str) -> str:
    return text.replace("warehouse/custseg.duckdb", str(published))


def test_the_first_query_runs_on_a_published_warehouse(demo_warehouse):
    line = next(
        ln for ln in re.findall(r"```bash\n(.*?)```", README, re.S)[1].splitlines() if "python -c" in ln
    )
    args = shlex.split(_on(demo_warehouse.serving_path, line))
    done = subprocess.run([sys.executable, *args[1:]], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    segments = demo_warehouse.query("select segment_name from marts.fct_segment_profiles")
    assert all(name in done.stdout for (name,) in segments)


def test_the_readmes_sql_runs_on_a_published_warehouse(demo_warehouse):
    blocks = re.findall(r"```sql\n(.*?)```", README, re.S)
    assert blocks
    con = duckdb.connect(str(demo_warehouse.serving_path), read_only=True)
    try:
        for block in blocks:
            for statement in (s for s in block.split(";") if s.strip().strip("-").strip()):
                rows = con.execute(statement).fetchall()
                assert rows, statement
    finally:
        con.close()


def test_the_readme_links_every_docs_page_and_every_link_resolves():
    pages = {p.name for p in (REPO / "docs").glob("*.md")}
    linked = set(re.findall(r"\]\(docs/([^)#]+\.md)", README))
    assert linked == pages
    for target in re.findall(r"\]\(([^)#:]+)", README):
        assert (REPO / target).exists(), target


def test_every_relative_link_of_the_docs_resolves():
    broken = []
    for page in sorted((REPO / "docs").glob("*.md")):
        for target in re.findall(r"\]\(([^)#:\s]+)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []
