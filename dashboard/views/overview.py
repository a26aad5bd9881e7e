"""The dashboard's "Overview" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg import sync
from custseg.dashboard import look, queries, store


def _headlines(lines: dict) -> None:
    """Who is leaving and what the base is worth, one line each (docs/dashboard.md)."""
    leaving, customers = lines["leaving"], lines["customers"]
    if lines["churn_horizon_days"] is None:
        st.markdown("**Who is leaving:** no usable value model, so no churn risk (Value ahead says why).")
    else:
        most = lines["most_leaving"]
        where = (
            f"; most of them in {most['segment_name']} ({int(most['high_churn_risk_customers']):,})"
            if leaving and most
            else ""
        )
        st.markdown(
            f"**Who is leaving:** {leaving:,} of {customers:,} customers ({leaving / max(customers, 1):.0%}) are at "
            f"high churn risk, likely to buy nothing in the next {lines['churn_horizon_days']} days{where}."
        )
    if lines["predicted_clv"] is None:
        st.markdown("**What the base is worth:** no usable value model (Value ahead says why).")
    else:
        most = lines["most_value"]
        share = f", {most['predicted_clv_share']:.0%} of it from {most['segment_name']}" if most else ""
        st.markdown(
            f"**What the base is worth:** {look.money(lines['predicted_clv'])} expected from these customers over "
            f"the next year{share}."
        )


def _last_sync() -> None:
    """When the segments were last written to the database (CUSTSEG_SYNC_URL), and how many rows."""
    record = sync.last_sync(str(store.serving_path()))
    if record is None:
        return
    if not record["ok"]:
        st.warning(f"The last sync to the database ({record['at']} UTC) failed: {record['problem']}")
        return
    tables = {t["table"]: t for t in record["tables"]}
    customers = tables.get("customer_segments")
    if customers:
        st.caption(
            f"Last sync to the database: {record['at']} UTC, {customers['total']:,} customers in customer_segments "
            f"({customers['inserted']:,} inserted, {customers['updated']:,} updated, {customers['removed']:,} removed)."
        )


def page_overview() -> None:
    st.title("Overview")
    head = queries.overview()
    cols = st.columns(4)
    cols[0].metric("Customers", f"{head['customers']:,}")
    cols[1].metric("Segments", head["segments"])
    cols[2].metric("As of", head["as_of_date"] or "—")
    cols[3].metric(look.label("revenue"), look.money(head["revenue"]))
    lines = queries.headlines()
    if lines is not None:
        _headlines(lines)
    model = head["model"]
    if model:
        st.caption(
            f"Model in use: {model['model_id']} ({model['algorithm']}, k = {model['n_clusters']}, "
            f"version {model['model_version']}, trained {model['trained_at']})"
        )
    _last_sync()
    prof = queries.profiles()
    if prof["revenue"].notna().any():
        st.subheader("Revenue share by segment")
        st.plotly_chart(
            px.pie(prof, names="segment_name", values="revenue", color="segment_name",
                   color_discrete_map=store.segment_colors(), labels=look.axis_labels("segment_name", "revenue")),
            key="revenue_share",
        )  # fmt: skip
    st.subheader("Ingestion accounting")
    st.caption("Every raw row is clean or quarantined with its reason.")
    ingestion = queries.ingestion()
    st.dataframe(look.table(ingestion.assign(outcome=look.words(ingestion["outcome"]))), hide_index=True,
                 key="ingestion")  # fmt: skip


page_overview()
