"""What the dashboard's pages show, as plain functions over the serving copy (custseg.dashboard.store):
the overview, segments, k, RFM map, classifier, history and value pages. The pages only lay
these tables out; tests compare them with the marts directly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..inputs.quoting import sql_identifier
from .store import input_kind, query

# scatter plots draw at most this many customers (a deterministic sample above it)
MAX_SCATTER_POINTS = 5_000


# violin plots: at most this many customers per segment
MAX_VIOLIN_POINTS = 2_000


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


def headlines(path: Path | None = None) -> dict | None:
    """Who is leaving and what the base is worth, from the value marts (None for a customer
    table): customers at high churn risk, their share and the churn horizon, the segment holding
    most of them; the predicted CLV, its horizon and the segment holding most of it."""
    if input_kind(path) == "customers":
        return None
    totals = query(
        "select count(*) as customers, sum(case when churn_risk_band = 'high' then 1 else 0 end) as leaving, "
        "max(churn_horizon_days) as churn_horizon_days, sum(predicted_clv) as predicted_clv "
        "from marts.dim_customer_value",
        path,
    ).iloc[0]
    segments = query(
        "select segment_name, high_churn_risk_customers, predicted_clv_share from marts.fct_segment_value",
        path,
    )
    most_leaving = segments.sort_values(
        ["high_churn_risk_customers", "segment_name"], ascending=[False, True]
    )
    most_value = segments.sort_values(["predicted_clv_share", "segment_name"], ascending=[False, True])
    return {
        "customers": int(totals["customers"]),
        "leaving": int(totals["leaving"] or 0),
        "churn_horizon_days": None
        if pd.isna(totals["churn_horizon_days"])
        else int(totals["churn_horizon_days"]),
        "predicted_clv": None if pd.isna(totals["predicted_clv"]) else float(totals["predicted_clv"]),
        "most_leaving": most_leaving.iloc[0].to_dict() if len(segments) else None,
        "most_value": most_value.iloc[0].to_dict() if len(segments) else None,
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


def profiles(path: Path | None = None) -> pd.DataFrame:
    """One row per segment, the answers first (size, shares, and from transactions the predicted
    CLV share and mean churn risk of marts.fct_segment_value), then what sets it apart, its
    description and action; the id last."""
    value = "v.predicted_clv_share, v.mean_churn_risk, " if input_kind(path) == "transactions" else ""
    join = "left join marts.fct_segment_value v using (cluster_id) " if value else ""
    return query(
        "select p.segment_name, p.customer_count, p.customer_share, p.revenue_share, "
        f"{value}p.revenue, p.mean_confidence, p.distinguishing_features, p.description, p.recommended_action, "
        f"p.cluster_id from marts.fct_segment_profiles p {join}order by p.cluster_id",
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


TOP_CUSTOMERS = 25


def value(path: Path | None = None) -> dict:
    """The value marts (transactions only; None for a customer table): the active value model,
    totals (with whether the purchases identify dropout), segments, top customers, the holdout
    check and the backtest when the build had a calibration end."""
    if input_kind(path) == "customers":
        return None
    model = query("select * from marts.dim_clv_models where is_active", path)
    totals = query(
        "select count(*) as customers, sum(predicted_clv) as predicted_clv, avg(p_alive) as mean_p_alive, "
        "avg(churn_risk) as mean_churn_risk, max(churn_horizon_days) as churn_horizon_days, "
        "bool_and(dropout_identified) as dropout_identified, "
        "sum(case when churn_risk_band = 'high' then 1 else 0 end) as high_churn_risk, "
        "sum(case when too_little_history then 1 else 0 end) as too_little_history, "
        "max(repeat_purchases) as max_repeat_purchases, max(date_diff('day', first_purchase_date, as_of_date)) "
        "as max_age_days from marts.dim_customer_value",
        path,
    ).iloc[0]
    return {
        "model": model.iloc[0].to_dict() if len(model) else None,
        "totals": totals.to_dict(),
        "segments": query(
            "select segment_name, customers, predicted_clv, predicted_clv_share, mean_churn_risk, "
            "high_churn_risk_customers, historic_clv, mean_p_alive, cluster_id "
            "from marts.fct_segment_value order by predicted_clv desc",
            path,
        ),
        "top": query(
            "select customer_id, segment_name, predicted_clv, churn_risk, churn_risk_band, expected_date_of_next_order, "
            "predicted_number_of_orders, historic_clv, repeat_purchases "
            f"from marts.dim_customer_value order by predicted_clv desc nulls last, customer_id limit {TOP_CUSTOMERS}",
            path,
        ),
        "holdout_bins": query(
            "select * from marts.fct_clv_holdout_by_frequency order by calibration_frequency", path
        ),
        "holdout_curve": query("select * from marts.fct_clv_holdout_tracking order by week_end_date", path),
        "holdout_errors": query("select * from marts.fct_clv_holdout_errors", path),
        "backtest": query("select * from marts.fct_clv_backtest order by not is_chosen, clv_model", path),
        "backtest_bands": query(
            "select churn_risk_band, customers, predicted_churn_rate, actual_churn_rate "
            "from marts.fct_clv_backtest_bands where is_chosen order by case churn_risk_band when 'low' then 1 "
            "when 'medium' then 2 else 3 end",
            path,
        ),
        "backtest_segments": query("select * from marts.fct_clv_backtest_segments order by cluster_id", path),
    }


# the frequency x recency matrices: repeat purchases 0 .. MATRIX_FREQUENCIES - 1 (or the most any
# customer made, if fewer) by days since the last purchase in MATRIX_COLUMNS steps
MATRIX_FREQUENCIES = 16
MATRIX_COLUMNS = 12


def candidates(model: dict) -> pd.DataFrame:
    """Every purchase model the active version fitted, one row each: its parameters, AIC and
    (with a calibration end) holdout error, and which one the value marts use."""
    from ..value.purchase_models import MODELS, PREFIXES
    from ..value.score import model_params

    rows = []
    for name, candidate in MODELS.items():
        params = model_params(pd.Series(model), name)
        if params is None:  # not fitted in this version
            continue
        prefix = PREFIXES[name]
        rows.append({
            "model": candidate.label,
            "parameters": ", ".join(f"{p} = {v:.3g}" for p, v in zip(candidate.params, params, strict=True)),
            "aic": model.get(f"{prefix}_aic"),
            "holdout_error": model.get(f"{prefix}_holdout_error"),
            "is_chosen": name == model["clv_model"],
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    # without a calibration end there is no holdout error to show
    return frame.drop(columns="holdout_error") if frame["holdout_error"].isna().all() else frame


def frequency_recency_matrices(model: dict, totals: dict) -> dict[str, pd.DataFrame]:
    """The model's own frequency x recency matrices (as lifetimes draws them): for a customer
    whose first purchase was as long ago as the oldest customer's, by repeat purchases (rows)
    and days since his last purchase (columns), his churn risk and his expected purchases over
    the churn horizon; from the active version's chosen purchase model (custseg.value)."""
    import numpy as np

    from ..value.config import TIME_UNITS
    from ..value.purchase_models import MODELS
    from ..value.score import model_params

    chosen = MODELS[model["clv_model"]]
    params = model_params(pd.Series(model), chosen.name)
    unit = TIME_UNITS[model["time_unit"]]
    age_days = int(totals["max_age_days"])
    horizon = int(totals["churn_horizon_days"]) / unit
    frequencies = np.arange(min(MATRIX_FREQUENCIES, int(totals["max_repeat_purchases"]) + 1))
    since = np.unique(np.linspace(0, age_days, MATRIX_COLUMNS).round().astype(int))
    x, days_since = np.meshgrid(frequencies.astype(float), since.astype(float), indexing="ij")
    T = np.full_like(x, age_days / unit)
    # without a repeat purchase the last purchase is the first: days since = age
    t_x = np.where(x > 0, (age_days - days_since) / unit, 0.0)
    columns = [f"{d:,}" for d in since]
    shape = {"index": [str(f) for f in frequencies], "columns": columns}
    churn = chosen.p_no_purchase(params, horizon, x.ravel(), t_x.ravel(), T.ravel()).reshape(x.shape)
    expected = chosen.expected_purchases(params, horizon, x.ravel(), t_x.ravel(), T.ravel()).reshape(x.shape)
    return {
        "churn_risk": pd.DataFrame(churn, **shape),
        "expected_purchases": pd.DataFrame(expected, **shape),
    }
