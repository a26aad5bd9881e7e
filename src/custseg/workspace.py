"""Running dbt in a workspace of its own: one definition of the environment that keeps a build's
database, serving copy, spill, target and logs inside one folder, so it never touches the user's
``warehouse/`` or ``target/``. Used by ``custseg score`` (a transactions file's features), the
dashboard's upload, the tests and the benchmarks.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def dbt_executable() -> str:
    """dbt beside this Python (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise FileNotFoundError("dbt is not installed in this environment (pip install -e .)")
    return found


def workspace_env(workdir: str | os.PathLike, db_name: str = "wh.duckdb", **extra: str | os.PathLike) -> dict:
    """This process's environment with a build's files in ``workdir``: the database
    ``workdir/<db_name>``, its published copy ``workdir/serving/<db_name>``, DuckDB's spill, dbt's
    target and logs; ``extra`` adds or overrides variables (a signing key, thread caps)."""
    workdir = Path(workdir)
    env = dict(os.environ)
    env.update(
        CUSTSEG_DB_PATH=str(workdir / db_name),
        CUSTSEG_SERVING_PATH=str(workdir / "serving" / db_name),
        CUSTSEG_TEMP_DIR=str(workdir / "spill"),
        DBT_TARGET_PATH=str(workdir / "target"),
        DBT_LOG_PATH=str(workdir / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        NO_COLOR="1",
    )
    env.update({name: str(value) for name, value in extra.items()})
    return env
