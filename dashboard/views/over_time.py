"""The dashboard's "Over time" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries, store


def page_time() -> None:
    st.title("Over time")
    hist = queries.history()
    runs = hist["shares"]["run_id"].nunique()
    if runs < 2:
        st.info(
            f"Segment history has {runs} run(s). Shares over time and migration need at least two builds "
            "with new data (docs/segments-over-time.md)."
        )
    if runs:
        shares = hist["shares"]
        figure = px.area(
            shares, x="run_id", y="customer_share", color="segment_name",
            color_discrete_map=store.segment_colors(extra=shares["segment_name"]),
            hover_data=["as_of_date", "model_version", "customers"],
            labels=look.axis_labels("run_id", "customer_share", "segment_name", "as_of_date", "model_version",
                                    "customers"),
        )  # fmt: skip
        for start in queries.model_starts(shares).itertuples():
            figure.add_vline(
                x=start.run_id, line_dash="dash", line_color="grey",
                annotation_text=f"model v{start.model_version}", annotation_position="top left",
            )  # fmt: skip
        dates = shares.drop_duplicates("run_id")
        figure.update_xaxes(
            tickvals=dates["run_id"].tolist(),
            ticktext=[
                f"{r}<br>{pd.Timestamp(d).date()}"
                for r, d in zip(dates["run_id"], dates["as_of_date"], strict=True)
            ],
        )
        st.caption(
            "Segment shares per run; a dashed line marks where a model version took over (first fit, refit, pin)."
        )
        st.plotly_chart(figure, key="shares")
    if len(hist["migration"]):
        st.subheader("Migration between runs")
        pairs = queries.migration_pairs(hist["migration"])
        pair = st.selectbox(
            "Runs", pairs, format_func=lambda p: f"run {p[0]} → run {p[1]}", key="migration_pair"
        )
        matrix = queries.migration_matrix(hist["migration"], pair)
        st.plotly_chart(
            px.imshow(
                matrix, text_auto=True, aspect="auto", color_continuous_scale="Blues",
                labels={"x": f"Segment at run {pair[1]}", "y": f"Segment at run {pair[0]}", "color": "Customers"},
            ),
            key="migration",
        )  # fmt: skip
        moved = queries.movement_counts(hist["migration"], pair)
        st.caption(
            "Customers from each segment (rows) to each segment (columns). Across a refit a segment can "
            "continue under another name: "
            + ", ".join(f"{count:,} {kind}" for kind, count in moved.items())
            + " (dim_segment_lineage says which segment continues which)."
        )
    if len(hist["drift"]):
        st.subheader("Drift")
        latest = hist["drift"][hist["drift"]["run_id"] == hist["drift"]["run_id"].max()]
        st.metric("Latest drift status", latest["run_status"].iloc[0])
        shown = latest.assign(measure=look.words(latest["measure"]), subject=look.words(latest["subject"]))
        st.dataframe(look.table(shown), hide_index=True, key="drift")


page_time()
