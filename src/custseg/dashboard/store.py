"""The dashboard's access to the published serving copy: every query opens the file read-only
(custseg.warehouse's locked reader) and closes it again, so a `dbt build` that publishes a new
copy meanwhile is never blocked and the next query sees the new one."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..warehouse import open_warehouse
from . import look


def serving_path() -> Path:
    """The published database: CUSTSEG_SERVING_PATH, else warehouse/custseg.duckdb."""
    return Path(os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))


def query(sql: str, path: Path | None = None, params: list | None = None) -> pd.DataFrame:
    """One read-only query on the serving copy (the connection is closed right after); values
    from a person (filters) arrive as bound parameters, never in the SQL text."""
    con = open_warehouse(path or serving_path())
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def check_warehouse(path: Path | None = None) -> None:
    """Raise WarehouseRefused (with the reason) when the serving copy is not safe to read: a
    file built elsewhere whose views read files, or that defines macros (custseg.warehouse)."""
    open_warehouse(path or serving_path()).close()


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
