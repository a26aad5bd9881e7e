"""Every command the README gives is run by a test (here, or by the test named beside it), every
page of docs/ is linked and every relative link resolves, and docs/development.md's layout is the
project's."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from helpers import REPO

README = (REPO / "README.md").read_text()

# a command (its first two words) -> where it runs
RUN_BY = {
    "bash scripts/build.sh": "conftest.py::demo_warehouse",  # builds the session's demo warehouse
    "bash scripts/test.sh": "../.ci/run",  # CI runs exactly this, and it runs this suite
    "bash scripts/dashboard.sh": "test_dashboard_browser.py::server",
    ".venv/bin/custseg --help": "test_docs.py::test_the_cli_help_names_every_command",
    ".venv/bin/python -c": "test_documented_commands.py::test_the_first_query_runs_on_a_published_warehouse",
    ".venv/bin/custseg sql": "test_documented_commands.py::test_the_readmes_sql_runs_on_a_published_warehouse",
}


def readme_commands() -> set[str]:
    """The first two words of every shell command of the README (code blocks and inline)."""
    commands = set()
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.add(line)
    prose = re.sub(r"```.*?```", "", README, flags=re.S)  # inline code outside the blocks
    commands |= {
        m for m in re.findall(r"`([^`]+)`", prose) if m.startswith(("bash ", ".venv/bin/", "duckdb "))
    }
    return {" ".join(shlex.split(c, posix=False)[:2]) for c in commands}


def test_every_readme_command_is_run_by_a_test():
    assert readme_commands() <= set(RUN_BY), sorted(readme_commands() - set(RUN_BY))
    for where in RUN_BY.values():
        file, _, name = where.partition("::")
        found = list((REPO / "tests").rglob(file)) if not file.startswith("..") else []
        text = found[0].read_text() if found else ""
        if file.startswith(".."):
            assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()
        else:
            assert f"def {name}(" in text, where


def test_the_cli_help_names_every_command():
    cli = str(Path(sys.executable).with_name("custseg"))
    done = subprocess.run([cli, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for command in ("generate", "probe", "score", "export", "export-model", "sql", "upgrade-registry"):
        assert command in done.stdout


def test_the_readme_links_every_docs_page_and_every_link_resolves():
    pages = {p.name for p in (REPO / "docs").glob("*.md")}
    linked = set(re.findall(r"\]\(docs/([^)#]+\.md)", README))
    assert linked == pages
    for target in re.findall(r"\]\(([^)#:]+)", README):
        assert (REPO / target).exists(), target


def test_every_relative_link_of_the_docs_resolves():
    broken = []
    for page in sorted((REPO / "docs").glob("*.md")):
        for target in re.findall(r"\]\((?![a-z]+://)([^)#\s]+)", page.read_text()):  # web links aside
            if not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_the_development_layout_names_every_folder_and_module():
    """docs/development.md's layout block names every model, macro and Python model folder, every
    package and module of src/custseg, and names nothing that is gone."""
    text = (REPO / "docs" / "development.md").read_text()
    layout = re.search(r"## Layout\n.*?```\n(.*?)```", text, re.S).group(1)
    folders = [
        p.relative_to(REPO).as_posix() + "/"
        for root in ("models/staging", "models/intermediate", "python_models", "macros")
        for p in sorted((REPO / root).iterdir())
        if p.is_dir()
    ]
    package = REPO / "src" / "custseg"
    modules = [p.name for p in sorted(package.glob("*.py")) if p.name != "__init__.py"]
    modules += [p.name + "/" for p in sorted(package.iterdir()) if p.is_dir() and p.name != "__pycache__"]
    marts = [p.name + "/" for p in sorted((REPO / "models" / "marts").iterdir()) if p.is_dir()]
    missing = [f for f in folders if f not in layout] + [m for m in marts if f" {m}" not in layout]
    missing += [m for m in modules if m not in layout]
    assert missing == [], "add these to docs/development.md's layout"
    named = set(re.findall(r"\b([a-z_]+\.py)\b", layout)) - {"app.py"}
    # the project's own files: not the virtualenv, nor what builds and tests leave behind
    skipped = {"target", "warehouse", "logs", "data", "node_modules", "__pycache__"}
    present = set()
    for _, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in skipped]
        present.update(files)
    gone = [m for m in named if m not in present]
    assert gone == [], "these are named in docs/development.md's layout but do not exist"
