"""Opening a warehouse file for reading (the CLI, the dashboard, scoring).

A DuckDB file is code as well as data: its views and macros run when they are queried, and a
read-only connection can still read any local file (``read_text``, ``read_csv``, ``glob``). A
file built elsewhere, or crafted, could hold a view named like a mart that returns the
model-signing key. So every reader opens a warehouse through :func:`open_warehouse`:

* the path must be a regular file (not a folder, a device or a pipe);
* the connection has external access off (no file but the database itself, no extension
  loaded or installed) and its configuration locked, so no view or query can turn that back on;
* the file is refused, before any query, when it defines macros (the project writes none) or
  when a view of the ``marts`` schema (the only schema readers query) does not bind under those
  rules: a view that reads a file, the environment, or a function this DuckDB does not have.

The project's own serving copy passes: its marts are tables, and its two view marts
(``fct_transactions``, ``fct_transaction_quarantine``) read only the line store in the same file.
"""

from __future__ import annotations

import os
import stat

# The connection settings of every reader: nothing outside the file, and no way to change that.
LOCKED_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}
READ_SCHEMA = "marts"


class WarehouseRefused(ValueError):
    """A warehouse file that cannot be opened safely for reading; the message says why."""


def open_warehouse(path: str | os.PathLike):
    """A read-only DuckDB connection to ``path`` that can read nothing but the file itself, or
    :class:`WarehouseRefused` naming the file and the reason."""
    import duckdb

    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise WarehouseRefused(
            f"cannot open the warehouse {name!r}: no such file; run dbt build first"
        ) from None
    except OSError as exc:
        raise WarehouseRefused(f"cannot open the warehouse {name!r}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise WarehouseRefused(f"cannot open the warehouse {name!r}: it is not a regular file")
    try:
        con = duckdb.connect(name, read_only=True, config=dict(LOCKED_CONFIG))
    except duckdb.Error as exc:
        raise WarehouseRefused(f"cannot open the warehouse {name!r}: {str(exc).splitlines()[0]}") from exc
    try:
        _refuse_code(con, name)
    except BaseException:
        con.close()
        raise
    return con


def _refuse_code(con, name: str) -> None:
    """Refuse a file whose macros or mart views could run anything but reads of its own tables."""
    macros = con.execute(
        "select schema_name, function_name from duckdb_functions() "
        "where not internal and function_type in ('macro', 'table_macro') order by all"
    ).fetchall()
    if macros:
        listed = ", ".join(f"{schema}.{fn}" for schema, fn in macros[:5])
        raise WarehouseRefused(
            f"refusing the warehouse {name!r}: it defines SQL macros ({listed}), which a warehouse built "
            "by this project never does; a macro runs code when queried. Open a warehouse built here."
        )
    views = con.execute(
        "select view_name from duckdb_views() where not internal and schema_name = ? order by view_name",
        [READ_SCHEMA],
    ).fetchall()
    for (view,) in views:
        relation = f'"{READ_SCHEMA}"."{view.replace(chr(34), chr(34) * 2)}"'
        try:
            con.execute(f"select * from {relation} limit 0").fetchall()
        except Exception as exc:  # duckdb.Error of any kind: permission, catalog, binder
            first = str(exc).splitlines()[0]
            raise WarehouseRefused(
                f"refusing the warehouse {name!r}: its view {READ_SCHEMA}.{view} reads something outside "
                f"the file ({first}). A warehouse built by this project reads only its own tables; this "
                "file was built elsewhere or crafted. Nothing was read from it."
            ) from None
