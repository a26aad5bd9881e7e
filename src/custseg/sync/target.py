"""How a sync writes: the target database (``CUSTSEG_SYNC_URL``), its tables created or checked,
rows staged by ADBC ingest, then upserted by key or replaced whole, a line per table in
``sync_log``, all in one transaction whose failure is rolled back and said without the URL."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from dataclasses import dataclass

from ..inputs import SourceError
from ..inputs.database import DatabaseURL, quote_identifier

SYNC_URL_ENV = "CUSTSEG_SYNC_URL"

LOG_COLUMNS = (
    ("synced_at", "timestamp"),
    ("run_id", "text"),
    ("table_name", "text"),
    ("rows_inserted", "bigint"),
    ("rows_updated", "bigint"),
    ("rows_removed", "bigint"),
    ("rows_total", "bigint"),
)
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


def connect_target(env: dict[str, str] | None, schema: str) -> DatabaseURL:
    url = sync_url(env)
    if url is None:
        raise SyncError(f"{SYNC_URL_ENV} is not set: export it with the target database's URL to sync.")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema or ""):
        raise SyncError(f"sync_schema {schema!r} is not a plain name (letters, digits, '_').")
    return url


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


def prepare_target(cur, url: DatabaseURL, schema: str, tables) -> None:
    """The schema (PostgreSQL), each of ``tables`` (name, columns, key) and sync_log, created when
    missing, refused when one exists with other columns."""
    if url.kind == "postgresql":
        cur.execute(f"create schema if not exists {quote_identifier(schema)}")
    for table, columns, key in (*tables, ("sync_log", LOG_COLUMNS, None)):
        ensure_table(cur, url, schema, table, columns, key)


def _stage(cur, table: str, data) -> str:
    """Bulk-load Arrow ``data`` into a temporary table (ADBC ingest); its quoted name."""
    name = f"custseg_stage_{table}"
    cur.adbc_ingest(name, data, mode="create", temporary=True)
    return quote_identifier(name)


def _typed(url: DatabaseURL, columns) -> str:
    """The staged ``columns`` cast to the target's types (SQLite keeps what it is given;
    PostgreSQL converts the staged Arrow types)."""
    types = TARGET_TYPES[url.kind]
    return ", ".join(f"cast({quote_identifier(c[0])} as {types[c[2]]})" for c in columns)


def _differs(url: DatabaseURL, a: str, b: str) -> str:
    return f"{a} is distinct from {b}" if url.kind == "postgresql" else f"{a} is not {b}"


def upsert(cur, url: DatabaseURL, schema: str, table: str, columns, key: str, data) -> TableSync:
    """Replace the rows of ``table`` by key with ``data`` (the caller commits); the counts."""
    target = target_name(url, schema, table)
    staged = _stage(cur, table, data)
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
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != k)
    cur.execute(
        f"insert into {target} ({', '.join(names)}) select {_typed(url, columns)} from {staged} where true "
        f"on conflict ({k}) do update set {updates}"
    )
    cur.execute(f"drop table {staged}")
    return TableSync(table, inserted, updated, removed, int(data.num_rows))


def replace(cur, url: DatabaseURL, schema: str, table: str, columns, key: str, data) -> TableSync:
    """Replace ``table`` whole with ``data`` (dropped and created again with ``columns``: a table
    of another shape never blocks it; the caller commits); the counts."""
    target = target_name(url, schema, table)
    removed = 0
    if existing_columns(cur, url, schema, table) is not None:
        cur.execute(f"select count(*) from {target}")
        removed = int(cur.fetchall()[0][0])
        cur.execute(f"drop table {target}")
    ensure_table(cur, url, schema, table, columns, key)
    staged = _stage(cur, table, data)
    cur.execute(f"insert into {target} select {_typed(url, columns)} from {staged}")
    cur.execute(f"drop table {staged}")
    return TableSync(table, int(data.num_rows), 0, removed, int(data.num_rows))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def log_syncs(cur, url: DatabaseURL, schema: str, run_id: str, done: list[TableSync]) -> None:
    now = now_utc()
    stamp = now if url.kind == "postgresql" else now.isoformat(sep=" ")
    marks = ", ".join(f"${i + 1}" for i in range(7)) if url.kind == "postgresql" else ", ".join("?" * 7)
    for d in done:
        cur.execute(
            f"insert into {target_name(url, schema, 'sync_log')} values ({marks})",
            parameters=(stamp, run_id, d.table, d.inserted, d.updated, d.removed, d.total),
        )


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
