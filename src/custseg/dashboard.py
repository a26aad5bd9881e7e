"""What the Streamlit dashboard (dashboard/app.py) shows, as plain functions over the published
serving database: every query opens the file read-only and closes it again, so a `dbt build`
that publishes a new copy meanwhile is never blocked and the next query sees the new one.

The app only lays these tables out; tests compare them with the marts directly.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import dashboard_look as look
from .inputs.quoting import sql_identifier
from .segmentation.centroids import centre_distances
from .upload_probe import UploadColumns, UploadError
from .upload_probe import upload_columns as probe_upload_columns
from .warehouse import open_warehouse
from .workspace import progress_of, run_build, workspace_env

# scatter plots draw at most this many customers (a deterministic sample above it)
MAX_SCATTER_POINTS = 5_000
# violin plots: at most this many customers per segment
MAX_VIOLIN_POINTS = 2_000
UPLOAD_FORMATS = ("csv", "tsv", "txt", "parquet", "pq", "xlsx")
# uploads larger than this are refused (MB; CUSTSEG_UPLOAD_MAX_MB overrides)
DEFAULT_UPLOAD_MAX_MB = 200
DEFAULT_UPLOAD_BUILD_SECONDS = 900
PAGES = (
    "Overview",
    "Segments",
    "Choosing k",
    "RFM map",
    "Classifier",
    "Over time",
    "Segment explorer",
    "Value ahead",
    "Score a customer",
    "Try your own file",
)


def serving_path() -> Path:
    """The published database: CUSTSEG_SERVING_PATH, else warehouse/custseg.duckdb."""
    return Path(os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))


def query(sql: str, path: Path | None = None, params: list | None = None) -> pd.DataFrame:
    """One read-only query on the serving copy (the connection is closed right after); values
    from a person (filters) arrive as bound parameters, never in the SQL text."""
    con = open_warehouse(path or serving_path())
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def check_warehouse(path: Path | None = None) -> None:
    """Raise WarehouseRefused (with the reason) when the serving copy is not safe to read: a
    file built elsewhere whose views read files, or that defines macros (custseg.warehouse)."""
    open_warehouse(path or serving_path()).close()


def input_kind(path: Path | None = None) -> str:
    """'transactions' or 'customers' (a customer table: its segments have no RFM segment)."""
    rfm = query("select count(rfm_segment) as n from marts.dim_customer_segments", path).iloc[0]["n"]
    return "transactions" if rfm else "customers"


def segment_colors(path: Path | None = None, extra=()) -> dict[str, str]:
    """One colour per segment name, in the order of the active segments' cluster ids, then any
    other name shown (older versions' segments, sorted): the same colour on every chart."""
    names = query("select segment_name from marts.dim_segments order by cluster_id", path)[
        "segment_name"
    ].tolist()
    return look.segment_colors(names + sorted(set(extra) - set(names)))


# -- Overview ------------------------------------------------------------------------------


def overview(path: Path | None = None) -> dict:
    """Customers, segments, revenue, as-of date and the model in use."""
    head = query(
        "select count(*) as customers, count(distinct cluster_id) as segments, max(as_of_date) as as_of_date "
        "from marts.dim_customer_segments",
        path,
    ).iloc[0]
    model = query(
        "select model_id, algorithm, n_clusters, model_version, trained_at from marts.dim_segmentation_models "
        "where is_active and model_kind = 'segmentation'",
        path,
    )
    revenue = query("select sum(revenue) as revenue from marts.fct_segment_profiles", path).iloc[0]["revenue"]
    return {
        "customers": int(head["customers"]),
        "segments": int(head["segments"]),
        "as_of_date": None if pd.isna(head["as_of_date"]) else str(pd.Timestamp(head["as_of_date"]).date()),
        "revenue": None if pd.isna(revenue) else float(revenue),
        "model": model.iloc[0].to_dict() if len(model) else None,
    }


def ingestion(path: Path | None = None) -> pd.DataFrame:
    """Raw rows by outcome (clean, then each quarantine reason) with their share."""
    if input_kind(path) == "customers":
        return query(
            "with outcomes as ("
            " select 'clean' as outcome, count(*) as row_count from marts.dim_customer_attributes"
            " union all select quarantine_reason, count(*) from marts.fct_customer_table_quarantine"
            " group by quarantine_reason)"
            " select outcome, row_count, row_count / sum(row_count) over () as row_share from outcomes"
            " order by outcome <> 'clean', row_count desc, outcome",
            path,
        )
    return query(
        "select outcome, row_count, row_share from marts.fct_ingestion_summary "
        "where row_count > 0 order by priority",
        path,
    )


# -- Segments ------------------------------------------------------------------------------


def profiles(path: Path | None = None) -> pd.DataFrame:
    return query(
        "select cluster_id, segment_name, description, recommended_action, customer_count, customer_share, "
        "revenue, revenue_share, mean_confidence, distinguishing_features "
        "from marts.fct_segment_profiles order by cluster_id",
        path,
    )


def feature_columns(path: Path | None = None) -> list[str]:
    """The features plotted per segment: the active model's features."""
    pre = query("select feature from marts.dim_segmentation_preprocessing order by feature_order", path)
    return pre["feature"].tolist()


def feature_values(path: Path | None = None, per_segment: int = MAX_VIOLIN_POINTS) -> pd.DataFrame:
    """The model features of up to ``per_segment`` customers per segment (the first by id),
    with their segment, for violin plots."""
    features = feature_columns(path)
    source = "marts.dim_customer_attributes" if input_kind(path) == "customers" else "marts.dim_customers"
    cols = ", ".join(f"c.{sql_identifier(f)}" for f in features)
    return query(
        f"select s.segment_name, {cols} from marts.dim_customer_segments s "
        f"join {source} c using (customer_id) "
        "qualify row_number() over (partition by s.cluster_id order by s.customer_id) <= "
        f"{int(per_segment)} order by s.cluster_id, s.customer_id",
        path,
    )


def scatter_points(path: Path | None = None, limit: int = MAX_SCATTER_POINTS) -> pd.DataFrame:
    """PCA coordinates coloured by segment: every customer up to ``limit``, else a
    deterministic sample of ``limit`` (by a hash of the customer id)."""
    return query(
        "select customer_id, segment_name, pc_1, pc_2, pc_3 from marts.fct_segmentation_pca_coordinates "
        f"order by hash(customer_id), customer_id limit {int(limit)}",
        path,
    )


# -- Choosing k, RFM map, classifier --------------------------------------------------------


def k_selection(path: Path | None = None) -> pd.DataFrame:
    return query(
        "select k, inertia, silhouette, davies_bouldin, calinski_harabasz, is_elbow, is_chosen, "
        "selection_reason from marts.fct_segmentation_k_selection order by k",
        path,
    )


def rfm_grid(path: Path | None = None) -> pd.DataFrame:
    """Customers and value per RFM segment and (recency score, frequency-monetary score) cell."""
    return query(
        "select rfm_segment, recency_score, fm_score, count(*) as customers, sum(monetary_value) as revenue "
        "from marts.dim_customers group by all order by recency_score, fm_score",
        path,
    )


def classifier(path: Path | None = None) -> dict[str, pd.DataFrame]:
    return {
        "metrics": query("select metric, value from marts.fct_classifier_metrics", path),
        "report": query("select * from marts.fct_classifier_report order by cluster_id", path),
        "confusion": query("select * from marts.fct_classifier_confusion_matrix", path),
        "importances": query(
            "select feature, importance, method from marts.fct_classifier_feature_importances "
            "order by importance_rank limit 20",
            path,
        ),
        "rules": query(
            "select rule_id, conditions, segment_name, training_samples, purity "
            "from marts.dim_classifier_tree_rules order by rule_id",
            path,
        ),
    }


# -- Over time -----------------------------------------------------------------------------


def history(path: Path | None = None) -> dict[str, pd.DataFrame]:
    return {
        "shares": query("select * from marts.fct_segment_shares order by run_id, segment_name", path),
        "migration": query(
            "select * from marts.fct_segment_migration order by to_run_id, customers desc", path
        ),
        "drift": query(
            "select run_id, as_of_date, measure, subject, value, status, run_status, decision "
            "from marts.fct_segmentation_drift order by run_id, measure, subject",
            path,
        ),
    }


def model_starts(shares: pd.DataFrame) -> pd.DataFrame:
    """The runs where a model version took over (the first run, each refit, a pin): run_id,
    as_of_date and model_version, for the markers on the shares chart."""
    runs = shares.drop_duplicates("run_id").sort_values("run_id")[["run_id", "as_of_date", "model_version"]]
    return runs[runs["model_version"].ne(runs["model_version"].shift())].reset_index(drop=True)


def migration_pairs(migration: pd.DataFrame) -> list[tuple[int, int]]:
    """The (from_run_id, to_run_id) pairs of the migration table, latest first."""
    pairs = (
        migration[["from_run_id", "to_run_id"]].drop_duplicates().sort_values("to_run_id", ascending=False)
    )
    return [(int(a), int(b)) for a, b in pairs.itertuples(index=False)]


def _pair_rows(migration: pd.DataFrame, pair: tuple[int, int]) -> pd.DataFrame:
    return migration[(migration["from_run_id"] == pair[0]) & (migration["to_run_id"] == pair[1])]


def migration_matrix(migration: pd.DataFrame, pair: tuple[int, int]) -> pd.DataFrame:
    """Customers from each segment (rows, the earlier run) to each segment (columns, the later
    run) for one run pair; 0 where nobody moved so."""
    return _pair_rows(migration, pair).pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum", fill_value=0
    )


def movement_counts(migration: pd.DataFrame, pair: tuple[int, int]) -> dict[str, int]:
    """Customers who stayed, were relabelled (their segment continued under another name) or
    moved, for one run pair; pairs recorded before the movement column count by name."""
    rows = _pair_rows(migration, pair)
    by_name = rows["is_same_segment"].map({True: "stayed", False: "moved"})
    kind = rows["movement"].fillna(by_name) if "movement" in rows else by_name
    counts = rows.groupby(kind)["customers"].sum()
    return {k: int(counts.get(k, 0)) for k in ("stayed", "relabelled", "moved")}


# -- Segment explorer ----------------------------------------------------------------------

EXPLORER_PAGE_SIZE = 50
# the customer columns the explorer lists, filters and sorts by (transactions; a customer table
# lists its customers' segment columns)
EXPLORER_COLUMNS = ("recency_days", "order_count", "monetary_value")
EXPLORER_VALUE_COLUMNS = ("p_alive", "churn_risk_band", "predicted_clv")


@dataclass(frozen=True)
class ExplorerFilter:
    """What a person narrows a segment's customers to; None = no bound."""

    max_recency_days: int | None = None
    min_orders: int | None = None
    min_spend: float | None = None
    churn_risk_bands: tuple[str, ...] = ()


def segments(path: Path | None = None) -> pd.DataFrame:
    return query("select cluster_id, segment_name, description, recommended_action from marts.dim_segments "
                 "order by cluster_id", path)  # fmt: skip


def segment_profile(cluster_id: int, path: Path | None = None) -> pd.DataFrame:
    """The segment against the whole base, feature by feature."""
    return query(
        "select feature, segment_mean, overall_mean, segment_median, overall_median, standardised_difference "
        "from marts.fct_segment_feature_profiles where cluster_id = ? order by feature_order",
        path,
        [int(cluster_id)],
    )


def _explorer_sql(path: Path | None, cluster_id: int, where: ExplorerFilter) -> tuple[str, list, list[str]]:
    """(the FROM ... WHERE part, its parameters, the columns listed) of a segment's customers."""
    if input_kind(path) == "customers":
        columns = ["customer_id", "confidence", "distance_to_centroid"]
        return "from marts.dim_customer_segments s where s.cluster_id = ?", [int(cluster_id)], columns
    columns = ["customer_id", *EXPLORER_COLUMNS, *EXPLORER_VALUE_COLUMNS, "confidence"]
    sql = (
        "from marts.dim_customer_segments s left join marts.dim_customer_value v using (customer_id) "
        "where s.cluster_id = ?"
    )
    params: list = [int(cluster_id)]
    for clause, value in (
        ("s.recency_days <= ?", where.max_recency_days),
        ("s.order_count >= ?", where.min_orders),
        ("s.monetary_value >= ?", where.min_spend),
    ):
        if value is not None:
            sql += f" and {clause}"
            params.append(value)
    if where.churn_risk_bands:
        sql += f" and v.churn_risk_band in ({', '.join('?' for _ in where.churn_risk_bands)})"
        params += list(where.churn_risk_bands)
    return sql, params, columns


def segment_customers(
    cluster_id: int,
    where: ExplorerFilter = ExplorerFilter(),
    sort: str = "customer_id",
    descending: bool = False,
    page: int = 0,
    path: Path | None = None,
    page_size: int | None = EXPLORER_PAGE_SIZE,
) -> tuple[pd.DataFrame, int]:
    """One page of a segment's customers, filtered and sorted in SQL on the serving copy, and how
    many match. ``page_size`` None: every match (the download)."""
    body, params, columns = _explorer_sql(path, cluster_id, where)
    if sort not in columns:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {columns}")
    order = f"{sql_identifier(sort)} {'desc' if descending else 'asc'} nulls last, customer_id"
    listed = ", ".join(sql_identifier(c) for c in columns)
    limit = "" if page_size is None else f" limit {int(page_size)} offset {int(page) * int(page_size)}"
    rows = query(f"select {listed} {body} order by {order}{limit}", path, params)
    total = int(query(f"select count(*) as n {body}", path, params).iloc[0]["n"])
    return rows, total


def segment_export(cluster_id: int, where: ExplorerFilter, fmt: str, path: Path | None = None) -> bytes:
    """Every customer of the segment that matches, for a campaign tool: CSV or Parquet bytes,
    sorted by customer id."""
    rows, _ = segment_customers(cluster_id, where, "customer_id", path=path, page_size=None)
    if fmt == "csv":
        return rows.to_csv(index=False).encode()
    if fmt == "parquet":
        return rows.to_parquet(index=False)
    raise ValueError(f"export format must be csv or parquet, got {fmt!r}")


def segment_purchases(cluster_id: int, by: str, path: Path | None = None, limit: int = 10) -> pd.DataFrame:
    """What a segment buys: its top products (by='product') or countries (by='country') by
    revenue, from the clean transaction lines (transactions only)."""
    key = {"product": "t.stock_code, max(t.description) as description", "country": "t.country"}[by]
    group = {"product": "t.stock_code", "country": "t.country"}[by]
    return query(
        f"select {key}, count(distinct t.customer_id) as customers, sum(t.line_amount) as revenue "
        "from marts.fct_transactions t join marts.dim_customer_segments s using (customer_id) "
        f"where s.cluster_id = ? group by {group} order by revenue desc, {group} limit {int(limit)}",
        path,
        [int(cluster_id)],
    )


def segment_trend(segment_name: str, path: Path | None = None) -> pd.DataFrame:
    """The segment's size and share at every run (by its name)."""
    return query(
        "select run_id, as_of_date, customers, customer_share, revenue from marts.fct_segment_shares "
        "where segment_name = ? order by run_id",
        path,
        [segment_name],
    )


# -- Value ahead ---------------------------------------------------------------------------

# the heat map's bins: repeat purchases (rows) and days since the last purchase (columns, 30-day)
FREQUENCY_BINS = (
    "case when repeat_purchases >= 10 then 10 when repeat_purchases >= 6 then 6 else repeat_purchases end"
)
FREQUENCY_LABELS = {6: "6-9", 10: "10+"}
TOP_CUSTOMERS = 25


def value(path: Path | None = None) -> dict:
    """The value marts (transactions only; None for a customer table): the active value model,
    totals, P(alive) by repeat purchases x days since the last purchase, segments, top customers,
    and the holdout check when the build had a calibration end."""
    if input_kind(path) == "customers":
        return None
    model = query("select * from marts.dim_clv_models where is_active", path)
    totals = query(
        "select count(*) as customers, sum(predicted_clv) as predicted_clv, avg(p_alive) as mean_p_alive, "
        "sum(case when churn_risk_band = 'high' then 1 else 0 end) as high_churn_risk, "
        "sum(case when too_little_history then 1 else 0 end) as too_little_history "
        "from marts.dim_customer_value",
        path,
    ).iloc[0]
    grid = query(
        f"select {FREQUENCY_BINS} as frequency_bin, least(floor(date_diff('day', last_purchase_date, as_of_date) "
        "/ 30), 12) * 30 as days_since_last_bin, avg(p_alive) as mean_p_alive, count(*) as customers "
        "from marts.dim_customer_value group by all order by all",
        path,
    )
    return {
        "model": model.iloc[0].to_dict() if len(model) else None,
        "totals": totals.to_dict(),
        "grid": grid,
        "segments": query("select * from marts.fct_segment_value order by predicted_clv desc", path),
        "top": query(
            "select customer_id, segment_name, repeat_purchases, historic_clv, p_alive, churn_risk_band, "
            "predicted_number_of_orders, predicted_clv, expected_date_of_next_order "
            f"from marts.dim_customer_value order by predicted_clv desc nulls last, customer_id limit {TOP_CUSTOMERS}",
            path,
        ),
        "holdout_bins": query(
            "select * from marts.fct_clv_holdout_by_frequency order by calibration_frequency", path
        ),
        "holdout_curve": query("select * from marts.fct_clv_holdout_tracking order by week_end_date", path),
        "holdout_errors": query("select * from marts.fct_clv_holdout_errors", path),
    }


def alive_matrix(grid: pd.DataFrame) -> pd.DataFrame:
    """Mean P(alive) with repeat purchases as rows (0 .. 5, 6-9, 10+) and days since the last
    purchase as columns (30-day bins, the last 360+); empty cells where no customer falls."""
    table = grid.pivot_table(index="frequency_bin", columns="days_since_last_bin", values="mean_p_alive")
    table.index = [FREQUENCY_LABELS.get(int(i), str(int(i))) for i in table.index]
    table.columns = [f"{int(c)}+" if c == 360 else f"{int(c)}-{int(c) + 29}" for c in table.columns]
    return table


# -- Score a customer ----------------------------------------------------------------------


NOT_ENCODED = "(another value)"


@dataclass(frozen=True)
class ScoreField:
    """One input of the score form: a number (a model feature, its default the base's median) or
    a choice (a categorical column whose levels the model one-hot encodes as "<column>=<level>")."""

    name: str
    kind: str  # number or choice
    default: float = 0.0
    levels: tuple[str, ...] = ()
    min_value: float | None = None  # 0 for days, counts and gross amounts


def score_fields(path: Path | None = None) -> list[ScoreField]:
    """The inputs the active model uses, categorical ones grouped into one choice each."""
    from .scoring import centroid_model

    model = centroid_model(str(path or serving_path()))
    medians = query(
        "select feature, max(overall_median) as median from marts.fct_segment_feature_profiles group by feature",
        path,
    )
    median = dict(zip(medians["feature"], medians["median"], strict=True))
    fields: list[ScoreField] = []
    choices: dict[str, list[str]] = {}
    for feature in model.features:
        column, equals, level = feature.partition("=")
        if equals:
            if column not in choices:
                choices[column] = []
                fields.append(ScoreField(column, "choice"))
            choices[column].append(level)
        else:
            value = median.get(feature)
            fields.append(
                ScoreField(feature, "number", 0.0 if value is None or pd.isna(value) else float(value))
            )
    # a column's levels the model does not encode (it keeps the top ones): all its columns 0
    from .segmentation.config import NON_NEGATIVE_FEATURES

    return [
        ScoreField(
            f.name,
            f.kind,
            f.default,
            (*choices[f.name], NOT_ENCODED) if f.kind == "choice" else (),
            0.0 if f.name in NON_NEGATIVE_FEATURES else None,
        )
        for f in fields
    ]


def score_customer(values: dict, path: Path | None = None) -> dict:
    """The active model's segment for one customer (no refit): cluster, name, confidence, the
    segment's action, and why: the distance to every segment's centre (the nearest wins;
    confidence = 1 - own distance / next distance). ``values`` maps each number field to a
    number and each choice field to one of its levels; a value the CLI refuses (not a finite
    number, or negative where no customer can be) raises the CLI's ScoringError."""
    from .scoring import centroid_model, check_numeric

    model = centroid_model(str(path or serving_path()))
    numbers = [f for f in model.features if "=" not in f]
    checked = check_numeric(pd.DataFrame([{f: values.get(f) for f in numbers}]), numbers).iloc[0]
    row = []
    for feature in model.features:
        column, equals, level = feature.partition("=")
        row.append(float(values.get(column) == level) if equals else float(checked[feature]))
    X = np.array([row], dtype=float)
    assigned = model.assign(X).iloc[0]
    cluster = int(assigned["cluster_id"])
    distances = centre_distances(model.transform(X), model.centroids)[0]
    actions = profiles(path).set_index("cluster_id")
    return {
        "cluster_id": cluster,
        "segment_name": model.names[cluster],
        "confidence": float(assigned["confidence"]),
        "recommended_action": actions.loc[cluster, "recommended_action"] if cluster in actions.index else None,
        "distances": pd.DataFrame({
            "segment_name": [model.names[int(c)] for c in model.cluster_ids], "distance": distances,
        }).sort_values("distance", kind="stable", ignore_index=True),
    }  # fmt: skip


# -- Try your own file -----------------------------------------------------------------------


@dataclass
class UploadResult:
    segments: pd.DataFrame  # customer_segments.csv
    profiles: pd.DataFrame
    log: str
    k_selection: pd.DataFrame | None = None  # the k sweep (empty for an algorithm that finds k)
    kind: str = "transactions"


@dataclass(frozen=True)
class UploadSettings:
    """What a person chooses for an upload: the input kind ("auto": detected from the header),
    k (None: chosen by the build's rule within k_min..k_max), the algorithm, and for a customer
    table the columns to segment on."""

    kind: str = "auto"
    n_clusters: int | None = None
    k_range: tuple[int, int] | None = None
    algorithm: str | None = None
    features: tuple[str, ...] = ()


def safe_upload_name(name: str) -> str:
    """The upload's own file name (messages name it as the user knows it), every character but
    letters, digits and ``._-`` as ``_``."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name) or "upload.csv"


def upload_columns(name: str, data: bytes) -> UploadColumns:
    """Read the upload's header (and its numeric columns' kinds and constant flags) to propose
    settings, in a child process with bounded time and memory (custseg.upload_probe): a file no
    build would take (too wide, unreadable) is refused with the build's message, and a crash or
    a runaway read ends the child, never the server. XLSX files are read by the build only: they
    are taken for transactions."""
    from .project import project_var

    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return UploadColumns("transactions", None, ())
    with tempfile.TemporaryDirectory(prefix="custseg-columns-") as folder:
        path = Path(folder) / safe_upload_name(name)
        path.write_bytes(data)
        return probe_upload_columns(path, int(project_var("customer_table_max_columns")))


def upload_max_bytes() -> int:
    return int(float(os.environ.get("CUSTSEG_UPLOAD_MAX_MB", DEFAULT_UPLOAD_MAX_MB)) * 1024 * 1024)


def check_upload(name: str, size: int) -> str:
    """The upload's format (by extension), or an UploadError saying what is accepted."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_FORMATS:
        raise UploadError(
            f"'{name}' is not a supported file: upload CSV (.csv, .tsv, .txt), Parquet (.parquet) or Excel (.xlsx)."
        )
    limit = upload_max_bytes()
    if size > limit:
        raise UploadError(
            f"'{name}' is {size / 1024 / 1024:.1f} MB; the dashboard takes files up to {limit / 1024 / 1024:.0f} MB "
            "(CUSTSEG_UPLOAD_MAX_MB). Run larger files with scripts/build.sh."
        )
    return suffix


def _upload_vars(upload: Path, name: str, data: bytes, settings: UploadSettings) -> tuple[dict, str]:
    """The build's vars for an upload, and its kind."""
    detected = upload_columns(name, data) if settings.kind == "auto" else None
    kind = detected.kind if detected else settings.kind
    if kind not in ("transactions", "customers"):
        raise UploadError(f"the input kind must be transactions, customers or auto, got {settings.kind!r}")
    if kind == "customers":
        # detected and no columns chosen: the ones the page proposes (numeric, not the id, not constant)
        features = settings.features or (detected.numeric if detected else ())
        if not features:
            raise UploadError(
                "a customer table needs the columns to segment on: pick at least one numeric column"
            )
        build_vars = {"customers_path": str(upload), "segmentation_features": list(features)}
    else:
        build_vars = {"transactions_path": str(upload)}
    if settings.n_clusters:
        build_vars["n_clusters"] = int(settings.n_clusters)
    if settings.k_range:
        build_vars["k_min"], build_vars["k_max"] = (int(k) for k in settings.k_range)
    if settings.algorithm:
        build_vars["segmentation_algorithm"] = settings.algorithm
    return build_vars, kind


def run_upload(
    name: str,
    data: bytes,
    n_clusters: int | None = None,
    progress=None,
    settings: UploadSettings | None = None,
) -> UploadResult:
    """Segment an uploaded file (transactions or a customer table) in a temporary workspace of
    its own (its own warehouse, target and logs; never the main warehouse), and remove the
    workspace afterwards. ``progress(fraction, text)`` is called as dbt reports nodes. Raises
    UploadError with the build's own message when the file is refused."""
    import json

    check_upload(name, len(data))
    settings = settings or UploadSettings(n_clusters=n_clusters)
    from .project import project_dir

    repo = project_dir()
    workspace = Path(tempfile.mkdtemp(prefix="custseg-upload-"))
    try:
        # the file keeps its own (sanitised) name, so messages name it as the user knows it
        upload = workspace / safe_upload_name(name)
        upload.write_bytes(data)
        env = workspace_env(workspace, CUSTSEG_MODEL_KEY_PATH=workspace / "model-signing.key")
        build_vars, kind = _upload_vars(upload, name, data, settings)
        # a bounded build: past the limit the child is killed, and the page says so
        limit = float(os.environ.get("CUSTSEG_UPLOAD_BUILD_SECONDS", DEFAULT_UPLOAD_BUILD_SECONDS))

        def on_event(event: dict) -> None:
            done = progress_of(event)
            if progress is not None and done is not None:
                progress(done[0], done[1][-90:])

        result = run_build(["build", "--vars", json.dumps(build_vars)], env, repo, on_event, timeout=limit)
        if result.returncode == -signal.SIGKILL:
            raise UploadError(
                f"The build of {name} took longer than {limit:.0f} s (CUSTSEG_UPLOAD_BUILD_SECONDS) and was stopped. "
                "Run larger files with scripts/build.sh."
            )
        if result.returncode != 0:
            raise UploadError(result.problem or "The build failed: " + result.log.strip()[-600:])
        serving = Path(env["CUSTSEG_SERVING_PATH"])
        segments = query(
            "select customer_id, cluster_id, segment_name, segment_description, recommended_action, confidence, "
            "recency_days, order_count, monetary_value from marts.dim_customer_segments order by customer_id",
            serving,
        )
        return UploadResult(segments, profiles(serving), result.log, k_selection(serving), kind)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
