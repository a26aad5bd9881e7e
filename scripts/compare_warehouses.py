"""Rows that differ, mart by mart, between two built warehouses (to the last bit): what an
upgrade or a refactoring must leave unchanged.

    .venv/bin/python scripts/compare_warehouses.py before.duckdb after.duckdb

Columns that record when or where a build ran (trained_at, loaded_at, the artifact signature,
source_file) are left out; a mart only one side has is listed. Exit status 1 when anything
differs.
"""

from __future__ import annotations

import sys

import duckdb

RUN_COLUMNS = (
    "trained_at",
    "fitted_at",
    "fit_seconds",
    "loaded_at",
    "artifact_signature",
    "source_file",
    "source_files",
)


def _marts(con, db: str) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = 'marts' "
            "union select view_name from duckdb_views() where database_name = ? and schema_name = 'marts'",
            [db, db],
        ).fetchall()
    }


def _columns(con, db: str, name: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = 'marts' and table_name = ? order by ordinal_position",
        [db, name],
    ).fetchall()


def differences(path_a: str, path_b: str, skip_columns=RUN_COLUMNS, skip_marts=()) -> dict[str, str | int]:
    """Per mart: the number of rows in one and not the other (both ways, with multiplicity),
    'columns differ', or 'only in a' / 'only in b'. Marts with no difference are left out."""
    con = duckdb.connect()
    try:
        con.execute("attach ? as a (read_only)", [str(path_a)])
        con.execute("attach ? as b (read_only)", [str(path_b)])
        marts_a, marts_b = _marts(con, "a") - set(skip_marts), _marts(con, "b") - set(skip_marts)
        out: dict[str, str | int] = {name: "only in a" for name in marts_a - marts_b}
        out.update({name: "only in b" for name in marts_b - marts_a})
        for name in sorted(marts_a & marts_b):
            columns = _columns(con, "a", name)
            if columns != _columns(con, "b", name):
                out[name] = "columns differ"
                continue
            kept = ", ".join(f'"{c}"' for c, _ in columns if c not in skip_columns)
            count = con.execute(
                f'select count(*) from ((select {kept} from a.marts."{name}" except all '
                f'select {kept} from b.marts."{name}") union all (select {kept} from b.marts."{name}" '
                f'except all select {kept} from a.marts."{name}"))'
            ).fetchone()[0]
            if count:
                out[name] = count
        return out
    finally:
        con.close()


if __name__ == "__main__":
    found = differences(sys.argv[1], sys.argv[2])
    for mart, difference in sorted(found.items()):
        print(f"{mart}: {difference}")
    print("no difference" if not found else f"{len(found)} mart(s) differ")
    sys.exit(1 if found else 0)
