"""The dashboard's "RFM map" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries, store


def page_rfm() -> None:
    st.title("RFM map")
    if store.input_kind() == "customers":
        st.info("The RFM map needs transactions: this warehouse was built from a customer table.")
        return
    grid = queries.rfm_grid()
    st.caption("Customers per cell: recency score (rows) by frequency-monetary score (columns).")
    pivot = grid.pivot_table(index="recency_score", columns="fm_score", values="customers", aggfunc="sum")
    st.plotly_chart(
        px.imshow(pivot, text_auto=True, aspect="auto",
                  labels={"x": look.label("fm_score"), "y": look.label("recency_score"), "color": "Customers"}),
        key="rfm_heatmap",
    )  # fmt: skip
    by_segment = grid.groupby("rfm_segment", as_index=False)[["customers", "revenue"]].sum()
    st.dataframe(
        look.table(by_segment.sort_values("revenue", ascending=False)), hide_index=True, key="rfm_segments"
    )


page_rfm()
