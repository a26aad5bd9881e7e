"""Audiences out: the published segments upserted into a database (docs/database.md).

After every build that publishes (macro ``publish_warehouse``) and on demand (``custseg sync``),
the tables below are written to the schema ``sync_schema`` of the database whose URL is in
``CUSTSEG_SYNC_URL``, in one transaction: a reader of the target sees the last sync or this one,
never a mix.

- ``customer_segments``: one row per customer (key ``customer_id``), the columns named as in the
  marts (:data:`CUSTOMER_COLUMNS`); customers no longer in the warehouse are removed;
- ``segment_catalogue``: one row per segment (key ``cluster_id``);
- ``sync_log``: one row per table and sync: rows inserted, updated and removed, and when.

The rows come from the published (serving) warehouse, opened read-only (:mod:`.published`). A
table the project writes for the first time gets the key as its primary key; a table that exists
with other columns is left alone and the sync says so (:mod:`.target`, how the target is
written). SQLite has no schemas: there the tables go in the file itself and ``sync_schema`` is
not used. An ``audience_<name>`` table (the explorer's filtered list, :mod:`custseg.audiences`)
has the columns of ``customer_segments`` plus ``is_control``; it is replaced whole.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..inputs import SourceError
from .published import CATALOGUE_COLUMNS, CUSTOMER_COLUMNS, read_published
from .target import (
    SYNC_URL_ENV,
    SyncError,
    TableSync,
    connect_target,
    in_transaction,
    log_syncs,
    now_utc,
    prepare_target,
    sync_url,
    upsert,
)

__all__ = ["SYNC_URL_ENV", "SyncError", "TableSync", "last_sync", "summary", "sync", "sync_url"]

TABLES = (
    ("customer_segments", CUSTOMER_COLUMNS, "customer_id"),
    ("segment_catalogue", CATALOGUE_COLUMNS, "cluster_id"),
)


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


def sync(
    serving_path: str, schema: str = "custseg", run_id: str = "", env: dict[str, str] | None = None
) -> list[TableSync]:
    """Upsert the published segments into the target; one transaction. Raises SyncError."""
    try:
        done = _sync(serving_path, schema, run_id, env)
    except SourceError as exc:  # a SyncError, or the URL's own problem
        _record(serving_path, {"ok": False, "at": now_utc().isoformat(sep=" "), "problem": str(exc)})
        raise
    _record(serving_path, {"ok": True, "at": now_utc().isoformat(sep=" "), "run_id": run_id or "custseg sync",
                           "tables": [vars(d) for d in done]})  # fmt: skip
    return done


def _sync(serving_path: str, schema: str, run_id: str, env: dict[str, str] | None) -> list[TableSync]:
    url = connect_target(env, schema)
    data = read_published(serving_path)
    return in_transaction(url, schema, lambda cur: _write(cur, url, schema, data, run_id or "custseg sync"))


def _write(cur, url, schema: str, data: dict, run_id: str) -> list[TableSync]:
    """The sync's statements (the caller commits them as one transaction)."""
    prepare_target(cur, url, schema, TABLES)
    done = [upsert(cur, url, schema, table, columns, key, data[table]) for table, columns, key in TABLES]
    log_syncs(cur, url, schema, run_id, done)
    return done


def summary(done: list[TableSync]) -> str:
    return "; ".join(
        f"{d.table}: {d.total} rows ({d.inserted} inserted, {d.updated} updated, {d.removed} removed)"
        for d in done
    )
