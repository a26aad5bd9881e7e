"""The code keeps a shape a newcomer can hold: short functions, one concern per module, no
module of the package importing back up from the CLI."""

from __future__ import annotations

import ast

from helpers import REPO

LIMIT = 65  # lines; "about 60"
FOLDERS = ("src", "dashboard", "python_models", "scripts", "benchmarks")


def _functions():
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield path, node, lines


MODULE_LIMIT = 400  # lines: a module a newcomer reads in one sitting


def test_no_module_of_the_package_and_no_dashboard_page_is_over_400_lines():
    files = [*(REPO / "src" / "custseg").rglob("*.py"), *(REPO / "dashboard").rglob("*.py")]
    long = {
        str(p.relative_to(REPO)): n for p in files if (n := len(p.read_text().splitlines())) > MODULE_LIMIT
    }
    assert long == {}, "split these by concern"


def test_the_packages_imports_have_no_cycle():
    """custseg's modules import one way: a graph of the package's own imports has no cycle."""
    import graphlib

    package = REPO / "src" / "custseg"
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        deps = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if parts[-1] == "__init__" else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                if module.startswith("custseg"):
                    # an import of a name from a package may be a submodule
                    deps |= {f"{module}.{a.name}" for a in node.names} | {module}
    graph = {n: {d for d in deps if d in graph and d != n} for n, deps in graph.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


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
    from dbt_project.yml, custseg.varconfig, the settings declaration, and custseg.ml_lifecycle,
    the fit-or-score settings both ML domains share, are leaves both sides use)."""
    upward = []
    for path in sorted((REPO / "src" / "custseg" / "segmentation").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level >= 2
                and node.module not in ("project", "varconfig", "ml_lifecycle")
            ):
                upward.append(f"{path.name}: from {'.' * node.level}{node.module}")
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("custseg.")
                and not (node.module or "").startswith("custseg.segmentation")
            ):
                upward.append(f"{path.name}: from {node.module}")
    assert upward == []
