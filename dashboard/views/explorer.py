"""The dashboard's "Segment explorer" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg import sync
from custseg.dashboard import explorer, look, store


def _explorer_filter():
    cols = st.columns(4)
    recency = cols[0].number_input("Bought within (days)", min_value=0, value=None, step=30, key="f_recency")
    orders = cols[1].number_input("At least (orders)", min_value=0, value=None, step=1, key="f_orders")
    spend = cols[2].number_input(
        f"Spent at least ({look.currency()})", min_value=0.0, value=None, key="f_spend"
    )
    bands = cols[3].multiselect("Churn risk", ["low", "medium", "high"], key="f_bands")
    cols = st.columns(4)
    clv = cols[0].number_input(
        f"Predicted CLV at least ({look.currency()})", min_value=0.0, value=None, key="f_clv"
    )
    decile = cols[1].selectbox(
        "Value deciles", [None, *range(1, 10)], key="f_decile",
        format_func=lambda d: "all" if d is None else f"top {d * 10}% by predicted CLV",
    )  # fmt: skip
    return explorer.ExplorerFilter(recency, orders, spend, tuple(bands), clv, decile)


def _explorer_downloads(cluster_id: int, segment_name: str, where, total: int) -> None:
    """The filtered list as CSV and Parquet, named after the segment, with an optional seeded
    control group; the files are made only when a button is pressed, and pressing one does not
    rerun the page (a second download right after is not lost)."""
    cols = st.columns(2)
    share = cols[0].number_input("Hold out a control group (% of the list)", min_value=0, max_value=50, value=0,
                                 step=5, key="control_share") / 100  # fmt: skip
    seed = cols[1].number_input("Control group seed (the same seed, the same group)", min_value=0, value=1,
                                step=1, key="control_seed")  # fmt: skip
    if share:
        st.caption(
            f"{round(share * total):,} of the {total:,} customers are marked is_control: leave them out of the "
            "campaign and compare what they buy with the others to measure it."
        )
    left, right = st.columns(2)
    for column, fmt, mime in ((left, "csv", "text/csv"), (right, "parquet", "application/octet-stream")):
        column.download_button(
            f"Download the {total:,} customers ({fmt.upper() if fmt == 'csv' else 'Parquet'})",
            lambda fmt=fmt: explorer.segment_export(cluster_id, where, fmt, control_share=share,
                                                    control_seed=int(seed)),
            file_name=explorer.export_file_name(segment_name, fmt), mime=mime, key=f"explorer_{fmt}",
            on_click="ignore",
        )  # fmt: skip
    _send_audience(cluster_id, segment_name, where, share, int(seed))


def _send_audience(cluster_id: int, segment_name: str, where, share: float, seed: int) -> None:
    """The same list sent to the database the segments are synced to, as audience_<name>."""
    if sync.sync_url() is None:
        st.caption("To send this list to your database as a table, set CUSTSEG_SYNC_URL (docs/database.md).")
        return
    left, right = st.columns([2, 1])
    name = left.text_input(
        "Audience name (the table audience_<name>)",
        value=explorer.segment_stem(segment_name),
        key="audience_name",
    )
    if right.button("Send to the database", key="send_audience"):
        try:
            done = explorer.send_audience(cluster_id, where, name, control_share=share, control_seed=seed)
        except (sync.SyncError, ValueError) as exc:
            st.error(str(exc))
        else:
            st.success(f"Wrote {done.total:,} customers to {done.table} (replacing {done.removed:,}).")


def _conflicts(cluster_id: int) -> None:
    """How many of the segment's customers its name does not describe, and why (one line each)."""
    conflicts = explorer.segment_conflicts(cluster_id)
    for row in conflicts.itertuples():
        st.caption(
            f"{row.customers:,} of its customers do not fit its name: {row.example.split(';')[0]} "
            f"(e.g. {row.example.split('; ', 1)[-1]}). They are listed in marts.fct_customer_label_conflicts."
        )


def page_explorer() -> None:
    st.title("Segment explorer")
    catalogue = explorer.segments()
    names = dict(zip(catalogue["cluster_id"], catalogue["segment_name"], strict=True))
    cluster_id = st.selectbox("Segment", list(names), format_func=names.get, key="explorer_segment")
    chosen = catalogue[catalogue["cluster_id"] == cluster_id].iloc[0]
    st.write(chosen["description"])
    if chosen["recommended_action"]:
        st.caption(f"Recommended action: {chosen['recommended_action']}")
    st.subheader("Against the whole base")
    profile = explorer.segment_profile(cluster_id).assign(feature=lambda f: f["feature"].map(look.label))
    st.dataframe(look.table(profile), hide_index=True, key="explorer_profile")
    transactions = store.input_kind() == "transactions"
    if transactions:
        _conflicts(cluster_id)
    st.subheader("Its customers")
    where = _explorer_filter() if transactions else explorer.ExplorerFilter()
    sortable = (
        ["customer_id", "predicted_clv", "churn_risk", *explorer.EXPLORER_COLUMNS]
        if transactions
        else ["customer_id", "confidence"]
    )
    left, right = st.columns(2)
    sort = left.selectbox("Sort by", sortable, format_func=look.label, key="explorer_sort")
    descending = right.toggle("Largest first", value=sort != "customer_id", key="explorer_desc")
    page = st.number_input("Page", min_value=1, value=1, step=1, key="explorer_page") - 1
    rows, total = explorer.segment_customers(cluster_id, where, sort, descending, page)
    pages = max(1, -(-total // explorer.EXPLORER_PAGE_SIZE))
    st.caption(
        f"{total:,} customers match; page {page + 1} of {pages:,} ({explorer.EXPLORER_PAGE_SIZE} a page)."
    )
    st.dataframe(look.table(rows), hide_index=True, key="explorer_customers")
    if total:
        _explorer_downloads(cluster_id, names[cluster_id], where, total)
    if transactions:
        st.subheader("What it buys")
        left, right = st.columns(2)
        left.dataframe(
            look.table(explorer.segment_purchases(cluster_id, "product")), hide_index=True, key="products"
        )
        right.dataframe(
            look.table(explorer.segment_purchases(cluster_id, "country")), hide_index=True, key="countries"
        )
    trend = explorer.segment_trend(names[cluster_id])
    if len(trend) > 1:
        st.subheader("Over the runs")
        st.plotly_chart(
            px.line(trend, x="run_id", y="customer_share", markers=True,
                    color_discrete_sequence=[store.segment_colors()[names[cluster_id]]],
                    labels=look.axis_labels("run_id", "customer_share")),
            key="explorer_trend",
        )  # fmt: skip


page_explorer()
