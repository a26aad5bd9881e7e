"""The dashboard's "Choosing k" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries


def page_k() -> None:
    st.title("Choosing k")
    sweep = queries.k_selection()
    chosen = sweep[sweep["is_chosen"]].iloc[0]
    st.metric("Chosen k", int(chosen["k"]))
    st.write(f"Why: {chosen['selection_reason']}")
    cols = st.columns(2)
    for i, (measure, better) in enumerate(
        [
            ("inertia", "elbow"),
            ("silhouette", "higher is better"),
            ("davies_bouldin", "lower is better"),
            ("calinski_harabasz", "higher is better"),
        ]
    ):
        fig = px.line(sweep, x="k", y=measure, markers=True, title=f"{look.label(measure)} ({better})",
                      labels=look.axis_labels("k", measure))  # fmt: skip
        fig.add_vline(x=int(chosen["k"]), line_dash="dash")
        cols[i % 2].plotly_chart(fig, key=f"k_{measure}")
    st.dataframe(look.table(sweep), hide_index=True, key="sweep")


page_k()
