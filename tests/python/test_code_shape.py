"""The code keeps a shape a newcomer can hold: short functions, one concern per module, no
module of the package importing back up from the CLI."""

from __future__ import annotations

import ast

from conftest import REPO

LIMIT = 65  # lines; "about 60"
FOLDERS = ("src", "dashboard", "python_models", "scripts", "benchmarks")


def _functions():
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield path, node, lines


def test_no_function_is_long_without_a_reason_in_a_comment():
    long = []
    for path, node, lines in _functions():
        length = node.end_lineno - node.lineno + 1
        if length <= LIMIT:
            continue
        first_body = node.body[0].lineno
        head = lines[node.lineno : first_body + 1]
        if not any(line.strip().startswith("#") for line in head):
            long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({length} lines)")
    assert long == [], "split these, or say in a comment at their top why they are long"


def test_the_ml_layer_never_imports_the_cli_side():
    """custseg.segmentation is what the dbt Python models run; the CLI, scoring and dashboard
    modules import it, never the other way round (custseg.project, which reads the defaults
    from dbt_project.yml, is a leaf both use)."""
    upward = []
    for path in sorted((REPO / "src" / "custseg" / "segmentation").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module != "project":
                upward.append(f"{path.name}: from {'.' * node.level}{node.module}")
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("custseg.")
                and not (node.module or "").startswith("custseg.segmentation")
            ):
                upward.append(f"{path.name}: from {node.module}")
    assert upward == []
