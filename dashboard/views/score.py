"""The dashboard's "Score a customer" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import streamlit as st

from custseg.dashboard import look, score_form
from custseg.scoring import ScoringError


def page_score() -> None:
    st.title("Score a customer")
    st.caption(
        "The active model assigns the segment; nothing is refitted. Numbers start at the base's median."
    )
    fields = score_form.score_fields()
    with st.form("score"):
        values = {
            f.name: st.selectbox(look.label(f.name), f.levels, key=f"score_{f.name}")
            if f.kind == "choice"
            else st.number_input(
                look.label(f.name), value=f.default, min_value=f.min_value, key=f"score_{f.name}"
            )
            for f in fields
        }
        submitted = st.form_submit_button("Score")
    if submitted:
        try:
            result = score_form.score_customer(values)
        except ScoringError as exc:
            st.error(f"Not scored: {exc}")
            return
        st.success(f"Segment {result['cluster_id']}: {result['segment_name']}")
        st.metric("Confidence", f"{result['confidence']:.0%}")
        if result["recommended_action"]:
            st.write(f"Recommended action: {result['recommended_action']}")
        st.caption(
            "Why: the customer is nearest to this segment's centre (distances in the model's standardised "
            "units); confidence = 1 - own distance / next nearest distance."
        )
        distances = result["distances"].rename(columns={"distance": "distance_to_centre"})
        st.dataframe(look.table(distances), hide_index=True, key="score_distances")


page_score()
