"""The dashboard's "Segments" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries, store


def page_segments() -> None:
    st.title("Segments")
    prof = queries.profiles()
    colors = store.segment_colors()
    st.dataframe(look.table(prof), hide_index=True, key="profiles")
    left, right = st.columns(2)
    by_segment = {"color": "segment_name", "color_discrete_map": colors}
    left.plotly_chart(
        px.bar(prof, x="segment_name", y="customer_count", title="Customers", **by_segment,
               labels=look.axis_labels("segment_name", "customer_count")),
        key="sizes",
    )  # fmt: skip
    if prof["revenue"].notna().any():
        right.plotly_chart(
            px.bar(prof, x="segment_name", y="revenue", title="Revenue", **by_segment,
                   labels=look.axis_labels("segment_name", "revenue")),
            key="revenue",
        )  # fmt: skip
    values = queries.feature_values()
    features = [c for c in values.columns if c != "segment_name"]
    st.subheader("Features by segment")
    st.caption(f"Up to {queries.MAX_VIOLIN_POINTS:,} customers per segment.")
    feature = st.selectbox("Feature", features, format_func=look.label, key="violin_feature")
    st.plotly_chart(
        px.violin(values, x="segment_name", y=feature, box=True, **by_segment,
                  labels=look.axis_labels("segment_name", feature)),
        key="violin",
    )  # fmt: skip
    points = queries.scatter_points()
    st.subheader("Customers on the first principal components")
    st.caption(f"{len(points):,} customers shown (a fixed sample above {queries.MAX_SCATTER_POINTS:,}).")
    st.plotly_chart(
        px.scatter(points, x="pc_1", y="pc_2", opacity=0.6, **by_segment,
                   labels=look.axis_labels("pc_1", "pc_2", "segment_name")),
        key="scatter_2d",
    )  # fmt: skip
    if points["pc_3"].notna().any():
        st.plotly_chart(
            px.scatter_3d(
                points,
                x="pc_1",
                y="pc_2",
                z="pc_3",
                opacity=0.6,
                **by_segment,
                labels=look.axis_labels("pc_1", "pc_2", "pc_3", "segment_name"),
            ),
            key="scatter_3d",
        )


page_segments()
