"""Segments over time: model versions, the refit decision, drift and cluster matching.

The registry (model ``ml_model_registry``) is append-only. Each build whose customers changed
adds one ``run`` row (its decision, the active model version and the drift report) and, when it
fits, one row per fitted model of a new version. Nothing here unpickles: drift is measured from
the reference model's report tables (training profile, preprocessing, centroids) with the
nearest-centroid arithmetic of the SQL scorer (for KMeans exactly its assignment).

Drift measures (thresholds: var ``drift_thresholds``, ``[warn, refit recommended]``):

* ``feature_psi``: population stability index of each model feature, current customers against
  the training customers, over the training deciles: sum((c - t) * ln(c / t)), shares floored
  at 1e-4. The usual reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
* ``tail_shift``: per feature, the larger move of its 5th and 95th percentiles, in the model's
  units (signed log, clipped, standardised: training standard deviations). A subgroup that
  moves shows in a tail long before it moves the deciles' shares.
* ``outlier_share``: the share of customers farther from their centroid than 95% of the
  training customers were (0.05 at training); ``segment_outlier_share`` the same per segment
  (against the segment's own 95th percentile; segments of 100 customers or more), which says
  where a shift is.
* ``segment_share_psi``: the same index over the segments' customer shares.
* ``distance_ratio``: mean distance of the customers to their centroid, now / at training.
* ``silhouette_drop``: the training silhouette minus the silhouette of the current customers
  (on a deterministic sample of ``silhouette_sample_size``).

Models fitted with PCA are measured the same way: their report tables carry the PCA loadings
(versions fitted before the loadings were reported measure ``feature_psi`` only; versions
fitted before the tails were reported, report ``training_tails``, measure no tail or outlier
share).

Time-since features (``CALENDAR_FEATURES``: recency, tenure) move with the calendar: a quiet
month moves every customer's recency, and the segments exist to show that slide (customers
drift toward At Risk). Their feature measures warn, never recommend a refit by themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ml_lifecycle import LifecycleConfig
from .centroids import CentroidModel
from .config import SegmentationConfig

PSI_FLOOR = 1e-4
STATUSES = ("ok", "warn", "refit_recommended")
CALENDAR_FEATURES = ("recency_days", "tenure_days")
TAIL_QUANTILES = (0.05, 0.95)
OUTLIER_QUANTILE = 0.95
MIN_SEGMENT_CUSTOMERS = 100


# -- the training profile, stored with every fitted segmentation model ---------------------------


def training_profile(X: np.ndarray, features: tuple[str, ...]) -> pd.DataFrame:
    """Per feature, its training deciles as bins (lower, upper] and the training share in each."""
    rows = []
    for j, feature in enumerate(features):
        edges = _edges(X[:, j])
        shares = _shares(X[:, j], edges)
        for b, share in enumerate(shares):
            rows.append(
                {
                    "feature": feature,
                    "bin": b,
                    "lower": float(edges[b]) if b > 0 else -np.inf,
                    "upper": float(edges[b + 1]) if b + 1 < len(edges) - 1 else np.inf,
                    "training_share": float(share),
                }
            )
    out = pd.DataFrame(rows)
    out["bin"] = out["bin"].astype(np.int32)
    return out


def _edges(values: np.ndarray) -> np.ndarray:
    """Decile cut points (unique), with -inf and inf at the ends."""
    inner = np.unique(np.quantile(values[np.isfinite(values)], np.linspace(0.1, 0.9, 9)))
    return np.concatenate([[-np.inf], inner, [np.inf]])


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin (lower, upper] of ``edges``."""
    index = np.searchsorted(edges[1:-1], values, side="left")
    return np.bincount(index, minlength=len(edges) - 1) / max(len(values), 1)


def training_tails(X: np.ndarray, model: CentroidModel) -> pd.DataFrame:
    """What the tail measures compare with, from the training customers ``X`` (raw features) and
    the model's numeric tables: each feature's 5th and 95th percentiles in model units
    (kind 'feature'), and the 95th percentile of the distance to the nearest centroid, over
    all customers (subject 'all') and per cluster (subject: its id) (kind 'distance')."""
    scaled = model.scaled(X)
    rows = [
        ("feature", feature, q, float(np.quantile(scaled[:, j], q)))
        for j, feature in enumerate(model.features)
        for q in TAIL_QUANTILES
    ]
    assigned = model.assign(X)
    distance = assigned["distance_to_centroid"].to_numpy()
    rows.append(("distance", "all", OUTLIER_QUANTILE, float(np.quantile(distance, OUTLIER_QUANTILE))))
    for cluster in np.unique(assigned["cluster_id"]):
        own = distance[assigned["cluster_id"].to_numpy() == cluster]
        rows.append(
            ("distance", str(int(cluster)), OUTLIER_QUANTILE, float(np.quantile(own, OUTLIER_QUANTILE)))
        )
    return pd.DataFrame(rows, columns=["kind", "subject", "quantile", "value"])


def psi(current: np.ndarray, reference: np.ndarray) -> float:
    """Population stability index of two share vectors (shares floored at 1e-4)."""
    c = np.maximum(np.asarray(current, dtype=float), PSI_FLOOR)
    r = np.maximum(np.asarray(reference, dtype=float), PSI_FLOOR)
    return float(((c - r) * np.log(c / r)).sum())


# -- drift -------------------------------------------------------------------------------------


def status_of(value: float, warn: float, refit: float, calendar: bool = False) -> str:
    """ok / warn / refit_recommended by the thresholds; a calendar feature's at most warn."""
    if value is None or not np.isfinite(value):
        return "ok"
    if value >= refit and not calendar:
        return "refit_recommended"
    return "warn" if value >= warn else "ok"


def worst(statuses) -> str:
    ranked = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranked)] if ranked else "ok"


def measure_drift(
    X: np.ndarray,
    reports: dict[str, pd.DataFrame],
    metrics: dict,
    config: SegmentationConfig,
    lifecycle: LifecycleConfig,
) -> pd.DataFrame:
    """The drift of the customers ``X`` (model features, raw) against a fitted model's training
    data: one row per measure and subject (the feature for feature_psi, else 'segments' or
    'customers'), with its thresholds and status."""
    from .selection import silhouette

    thresholds = lifecycle.thresholds
    rows = []

    def add(measure, subject, value, reference=None, current=None):
        warn, refit = thresholds[measure]
        calendar = measure in ("feature_psi", "tail_shift") and subject in CALENDAR_FEATURES
        rows.append(
            {
                "measure": measure,
                "subject": subject,
                "value": float(value),
                "reference_value": None if reference is None else float(reference),
                "current_value": None if current is None else float(current),
                "warn_threshold": warn,
                "refit_threshold": refit,
                "status": status_of(value, warn, refit, calendar),
            }
        )

    profile = reports["training_profile"]
    for j, feature in enumerate(config.features):
        bins = profile[profile["feature"] == feature].sort_values("bin")
        edges = np.concatenate([[-np.inf], bins["upper"].to_numpy()[:-1], [np.inf]])
        add("feature_psi", feature, psi(_shares(X[:, j], edges), bins["training_share"].to_numpy()))

    if config.pca_components == 0 or "pca_loadings" in reports:
        model = CentroidModel(reports["preprocessing"], reports["centroids"], reports.get("pca_loadings"))
        assigned = model.assign(X)
        cluster = assigned["cluster_id"].to_numpy()
        if "training_tails" in reports:
            for measure, subject, value, reference, current in tail_measures(
                X, model, assigned, reports["training_tails"], reports["cluster_names"]
            ):
                add(measure, subject, value, reference, current)
        sizes = reports["cluster_names"].sort_values("cluster_id")["size"].to_numpy(dtype=float)
        current = np.bincount(cluster, minlength=len(sizes)) / len(cluster)
        add("segment_share_psi", "segments", psi(current, sizes / sizes.sum()))
        reference_distance = metrics.get("mean_distance_to_centroid")
        distance = float(assigned["distance_to_centroid"].mean())
        if reference_distance:
            add("distance_ratio", "customers", distance / reference_distance, reference_distance, distance)
        reference_silhouette = metrics.get("silhouette")
        if reference_silhouette is not None and len(np.unique(cluster)) > 1:
            current_silhouette, _ = silhouette(model.transform(X), cluster, config)
            add(
                "silhouette_drop",
                "customers",
                reference_silhouette - current_silhouette,
                reference_silhouette,
                current_silhouette,
            )
    return pd.DataFrame(rows)


def tail_measures(X, model: CentroidModel, assigned: pd.DataFrame, tails: pd.DataFrame, names: pd.DataFrame):
    """(measure, subject, value, reference, current) of tail_shift per feature, outlier_share
    and segment_outlier_share per segment of at least MIN_SEGMENT_CUSTOMERS customers."""
    scaled = model.scaled(X)
    feature = tails[tails["kind"] == "feature"]
    for j, name in enumerate(model.features):
        rows = feature[feature["subject"] == name]
        now = np.quantile(scaled[:, j], rows["quantile"].to_numpy()) if len(rows) else []
        moves = [(abs(float(c) - t), t, float(c)) for t, c in zip(rows["value"], now, strict=True)]
        if moves:
            yield ("tail_shift", name, *max(moves))
    distance = assigned["distance_to_centroid"].to_numpy()
    limits = tails[tails["kind"] == "distance"].set_index("subject")["value"]
    share = float((distance > limits["all"]).mean())
    yield "outlier_share", "customers", share, 1 - OUTLIER_QUANTILE, share
    cluster = assigned["cluster_id"].to_numpy()
    segment = names.set_index("cluster_id")["segment_name"]
    for cid in np.unique(cluster):
        mine = cluster == cid
        if mine.sum() >= MIN_SEGMENT_CUSTOMERS and str(int(cid)) in limits.index:
            share = float((distance[mine] > limits[str(int(cid))]).mean())
            yield "segment_outlier_share", str(segment.get(int(cid), cid)), share, 1 - OUTLIER_QUANTILE, share


def overall_status(drift: pd.DataFrame) -> str:
    return worst(drift["status"]) if len(drift) else "ok"


# -- the decision --------------------------------------------------------------------------------


def decide(
    lifecycle: LifecycleConfig,
    has_model: bool,
    status: str | None,
    changed: bool,
    settings_changed: bool = False,
) -> str:
    """``fit`` or ``score`` for this build. ``status``: the drift of the customers against the
    active model; ``changed``: the customers differ from the last run's; ``settings_changed``:
    the segmentation vars differ from the active model's (auto refits then)."""
    if lifecycle.pinned_version is not None:
        return "score"
    if lifecycle.mode == "refit":
        return "fit"
    if not has_model:
        if lifecycle.mode == "score":
            raise ValueError(
                "segmentation_mode is score, but no model has been fitted yet: run the first build with "
                "segmentation_mode: auto (the default) or refit"
            )
        return "fit"
    if lifecycle.mode == "score":
        return "score"
    if settings_changed:
        return "fit"
    if lifecycle.refit_policy == "never":
        return "score"
    if lifecycle.refit_policy == "always":
        return "fit" if changed else "score"
    return "fit" if status == "refit_recommended" else "score"


# -- matching a refit's clusters to the previous version's ---------------------------------------

# a new cluster continues a previous one when at least half of the customers in either are in
# both (Jaccard overlap of their training customers)
MATCH_MIN_OVERLAP = 0.5


def match_by_overlap(new_labels: np.ndarray, previous_ids: np.ndarray, k_new: int) -> pd.DataFrame:
    """For each new label 0..k_new-1, the previous cluster it continues: the one-to-one
    assignment (Hungarian) that maximises the total Jaccard overlap of the two clusters'
    customers (``previous_ids``: the previous model's cluster of each of the same customers).
    Columns: label, previous_cluster_id (-1 when none), overlap, matched (overlap at least
    MATCH_MIN_OVERLAP)."""
    from scipy.optimize import linear_sum_assignment

    previous = np.unique(previous_ids)
    column = np.searchsorted(previous, previous_ids)
    both = np.zeros((k_new, len(previous)))
    np.add.at(both, (np.asarray(new_labels), column), 1)
    union = both.sum(axis=1, keepdims=True) + both.sum(axis=0, keepdims=True) - both
    overlap = np.divide(both, union, out=np.zeros_like(both), where=union > 0)
    rows, cols = linear_sum_assignment(-overlap)
    out = pd.DataFrame({"label": np.arange(k_new), "previous_cluster_id": -1, "overlap": 0.0})
    out.loc[rows, "previous_cluster_id"] = previous[cols].astype(np.int64)
    out.loc[rows, "overlap"] = overlap[rows, cols]
    out["matched"] = out["overlap"] >= MATCH_MIN_OVERLAP
    return out
