"""The dashboard's access to the published serving copy, read-only through custseg.warehouse's
locked reader. A page's run (:func:`page_run`, around each run of the app) opens and checks
each file once, on its first query, and closes it when the page is drawn: every query of one
page reads the same publication, and the next run the one published by then. Nothing is held
between runs, so a `dbt build` that publishes meanwhile is never blocked. A query outside a
page's run opens the file and closes it again."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..warehouse import open_warehouse
from . import look


def serving_path() -> Path:
    """The published database: CUSTSEG_SERVING_PATH, else warehouse/custseg.duckdb."""
    return Path(os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))


# the connections of the page run in progress on this thread (Streamlit runs each session's
# script on a thread of its own): file path -> connection
_RUN = threading.local()


@contextlib.contextmanager
def page_run() -> Iterator[None]:
    """Within the block, each file is opened (and checked) on its first query and closed at the
    end: about 35 ms of CPU a query saved (a DuckDB instance, and the check of the file's
    macros and views); a page runs up to a dozen. Nested, the outer run's connections serve."""
    if getattr(_RUN, "connections", None) is not None:
        yield
        return
    _RUN.connections = {}
    try:
        yield
    finally:
        opened, _RUN.connections = _RUN.connections, None
        for con in opened.values():
            con.close()


@contextlib.contextmanager
def _connection(path: Path | None) -> Iterator[object]:
    path = path or serving_path()  # opened as given: the refusals name it as the user wrote it
    opened = getattr(_RUN, "connections", None)
    if opened is None:  # outside a page's run: this query's own connection
        con = open_warehouse(path)
        try:
            yield con
        finally:
            con.close()
        return
    key = os.path.abspath(path)  # one connection per file, however the path is spelt
    if key not in opened:
        opened[key] = open_warehouse(path)
    yield opened[key]


def query(sql: str, path: Path | None = None, params: list | None = None) -> pd.DataFrame:
    """One read-only query on the serving copy (the page run's connection: :func:`page_run`);
    values from a person (filters) arrive as bound parameters, never in the SQL text."""
    with _connection(path) as con:
        return con.execute(sql, params or []).df()


def check_warehouse(path: Path | None = None) -> None:
    """Raise WarehouseRefused (with the reason) when the serving copy is not safe to read: a
    file built elsewhere whose views read files, or that defines macros (custseg.warehouse)."""
    with _connection(path):
        pass


def input_kind(path: Path | None = None) -> str:
    """'transactions' or 'customers' (a customer table: its segments have no RFM segment)."""
    rfm = query("select count(rfm_segment) as n from marts.dim_customer_segments", path).iloc[0]["n"]
    return "transactions" if rfm else "customers"


def segment_colors(path: Path | None = None, extra=()) -> dict[str, str]:
    """One colour per segment name, in the order of the active segments' cluster ids, then any
    other name shown (older versions' segments, sorted): the same colour on every chart."""
    names = query("select segment_name from marts.dim_segments order by cluster_id", path)[
        "segment_name"
    ].tolist()
    return look.segment_colors(names + sorted(set(extra) - set(names)))
