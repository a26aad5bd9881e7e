"""Audiences out: the published segments upserted into a database (docs/database.md).

After every build that publishes (macro ``publish_warehouse``) and on demand (``custseg sync``),
the tables below are written to the schema ``sync_schema`` of the database whose URL is in
``CUSTSEG_SYNC_URL``, in one transaction: a reader of the target sees the last sync or this one,
never a mix.

- ``customer_segments``: one row per customer (key ``customer_id``), the columns named as in the
  marts (:data:`CUSTOMER_COLUMNS`); customers no longer in the warehouse are removed;
- ``segment_catalogue``: one row per segment (key ``cluster_id``);
- ``sync_log``: one row per table and sync: rows inserted, updated and removed, and when.

The rows come from the published (serving) warehouse, opened read-only. A table the project
writes for the first time gets the key as its primary key; a table that exists with other
columns is left alone and the sync says so. SQLite has no schemas: there the tables go in the
file itself and ``sync_schema`` is not used. An ``audience_<name>`` table (the explorer's
filtered list, :mod:`custseg.audiences`) has the columns of ``customer_segments`` plus
``is_control``; it is replaced whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .inputs import SourceError
from .inputs.database import DatabaseURL, quote_identifier
from .warehouse import WarehouseRefused, open_warehouse

SYNC_URL_ENV = "CUSTSEG_SYNC_URL"

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
LOG_COLUMNS = (
    ("synced_at", "timestamp"),
    ("run_id", "text"),
    ("table_name", "text"),
    ("rows_inserted", "bigint"),
    ("rows_updated", "bigint"),
    ("rows_removed", "bigint"),
    ("rows_total", "bigint"),
)
DUCKDB_TYPES = {
    "text": "varchar",
    "bigint": "bigint",
    "double": "double",
    "date": "date",
    "timestamp": "timestamp",
}
TARGET_TYPES = {
    "postgresql": {
        "text": "text",
        "bigint": "bigint",
        "double": "double precision",
        "date": "date",
        "timestamp": "timestamp",
        "boolean": "boolean",
    },
    "sqlite": {
        "text": "text",
        "bigint": "integer",
        "double": "real",
        "date": "text",
        "timestamp": "text",
        "boolean": "integer",
    },
}


class SyncError(SourceError):
    """A sync that could not be done; the message says why and how to fix it (never the URL)."""


@dataclass(frozen=True)
class TableSync:
    table: str
    inserted: int
    updated: int
    removed: int
    total: int


def sync_url(env: dict[str, str] | None = None) -> DatabaseURL | None:
    """The target's URL, or None when CUSTSEG_SYNC_URL is not set (no sync)."""
    value = (env if env is not None else os.environ).get(SYNC_URL_ENV, "")
    return DatabaseURL(value, SYNC_URL_ENV) if value.strip() else None


def _relations(con) -> dict[str, set[str]]:
    """Each relation of the warehouse (schema.table) with its columns, in one query."""
    found: dict[str, set[str]] = {}
    for schema, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database()"
    ).fetchall():
        found.setdefault(f"{schema}.{table}", set()).add(column)
    return found


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


def target_name(url: DatabaseURL, schema: str, table: str) -> str:
    if url.kind == "sqlite":
        return quote_identifier(table)
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def existing_columns(cur, url: DatabaseURL, schema: str, table: str) -> list[str] | None:
    if url.kind == "sqlite":
        cur.execute("select name from pragma_table_info(?)", parameters=(table,))
    else:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = $1 and table_name = $2 "
            "order by ordinal_position",
            parameters=(schema, table),
        )
    names = [r[0] for r in cur.fetchall()]
    return names or None


def ensure_table(cur, url: DatabaseURL, schema: str, table: str, columns, key: str | None) -> None:
    """Create the table when it is missing; refuse one that exists with other columns."""
    wanted = [c[0] for c in columns]
    existing = existing_columns(cur, url, schema, table)
    where = table if url.kind == "sqlite" else f"{schema}.{table}"
    if existing is None:
        types = TARGET_TYPES[url.kind]
        cols = [
            f"{quote_identifier(c[0])} {types[c[-1]]}" + (" not null" if c[0] == key else "") for c in columns
        ]
        if key:
            cols.append(f"primary key ({quote_identifier(key)})")
        cur.execute(f"create table {target_name(url, schema, table)} ({', '.join(cols)})")
    elif existing != wanted:
        raise SyncError(
            f"The sync target's table {where} exists with other columns ({', '.join(existing)}); the sync writes "
            f"{', '.join(wanted)}. Drop or rename that table, or set another sync_schema."
        )


def stage(cur, name: str, data) -> None:
    """Bulk-load Arrow ``data`` into the temporary table ``name`` (ADBC ingest)."""
    cur.adbc_ingest(name, data, mode="create", temporary=True)


def _differs(url: DatabaseURL, a: str, b: str) -> str:
    return f"{a} is distinct from {b}" if url.kind == "postgresql" else f"{a} is not {b}"


def _upsert(cur, url: DatabaseURL, schema: str, table: str, columns, key: str, data) -> TableSync:
    """Replace the rows of ``table`` by key with ``data`` (the caller commits); the counts."""
    target = target_name(url, schema, table)
    staged = quote_identifier(f"custseg_stage_{table}")
    stage(cur, f"custseg_stage_{table}", data)
    k = quote_identifier(key)
    names = [quote_identifier(c[0]) for c in columns]
    changed = " or ".join(_differs(url, f"s.{n}", f"t.{n}") for n in names if n != k)

    def count(sql: str) -> int:
        cur.execute(sql)
        return int(cur.fetchall()[0][0])

    inserted = count(
        f"select count(*) from {staged} as s where not exists (select 1 from {target} as t where t.{k} = s.{k})"
    )
    updated = count(f"select count(*) from {staged} as s join {target} as t on t.{k} = s.{k} where {changed}")
    removed = count(
        f"select count(*) from {target} as t where not exists (select 1 from {staged} as s where s.{k} = t.{k})"
    )
    cur.execute(
        f"delete from {target} where not exists (select 1 from {staged} as s where s.{k} = {target}.{k})"
    )
    # casts: SQLite keeps what it is given; PostgreSQL converts the staged Arrow types
    cast_types = TARGET_TYPES[url.kind]
    select = ", ".join(f"cast({quote_identifier(c[0])} as {cast_types[c[2]]})" for c in columns)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != k)
    cur.execute(
        f"insert into {target} ({', '.join(names)}) select {select} from {staged} where true "
        f"on conflict ({k}) do update set {updates}"
    )
    cur.execute(f"drop table {staged}")
    return TableSync(table, inserted, updated, removed, int(data.num_rows))


def _write_problem(url: DatabaseURL, exc: Exception, schema: str) -> str:
    text = url.scrub(str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "permission denied" in text or "readonly database" in text or "read-only" in text:
        where = "the SQLite file" if url.kind == "sqlite" else f"the schema {schema}"
        return (
            f"The sync user may not write {where} ({first}). Grant it (PostgreSQL: GRANT USAGE, CREATE ON SCHEMA "
            f"{schema} TO <user>, and INSERT, UPDATE, DELETE on its tables), or set another sync_schema."
        )
    return f"The sync to {SYNC_URL_ENV} failed: {first}."


def record_path(serving_path: str) -> Path:
    """Where the last sync of a published warehouse is recorded (beside it; no URL in it): what
    the dashboard's Overview says."""
    return Path(str(serving_path) + ".sync.json")


def last_sync(serving_path: str) -> dict | None:
    """The record of the last sync of this warehouse, or None."""
    path = record_path(serving_path)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _record(serving_path: str, record: dict) -> None:
    with contextlib.suppress(OSError):  # a record the folder cannot take never fails a sync
        record_path(serving_path).write_text(json.dumps(record))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def sync(
    serving_path: str, schema: str = "custseg", run_id: str = "", env: dict[str, str] | None = None
) -> list[TableSync]:
    """Upsert the published segments into the target; one transaction. Raises SyncError."""
    try:
        done = _sync(serving_path, schema, run_id, env)
    except SourceError as exc:
        _record(serving_path, {"ok": False, "at": _now().isoformat(sep=" "), "problem": str(exc)})
        raise
    _record(serving_path, {"ok": True, "at": _now().isoformat(sep=" "), "run_id": run_id or "custseg sync",
                           "tables": [vars(d) for d in done]})  # fmt: skip
    return done


def connect_target(env: dict[str, str] | None, schema: str) -> DatabaseURL:
    url = sync_url(env)
    if url is None:
        raise SyncError(f"{SYNC_URL_ENV} is not set: export it with the target database's URL to sync.")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema or ""):
        raise SyncError(f"sync_schema {schema!r} is not a plain name (letters, digits, '_').")
    return url


def _sync(serving_path: str, schema: str, run_id: str, env: dict[str, str] | None) -> list[TableSync]:
    url = connect_target(env, schema)
    data = read_published(serving_path)
    return in_transaction(url, schema, lambda cur: _write(cur, url, schema, data, run_id or "custseg sync"))


def in_transaction(url: DatabaseURL, schema: str, work):
    """``work(cursor)`` in one transaction of the target, committed; any failure rolled back and
    said as a SyncError (scrubbed)."""
    conn = url.connect(read_only=False)
    try:
        with conn.cursor() as cur:
            done = work(cur)
        conn.commit()
        return done
    except SyncError:
        with contextlib.suppress(Exception):
            conn.rollback()
        raise
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.rollback()
        raise SyncError(_write_problem(url, exc, schema)) from None
    finally:
        conn.close()


def _write(cur, url: DatabaseURL, schema: str, data: dict, run_id: str) -> list[TableSync]:
    """The sync's statements (the caller commits them as one transaction)."""
    if url.kind == "postgresql":
        cur.execute(f"create schema if not exists {quote_identifier(schema)}")
    tables = (
        ("customer_segments", CUSTOMER_COLUMNS, "customer_id"),
        ("segment_catalogue", CATALOGUE_COLUMNS, "cluster_id"),
    )
    for table, columns, key in (*tables, ("sync_log", LOG_COLUMNS, None)):
        ensure_table(cur, url, schema, table, columns, key)
    done = [_upsert(cur, url, schema, table, columns, key, data[table]) for table, columns, key in tables]
    log_syncs(cur, url, schema, run_id, done)
    return done


def log_syncs(cur, url: DatabaseURL, schema: str, run_id: str, done: list[TableSync]) -> None:
    now = _now()
    stamp = now if url.kind == "postgresql" else now.isoformat(sep=" ")
    marks = ", ".join(f"${i + 1}" for i in range(7)) if url.kind == "postgresql" else ", ".join("?" * 7)
    for d in done:
        cur.execute(
            f"insert into {target_name(url, schema, 'sync_log')} values ({marks})",
            parameters=(stamp, run_id, d.table, d.inserted, d.updated, d.removed, d.total),
        )


def summary(done: list[TableSync]) -> str:
    return "; ".join(
        f"{d.table}: {d.total} rows ({d.inserted} inserted, {d.updated} updated, {d.removed} removed)"
        for d in done
    )
