"""The dashboard's "Overview" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries, store


def page_overview() -> None:
    st.title("Overview")
    head = queries.overview()
    cols = st.columns(4)
    cols[0].metric("Customers", f"{head['customers']:,}")
    cols[1].metric("Segments", head["segments"])
    cols[2].metric("As of", head["as_of_date"] or "—")
    cols[3].metric(look.label("revenue"), look.money(head["revenue"]))
    model = head["model"]
    if model:
        st.caption(
            f"Model in use: {model['model_id']} ({model['algorithm']}, k = {model['n_clusters']}, "
            f"version {model['model_version']}, trained {model['trained_at']})"
        )
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
