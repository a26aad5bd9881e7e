"""What a sync reads: the published (serving) warehouse, opened as every reader opens one, and
the rows of ``customer_segments`` and ``segment_catalogue`` selected from its marts."""

from __future__ import annotations

import os

from ..inputs.database import quote_identifier
from ..warehouse import WarehouseRefused, open_warehouse
from .target import SyncError

# (column, DuckDB expression over the marts' aliases s = dim_customer_segments, v =
# dim_customer_value, d = dim_segments, or None when the build has no such column, and its type)
CUSTOMER_COLUMNS = (
    ("customer_id", "s.customer_id", "text"),
    ("cluster_id", "s.cluster_id", "bigint"),
    ("segment_name", "s.segment_name", "text"),
    ("rfm_segment", "s.rfm_segment", "text"),
    ("churn_risk", "v.churn_risk", "double"),
    ("churn_risk_band", "v.churn_risk_band", "text"),
    ("predicted_clv", "v.predicted_clv", "double"),
    ("value_decile", "v.value_decile", "bigint"),
    ("expected_date_of_next_order", "v.expected_date_of_next_order", "date"),
    ("model_version", "d.model_version", "text"),
    ("value_model_version", "v.value_model_version", "text"),
    ("as_of_date", "s.as_of_date", "date"),
)
CATALOGUE_COLUMNS = (
    ("cluster_id", "p.cluster_id", "bigint"),
    ("segment_name", "p.segment_name", "text"),
    ("description", "p.description", "text"),
    ("recommended_action", "p.recommended_action", "text"),
    ("customer_count", "p.customer_count", "bigint"),
    ("customer_share", "p.customer_share", "double"),
    ("revenue_share", "p.revenue_share", "double"),
    ("predicted_clv_share", "w.predicted_clv_share", "double"),
    ("model_version", "d.model_version", "text"),
)
DUCKDB_TYPES = {
    "text": "varchar",
    "bigint": "bigint",
    "double": "double",
    "date": "date",
    "timestamp": "timestamp",
}

# where each table's columns come from: the base mart (alias, relation), then the marts joined to
# it when the build has them (alias, relation, join condition)
CUSTOMER_SOURCES = (
    ("s", "marts.dim_customer_segments", ""),
    ("v", "marts.dim_customer_value", "v.customer_id = s.customer_id"),
    ("d", "marts.dim_segments", "d.cluster_id = s.cluster_id"),
)
CATALOGUE_SOURCES = (
    ("p", "marts.fct_segment_profiles", ""),
    ("w", "marts.fct_segment_value", "w.cluster_id = p.cluster_id"),
    ("d", "marts.dim_segments", "d.cluster_id = p.cluster_id"),
)


def _relations(con) -> dict[str, set[str]]:
    """Each relation of the warehouse (schema.table) with its columns, in one query."""
    found: dict[str, set[str]] = {}
    for schema, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database()"
    ).fetchall():
        found.setdefault(f"{schema}.{table}", set()).add(column)
    return found


def _select(con, columns, sources) -> str:
    """SELECT of ``columns`` over the marts that exist: the base mart, left joined to each other
    one the build has (a missing mart or column gives a typed null)."""
    present = _relations(con)
    have = {alias: present.get(rel, set()) for alias, rel, _ in sources}
    exprs = []
    for name, expr, kind in columns:
        alias, column = expr.split(".")
        value = expr if column in have[alias] else "null"
        exprs.append(f"cast({value} as {DUCKDB_TYPES[kind]}) as {quote_identifier(name)}")
    (base, relation, _), joined = sources[0], sources[1:]
    sql = "select " + ", ".join(exprs) + f" from {relation} as {base}"
    for alias, rel, on in joined:
        if rel in present:
            sql += f" left join {rel} as {alias} on {on}"
    return sql


def customer_segments_sql(con) -> str:
    """The rows of ``customer_segments`` from the published marts (DuckDB SQL)."""
    return _select(con, CUSTOMER_COLUMNS, CUSTOMER_SOURCES)


def catalogue_sql(con) -> str:
    """The rows of ``segment_catalogue`` from the published marts (DuckDB SQL)."""
    return _select(con, CATALOGUE_COLUMNS, CATALOGUE_SOURCES)


def open_published(serving_path: str):
    """The published warehouse, opened as every reader opens one (custseg.warehouse: read-only,
    nothing readable but the file itself, a crafted file refused), or a SyncError saying why."""
    if not os.path.isfile(serving_path):
        raise SyncError(f"No published warehouse at {serving_path}: run dbt build first (or pass --db).")
    try:
        return open_warehouse(serving_path)
    except WarehouseRefused as exc:
        raise SyncError(str(exc)) from None


def read_published(serving_path: str) -> dict:
    """The Arrow tables to write, read from the published warehouse."""
    con = open_published(serving_path)
    try:
        if "marts.dim_customer_segments" not in _relations(con):
            raise SyncError(
                f"{serving_path} has no marts.dim_customer_segments: it is not a published build."
            )
        return {
            "customer_segments": con.sql(customer_segments_sql(con) + " order by 1").to_arrow_table(),
            "segment_catalogue": con.sql(catalogue_sql(con) + " order by 1").to_arrow_table(),
        }
    finally:
        con.close()
