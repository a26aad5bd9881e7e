"""The dashboard's "Try your own file" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from custseg.dashboard import look
from custseg.dashboard import upload as uploads


@st.cache_data(max_entries=4, show_spinner="Reading the file's columns")
def _upload_columns(name: str, content: bytes) -> tuple[uploads.UploadColumns | None, str]:
    """An upload's columns, or why it is refused, read once per file (the page runs again on
    every click; a refusal is remembered too, so a refused file is not read again)."""
    try:
        return uploads.upload_columns(name, content), ""
    except uploads.UploadError as exc:
        return None, str(exc)


def _upload_settings(upload) -> uploads.UploadSettings | None:
    """The settings form of an upload: its kind (detected, can be changed), k, algorithm, and a
    customer table's columns to segment on; None (and the reason on the page) for a file refused
    from its header."""
    detected, refused = _upload_columns(upload.name, upload.getvalue())
    if detected is None:
        st.error(refused)
        return None
    kinds = {
        "transactions": "Transactions (one row per purchase line)",
        "customers": "A customer table (one row per customer)",
    }
    kind = st.radio("What is in the file", list(kinds), index=list(kinds).index(detected.kind),
                    format_func=kinds.get, key="upload_kind")  # fmt: skip
    features: list[str] = []
    if kind == "customers":
        if detected.id_column:
            st.caption(f"Customer id column: {detected.id_column}")
        features = st.multiselect("Columns to segment on", list(detected.numeric), default=list(detected.proposed),
                                  key="upload_features")  # fmt: skip
        if detected.outcomes:
            st.caption(
                "Left out as outcomes, not traits (yes/no columns named like a campaign answer, a response or a "
                f"complaint): {', '.join(detected.outcomes)}. Add them above to segment on them anyway."
            )
    cols = st.columns(3)
    algorithm = cols[0].selectbox(
        "Algorithm", ["kmeans", "gmm", "birch", "agglomerative", "hdbscan"], key="algorithm"
    )
    k_range = cols[1].slider("k between", 2, 12, (2, 10), key="k_range")
    k = cols[2].number_input("Force k (0 = choose by the rule)", min_value=0, max_value=30, value=0, key="k")
    return uploads.UploadSettings(kind, int(k) or None, tuple(k_range), algorithm, tuple(features))


def _upload_results(result) -> None:
    colors = look.segment_colors(result.profiles["segment_name"].tolist())
    if result.k_selection is not None and len(result.k_selection) > 1:
        sweep = result.k_selection
        figure = px.line(sweep, x="k", y="silhouette", markers=True, title="Choosing k: silhouette (higher is better)",
                         labels=look.axis_labels("k", "silhouette"))  # fmt: skip
        figure.add_vline(x=int(sweep[sweep["is_chosen"]]["k"].iloc[0]), line_dash="dash")
        st.plotly_chart(figure, key="upload_k")
    st.plotly_chart(
        px.bar(result.profiles, x="segment_name", y="customer_count", color="segment_name",
               color_discrete_map=colors, title="Customers per segment",
               labels=look.axis_labels("segment_name", "customer_count")),
        key="upload_sizes",
    )  # fmt: skip
    st.dataframe(look.table(result.profiles), hide_index=True, key="upload_profiles")
    # on_click="ignore": downloading does not rerun the page, so the results stay on screen
    st.download_button("Download customer_segments.csv", result.segments.to_csv(index=False),
                       file_name="customer_segments.csv", mime="text/csv", key="download",
                       on_click="ignore")  # fmt: skip


def page_upload() -> None:
    st.title("Try your own file")
    st.caption(
        "Upload transactions or a customer table (CSV, Parquet or XLSX, up to "
        f"{uploads.upload_max_bytes() / 1024 / 1024:.0f} MB). The build runs in a temporary workspace "
        "of its own, never in the main warehouse, and the workspace is removed afterwards."
    )
    upload = st.file_uploader("Your file", type=list(uploads.UPLOAD_FORMATS), key="upload")
    if upload is None:
        return
    settings = _upload_settings(upload)
    if settings is None:
        return
    if st.button("Segment", key="run_upload"):
        bar = st.progress(0.0, text="Starting dbt build")
        try:
            result = uploads.run_upload(upload.name, upload.getvalue(), progress=lambda f, t: bar.progress(f, text=t),
                                     settings=settings)  # fmt: skip
        except uploads.UploadError as exc:
            st.error(str(exc))
            return
        bar.progress(1.0, text="Done")
        _upload_results(result)


page_upload()
