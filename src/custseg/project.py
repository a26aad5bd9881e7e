"""The dbt project this package serves: where it is, and its vars.

``dbt_project.yml`` is the one source of every setting's default. The Python configs
(custseg.segmentation.config) take theirs from :func:`project_var`; inside a build the Python
models receive every var from dbt anyway, so this file is read only for values a caller leaves out
(the CLI, the tests, a notebook).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any


class ProjectError(RuntimeError):
    """The dbt project (dbt_project.yml) cannot be found or read."""


def project_dir() -> Path:
    """$CUSTSEG_PROJECT_DIR, else the checkout this package is installed from (editable install)."""
    configured = os.environ.get("CUSTSEG_PROJECT_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2]
    if not (path / "dbt_project.yml").is_file():
        raise ProjectError(
            f"no dbt project at {path}: set CUSTSEG_PROJECT_DIR to the folder with dbt_project.yml"
        )
    return path


@cache
def _vars_of(path: Path) -> dict[str, Any]:
    import yaml

    project = yaml.safe_load((path / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    found = project.get("vars")
    if not isinstance(found, dict):
        raise ProjectError(f"{path / 'dbt_project.yml'} has no vars: section")
    return found


def project_var(name: str) -> Any:
    """The default of one var, as dbt_project.yml sets it."""
    found = _vars_of(project_dir())
    if name not in found:
        raise ProjectError(f"dbt_project.yml defines no var {name!r}")
    return found[name]
