"""The segmentation dashboard: `bash scripts/dashboard.sh` (or `.venv/bin/streamlit run dashboard/app.py`).

Reads the published serving database read-only (CUSTSEG_SERVING_PATH, default
warehouse/custseg.duckdb), so it keeps working while `dbt build` runs. The numbers come from
custseg.dashboard; this file only lays them out.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from custseg import dashboard as data
from custseg import dashboard_look as look
from custseg.scoring import ScoringError
from custseg.warehouse import WarehouseRefused

st.set_page_config(page_title="Customer segments", layout="wide")


def page_overview() -> None:
    st.title("Overview")
    head = data.overview()
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
    prof = data.profiles()
    if prof["revenue"].notna().any():
        st.subheader("Revenue share by segment")
        st.plotly_chart(
            px.pie(prof, names="segment_name", values="revenue", color="segment_name",
                   color_discrete_map=data.segment_colors(), labels=look.axis_labels("segment_name", "revenue")),
            key="revenue_share",
        )  # fmt: skip
    st.subheader("Ingestion accounting")
    st.caption("Every raw row is clean or quarantined with its reason.")
    ingestion = data.ingestion()
    st.dataframe(look.table(ingestion.assign(outcome=look.words(ingestion["outcome"]))), hide_index=True,
                 key="ingestion")  # fmt: skip


def page_segments() -> None:
    st.title("Segments")
    prof = data.profiles()
    colors = data.segment_colors()
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
    values = data.feature_values()
    features = [c for c in values.columns if c != "segment_name"]
    st.subheader("Features by segment")
    st.caption(f"Up to {data.MAX_VIOLIN_POINTS:,} customers per segment.")
    feature = st.selectbox("Feature", features, format_func=look.label, key="violin_feature")
    st.plotly_chart(
        px.violin(values, x="segment_name", y=feature, box=True, **by_segment,
                  labels=look.axis_labels("segment_name", feature)),
        key="violin",
    )  # fmt: skip
    points = data.scatter_points()
    st.subheader("Customers on the first principal components")
    st.caption(f"{len(points):,} customers shown (a fixed sample above {data.MAX_SCATTER_POINTS:,}).")
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


def page_k() -> None:
    st.title("Choosing k")
    sweep = data.k_selection()
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


def page_rfm() -> None:
    st.title("RFM map")
    if data.input_kind() == "customers":
        st.info("The RFM map needs transactions: this warehouse was built from a customer table.")
        return
    grid = data.rfm_grid()
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


def page_classifier() -> None:
    st.title("Classifier")
    tables = data.classifier()
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


def page_time() -> None:
    st.title("Over time")
    hist = data.history()
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
            color_discrete_map=data.segment_colors(extra=shares["segment_name"]),
            hover_data=["as_of_date", "model_version", "customers"],
            labels=look.axis_labels("run_id", "customer_share", "segment_name", "as_of_date", "model_version",
                                    "customers"),
        )  # fmt: skip
        for start in data.model_starts(shares).itertuples():
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
        pairs = data.migration_pairs(hist["migration"])
        pair = st.selectbox(
            "Runs", pairs, format_func=lambda p: f"run {p[0]} → run {p[1]}", key="migration_pair"
        )
        matrix = data.migration_matrix(hist["migration"], pair)
        st.plotly_chart(
            px.imshow(
                matrix, text_auto=True, aspect="auto", color_continuous_scale="Blues",
                labels={"x": f"Segment at run {pair[1]}", "y": f"Segment at run {pair[0]}", "color": "Customers"},
            ),
            key="migration",
        )  # fmt: skip
        moved = data.movement_counts(hist["migration"], pair)
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


def _explorer_filter():
    cols = st.columns(4)
    recency = cols[0].number_input("Bought within (days)", min_value=0, value=None, step=30, key="f_recency")
    orders = cols[1].number_input("At least (orders)", min_value=0, value=None, step=1, key="f_orders")
    spend = cols[2].number_input(
        f"Spent at least ({look.currency()})", min_value=0.0, value=None, key="f_spend"
    )
    bands = cols[3].multiselect("Churn risk", ["low", "medium", "high"], key="f_bands")
    return data.ExplorerFilter(recency, orders, spend, tuple(bands))


def _explorer_downloads(cluster_id: int, where, total: int) -> None:
    """The filtered list as CSV and Parquet; the files are made only when a button is pressed,
    and pressing one does not rerun the page (a second download right after is not lost)."""
    stem = f"segment_{cluster_id}_customers"
    left, right = st.columns(2)
    for column, fmt, mime in ((left, "csv", "text/csv"), (right, "parquet", "application/octet-stream")):
        column.download_button(
            f"Download the {total:,} customers ({fmt.upper() if fmt == 'csv' else 'Parquet'})",
            lambda fmt=fmt: data.segment_export(cluster_id, where, fmt),
            file_name=f"{stem}.{fmt}", mime=mime, key=f"explorer_{fmt}", on_click="ignore",
        )  # fmt: skip


def page_explorer() -> None:
    st.title("Segment explorer")
    catalogue = data.segments()
    names = dict(zip(catalogue["cluster_id"], catalogue["segment_name"], strict=True))
    cluster_id = st.selectbox("Segment", list(names), format_func=names.get, key="explorer_segment")
    chosen = catalogue[catalogue["cluster_id"] == cluster_id].iloc[0]
    st.write(chosen["description"])
    if chosen["recommended_action"]:
        st.caption(f"Recommended action: {chosen['recommended_action']}")
    st.subheader("Against the whole base")
    profile = data.segment_profile(cluster_id).assign(feature=lambda f: f["feature"].map(look.label))
    st.dataframe(look.table(profile), hide_index=True, key="explorer_profile")
    transactions = data.input_kind() == "transactions"
    st.subheader("Its customers")
    where = _explorer_filter() if transactions else data.ExplorerFilter()
    sortable = (
        ["customer_id", *data.EXPLORER_COLUMNS, "predicted_clv"]
        if transactions
        else ["customer_id", "confidence"]
    )
    left, right = st.columns(2)
    sort = left.selectbox("Sort by", sortable, format_func=look.label, key="explorer_sort")
    descending = right.toggle("Largest first", value=sort != "customer_id", key="explorer_desc")
    page = st.number_input("Page", min_value=1, value=1, step=1, key="explorer_page") - 1
    rows, total = data.segment_customers(cluster_id, where, sort, descending, page)
    pages = max(1, -(-total // data.EXPLORER_PAGE_SIZE))
    st.caption(f"{total:,} customers match; page {page + 1} of {pages:,} ({data.EXPLORER_PAGE_SIZE} a page).")
    st.dataframe(look.table(rows), hide_index=True, key="explorer_customers")
    if total:
        _explorer_downloads(cluster_id, where, total)
    if transactions:
        st.subheader("What it buys")
        left, right = st.columns(2)
        left.dataframe(
            look.table(data.segment_purchases(cluster_id, "product")), hide_index=True, key="products"
        )
        right.dataframe(
            look.table(data.segment_purchases(cluster_id, "country")), hide_index=True, key="countries"
        )
    trend = data.segment_trend(names[cluster_id])
    if len(trend) > 1:
        st.subheader("Over the runs")
        st.plotly_chart(
            px.line(trend, x="run_id", y="customer_share", markers=True,
                    color_discrete_sequence=[data.segment_colors()[names[cluster_id]]],
                    labels=look.axis_labels("run_id", "customer_share")),
            key="explorer_trend",
        )  # fmt: skip


def _value_holdout(value: dict) -> None:
    """Predicted against actual in the holdout (a build with clv_calibration_end)."""
    errors = value["holdout_errors"].iloc[0]
    st.subheader("Predicted against actual in the holdout")
    st.caption(
        f"Fitted on the purchases before {pd.Timestamp(errors['calibration_end']).date()}; "
        f"{errors['predicted_purchases']:,.0f} repeat purchases predicted for the next {errors['holdout_days']} "
        f"days, {errors['actual_purchases']:,.0f} made ({errors['relative_error']:+.1%}); per customer "
        f"MAE {errors['mean_absolute_error']:.2f}."
    )
    bins = value["holdout_bins"].melt(
        id_vars="calibration_frequency_label", value_vars=["predicted_mean_purchases", "actual_mean_purchases"],
        var_name="series", value_name="mean_purchases",
    ).replace({"series": {"predicted_mean_purchases": "Predicted", "actual_mean_purchases": "Actual"}})  # fmt: skip
    st.plotly_chart(
        px.bar(bins, x="calibration_frequency_label", y="mean_purchases", color="series", barmode="group",
               labels={"calibration_frequency_label": "Repeat purchases before the calibration end",
                       "mean_purchases": "Mean repeat purchases in the holdout", "series": ""}),
        key="holdout_bins",
    )  # fmt: skip
    curve = value["holdout_curve"].melt(
        id_vars="week_end_date",
        value_vars=["predicted_cumulative_repeat_purchases", "actual_cumulative_repeat_purchases"],
        var_name="series", value_name="repeat_purchases",
    ).replace({"series": {"predicted_cumulative_repeat_purchases": "Predicted",
                          "actual_cumulative_repeat_purchases": "Actual"}})  # fmt: skip
    figure = px.line(curve, x="week_end_date", y="repeat_purchases", color="series",
                     labels={"week_end_date": "Week", "repeat_purchases": "Cumulative repeat purchases",
                             "series": ""})  # fmt: skip
    figure.add_vline(x=pd.Timestamp(errors["calibration_end"]).timestamp() * 1000, line_dash="dash")
    st.plotly_chart(figure, key="holdout_curve")


def page_value() -> None:
    st.title("Value ahead")
    value = data.value()
    if value is None:
        st.info(
            "Value ahead (P(alive), churn risk, CLV) needs purchases over time: a customer table has none "
            "(docs/value.md)."
        )
        return
    model, totals = value["model"], value["totals"]
    if model is None or model["status"] != "fitted":
        st.warning(f"No usable value model: {model['status_message'] if model else 'none fitted yet'}")
        return
    cols = st.columns(4)
    cols[0].metric("Predicted CLV, next year", look.money(totals["predicted_clv"]))
    cols[1].metric("Mean P(alive)", f"{totals['mean_p_alive']:.0%}")
    cols[2].metric("High churn risk", f"{int(totals['high_churn_risk']):,}")
    cols[3].metric("Too little history", f"{int(totals['too_little_history']):,}")
    st.caption(
        f"BG/NBD + Gamma-Gamma, value model version {model['value_model_version']} fitted {model['fitted_at']} "
        f"on {model['customers']:,} customers (r = {model['bgnbd_r']:.3g}, alpha = {model['bgnbd_alpha']:.3g}, "
        f"a = {model['bgnbd_a']:.3g}, b = {model['bgnbd_b']:.3g}). docs/value.md says when not to trust it."
    )
    st.subheader("P(alive) by repeat purchases and days since the last purchase")
    grid = px.imshow(
        data.alive_matrix(value["grid"]), text_auto=".0%", aspect="auto", color_continuous_scale="RdYlGn",
        zmin=0, zmax=1, labels={"x": "Days since the last purchase", "y": "Repeat purchases", "color": "P(alive)"},
    )  # fmt: skip
    grid.update_xaxes(type="category")  # "0-29", "6-9": labels, not numbers
    grid.update_yaxes(type="category", autorange="reversed")
    st.plotly_chart(grid, key="alive_matrix")
    st.subheader("Where next year's revenue comes from")
    st.dataframe(look.table(value["segments"]), hide_index=True, key="segment_value")
    st.subheader(f"Top {len(value['top'])} customers by value ahead")
    st.dataframe(look.table(value["top"]), hide_index=True, key="top_customers")
    if len(value["holdout_errors"]):
        _value_holdout(value)
    else:
        st.caption("Set clv_calibration_end to check the predictions against a holdout (docs/value.md).")


def page_score() -> None:
    st.title("Score a customer")
    st.caption(
        "The active model assigns the segment; nothing is refitted. Numbers start at the base's median."
    )
    fields = data.score_fields()
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
            result = data.score_customer(values)
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


@st.cache_data(max_entries=4, show_spinner="Reading the file's columns")
def _upload_columns(name: str, content: bytes) -> tuple[data.UploadColumns | None, str]:
    """An upload's columns, or why it is refused, read once per file (the page runs again on
    every click; a refusal is remembered too, so a refused file is not read again)."""
    try:
        return data.upload_columns(name, content), ""
    except data.UploadError as exc:
        return None, str(exc)


def _upload_settings(upload) -> data.UploadSettings | None:
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
        features = st.multiselect("Columns to segment on", list(detected.numeric), default=list(detected.numeric),
                                  key="upload_features")  # fmt: skip
    cols = st.columns(3)
    algorithm = cols[0].selectbox(
        "Algorithm", ["kmeans", "gmm", "birch", "agglomerative", "hdbscan"], key="algorithm"
    )
    k_range = cols[1].slider("k between", 2, 12, (2, 10), key="k_range")
    k = cols[2].number_input("Force k (0 = choose by the rule)", min_value=0, max_value=30, value=0, key="k")
    return data.UploadSettings(kind, int(k) or None, tuple(k_range), algorithm, tuple(features))


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
        f"{data.upload_max_bytes() / 1024 / 1024:.0f} MB). The build runs in a temporary workspace "
        "of its own, never in the main warehouse, and the workspace is removed afterwards."
    )
    upload = st.file_uploader("Your file", type=list(data.UPLOAD_FORMATS), key="upload")
    if upload is None:
        return
    settings = _upload_settings(upload)
    if settings is None:
        return
    if st.button("Segment", key="run_upload"):
        bar = st.progress(0.0, text="Starting dbt build")
        try:
            result = data.run_upload(upload.name, upload.getvalue(), progress=lambda f, t: bar.progress(f, text=t),
                                     settings=settings)  # fmt: skip
        except data.UploadError as exc:
            st.error(str(exc))
            return
        bar.progress(1.0, text="Done")
        _upload_results(result)


PAGE_FUNCTIONS = {
    "Overview": page_overview,
    "Segments": page_segments,
    "Choosing k": page_k,
    "RFM map": page_rfm,
    "Classifier": page_classifier,
    "Over time": page_time,
    "Segment explorer": page_explorer,
    "Value ahead": page_value,
    "Score a customer": page_score,
    "Try your own file": page_upload,
}


def main() -> None:
    wanted = st.query_params.get("page", "Overview")
    page = st.sidebar.radio(
        "Page", data.PAGES, index=data.PAGES.index(wanted) if wanted in data.PAGES else 0, key="page"
    )
    if not data.serving_path().exists():
        st.error(
            f"No published warehouse at {data.serving_path()}: run `bash scripts/build.sh` first, or set "
            "CUSTSEG_SERVING_PATH."
        )
        return
    try:
        data.check_warehouse()
    except WarehouseRefused as exc:
        st.error(str(exc))
        return
    PAGE_FUNCTIONS[page]()


main()
