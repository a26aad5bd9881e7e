"""The dashboard's "Classifier" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries


def page_classifier() -> None:
    st.title("Classifier")
    tables = queries.classifier()
    metrics = dict(zip(tables["metrics"]["metric"], tables["metrics"]["value"], strict=True))
    st.metric("Holdout accuracy", f"{metrics['accuracy']:.1%}")
    confusion = tables["confusion"].pivot_table(
        index="actual_segment", columns="predicted_segment", values="customer_count", aggfunc="sum"
    )
    st.plotly_chart(
        px.imshow(confusion, text_auto=True, aspect="auto",
                  labels={"x": "Predicted segment", "y": "Segment of the model", "color": "Customers"}),
        key="confusion",
    )  # fmt: skip
    st.subheader("Per segment")
    st.dataframe(look.table(tables["report"]), hide_index=True, key="report")
    st.subheader("Feature importances")
    importances = tables["importances"].assign(feature=tables["importances"]["feature"].map(look.label))
    st.plotly_chart(
        px.bar(importances, x="importance", y="feature", orientation="h",
               labels=look.axis_labels("importance", "feature")),
        key="importances",
    )  # fmt: skip
    st.subheader("The explainable tree's rules")
    st.dataframe(look.table(tables["rules"]), hide_index=True, key="rules")


page_classifier()
