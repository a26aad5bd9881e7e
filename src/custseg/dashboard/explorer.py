"""The segment explorer: a segment's customers filtered and sorted in SQL on the serving copy
(values from a person arrive as bound parameters), a page at a time or whole for a download, and
what the segment buys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..audiences import control_group
from ..inputs.quoting import sql_identifier
from .store import input_kind, query

EXPLORER_PAGE_SIZE = 50


# the customer columns the explorer lists, filters and sorts by (transactions; a customer table
# lists its customers' segment columns)
EXPLORER_COLUMNS = ("recency_days", "order_count", "monetary_value")


# what the value models say of each customer, listed first (the answers a campaign acts on): the
# churn risk, not P(alive), which on retail purchases is often near 1 for everyone (docs/value.md,
# "When dropout is not identified")
EXPLORER_VALUE_COLUMNS = (
    "predicted_clv", "churn_risk", "churn_risk_band", "value_decile", "expected_date_of_next_order"
)  # fmt: skip


@dataclass(frozen=True)
class ExplorerFilter:
    """What a person narrows a segment's customers to; None = no bound. ``max_value_decile``:
    the top deciles by predicted CLV only (1 = the top 10%)."""

    max_recency_days: int | None = None
    min_orders: int | None = None
    min_spend: float | None = None
    churn_risk_bands: tuple[str, ...] = ()
    min_predicted_clv: float | None = None
    max_value_decile: int | None = None


def segments(path: Path | None = None) -> pd.DataFrame:
    return query("select cluster_id, segment_name, description, recommended_action from marts.dim_segments "
                 "order by cluster_id", path)  # fmt: skip


def segment_profile(cluster_id: int, path: Path | None = None) -> pd.DataFrame:
    """The segment against the whole base, feature by feature."""
    return query(
        "select feature, segment_mean, overall_mean, segment_median, overall_median, standardised_difference "
        "from marts.fct_segment_feature_profiles where cluster_id = ? order by feature_order",
        path,
        [int(cluster_id)],
    )


def _explorer_sql(path: Path | None, cluster_id: int, where: ExplorerFilter) -> tuple[str, list, list[str]]:
    """(the FROM ... WHERE part, its parameters, the columns listed) of a segment's customers."""
    if input_kind(path) == "customers":
        columns = ["customer_id", "segment_name", "confidence", "distance_to_centroid"]
        return "from marts.dim_customer_segments s where s.cluster_id = ?", [int(cluster_id)], columns
    columns = ["customer_id", "segment_name", *EXPLORER_VALUE_COLUMNS, *EXPLORER_COLUMNS, "confidence"]
    # the value mart's own columns only (its segment name is the segment mart's, joined once)
    value = ", ".join(sql_identifier(c) for c in ("customer_id", *EXPLORER_VALUE_COLUMNS))
    sql = (
        f"from marts.dim_customer_segments s left join (select {value} from marts.dim_customer_value) v "
        "using (customer_id) where s.cluster_id = ?"
    )
    params: list = [int(cluster_id)]
    for clause, value in (
        ("s.recency_days <= ?", where.max_recency_days),
        ("s.order_count >= ?", where.min_orders),
        ("s.monetary_value >= ?", where.min_spend),
        ("v.predicted_clv >= ?", where.min_predicted_clv),
        ("v.value_decile <= ?", where.max_value_decile),
    ):
        if value is not None:
            sql += f" and {clause}"
            params.append(value)
    if where.churn_risk_bands:
        sql += f" and v.churn_risk_band in ({', '.join('?' for _ in where.churn_risk_bands)})"
        params += list(where.churn_risk_bands)
    return sql, params, columns


def segment_customers(
    cluster_id: int,
    where: ExplorerFilter = ExplorerFilter(),
    sort: str = "customer_id",
    descending: bool = False,
    page: int = 0,
    path: Path | None = None,
    page_size: int | None = EXPLORER_PAGE_SIZE,
) -> tuple[pd.DataFrame, int]:
    """One page of a segment's customers, filtered and sorted in SQL on the serving copy, and how
    many match. ``page_size`` None: every match (the download)."""
    body, params, columns = _explorer_sql(path, cluster_id, where)
    if sort not in columns:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {columns}")
    order = f"{sql_identifier(sort)} {'desc' if descending else 'asc'} nulls last, customer_id"
    listed = ", ".join(sql_identifier(c) for c in columns)
    limit = "" if page_size is None else f" limit {int(page_size)} offset {int(page) * int(page_size)}"
    rows = query(f"select {listed} {body} order by {order}{limit}", path, params)
    total = int(query(f"select count(*) as n {body}", path, params).iloc[0]["n"])
    return rows, total


def segment_stem(segment_name: str) -> str:
    """A segment's name as a file or table name: "Potential Loyalists" -> "potential_loyalists"."""
    return re.sub(r"[^a-z0-9]+", "_", segment_name.lower()).strip("_") or "segment"


def export_file_name(segment_name: str, fmt: str) -> str:
    """The download's file name, after the segment: "potential_loyalists_customers.csv"."""
    return f"{segment_stem(segment_name)}_customers.{fmt}"


def segment_export(
    cluster_id: int,
    where: ExplorerFilter,
    fmt: str,
    path: Path | None = None,
    control_share: float = 0.0,
    control_seed: int = 1,
) -> bytes:
    """Every customer of the segment that matches, for a campaign tool: CSV or Parquet bytes,
    sorted by customer id, with the segment name and (transactions) the value columns; with a
    ``control_share``, an ``is_control`` column marking a reproducible random hold-out
    (:func:`control_group`) to measure the campaign against."""
    rows, _ = segment_customers(cluster_id, where, "customer_id", path=path, page_size=None)
    if control_share:
        rows["is_control"] = control_group(rows["customer_id"], control_share, control_seed).to_numpy()
    if fmt == "csv":
        return rows.to_csv(index=False).encode()
    if fmt == "parquet":
        return rows.to_parquet(index=False)
    raise ValueError(f"export format must be csv or parquet, got {fmt!r}")


def send_audience(
    cluster_id: int,
    where: ExplorerFilter,
    name: str,
    path: Path | None = None,
    control_share: float = 0.0,
    control_seed: int = 1,
):
    """Every customer of the segment that matches, sent to the sync target (CUSTSEG_SYNC_URL)
    as the table audience_<name> (custseg.audiences.write_audience), with the same hold-out as the
    download; what was written."""
    from ..audiences import write_audience
    from ..project import project_var
    from .store import serving_path

    rows, _ = segment_customers(cluster_id, where, "customer_id", path=path, page_size=None)
    return write_audience(str(path or serving_path()), name, rows["customer_id"], control_share, control_seed,
                          project_var("sync_schema"))  # fmt: skip


def segment_conflicts(cluster_id: int, path: Path | None = None) -> pd.DataFrame:
    """The segment's customers its name does not describe, per disagreement with his RFM
    segment or churn risk (marts.fct_customer_label_conflicts; transactions only): the
    disagreement, how many customers, and one customer's reason as an example."""
    return query(
        "select disagreement, count(*) as customers, min(reason) as example "
        "from marts.fct_customer_label_conflicts where cluster_id = ? group by disagreement order by disagreement",
        path,
        [int(cluster_id)],
    )


def segment_purchases(cluster_id: int, by: str, path: Path | None = None, limit: int = 10) -> pd.DataFrame:
    """What a segment buys: its top products (by='product') or countries (by='country') by
    revenue, from the clean transaction lines (transactions only)."""
    key = {"product": "t.stock_code, max(t.description) as description", "country": "t.country"}[by]
    group = {"product": "t.stock_code", "country": "t.country"}[by]
    return query(
        f"select {key}, count(distinct t.customer_id) as customers, sum(t.line_amount) as revenue "
        "from marts.fct_transactions t join marts.dim_customer_segments s using (customer_id) "
        f"where s.cluster_id = ? group by {group} order by revenue desc, {group} limit {int(limit)}",
        path,
        [int(cluster_id)],
    )


def segment_trend(segment_name: str, path: Path | None = None) -> pd.DataFrame:
    """The segment's size and share at every run (by its name)."""
    return query(
        "select run_id, as_of_date, customers, customer_share, revenue from marts.fct_segment_shares "
        "where segment_name = ? order by run_id",
        path,
        [segment_name],
    )
