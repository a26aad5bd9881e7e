"""What each dbt Python model of the segmentation calls: table in, table out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.decomposition import PCA

from .clustering import SegmentationModel, fit_model, renumber
from .config import SegmentationConfig
from .naming import RFM, assign_names, cluster_scores
from .preprocessing import feature_matrix, pca_variance_table, preprocessing_table
from .registry import fingerprint, load_artifact, registry_row
from .selection import k_sweep, sample_rows, silhouette


def to_pandas(relation) -> pd.DataFrame:
    """A DuckDB relation (or Arrow object) as pandas, moved through Arrow."""
    if hasattr(relation, "to_arrow_table"):
        table = relation.to_arrow_table()
    elif hasattr(relation, "fetch_arrow_table"):
        table = relation.fetch_arrow_table()
    else:
        table = relation
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    return table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)


def _customers(customers: pd.DataFrame, config: SegmentationConfig):
    if customers.empty:
        raise ValueError(
            "dim_customers is empty: no customer has a clean purchase, so there is nothing to segment"
        )
    customers = customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return customers, feature_matrix(customers, config)


def k_selection(customers: pd.DataFrame, config: SegmentationConfig) -> pd.DataFrame:
    customers, X = _customers(customers, config)
    from .preprocessing import build_preprocessor

    Xs = build_preprocessor(config).fit_transform(X)
    sweep, _, _ = k_sweep(Xs, config)
    return sweep


def chosen_k(sweep: pd.DataFrame) -> int:
    return int(sweep.loc[sweep["is_chosen"], "k"].iloc[0])


def train(
    customers: pd.DataFrame, sweep: pd.DataFrame, names: pd.DataFrame, config: SegmentationConfig
) -> pa.Table:
    """Fit the final model with the chosen k, name the clusters, return its registry row."""
    customers, X = _customers(customers, config)
    k = chosen_k(sweep)
    if len(customers) <= k:
        raise ValueError(f"Too few customers ({len(customers)}) for k={k}: lower n_clusters / k_max.")
    model, Xs, labels = fit_model(X, k, config)
    if len(np.unique(labels)) < k:
        raise ValueError(
            f"{config.algorithm} formed only {len(np.unique(labels))} clusters for k={k}; "
            "lower n_clusters or use segmentation_algorithm: kmeans"
        )
    scores = cluster_scores(customers, labels, k)
    order = np.lexsort((scores["cluster_id"].to_numpy(), -scores["combined_score"].to_numpy()))
    renumber(model, order)
    cluster = model.label_to_cluster[labels]
    scores = cluster_scores(customers, cluster, k)
    model.names = assign_names(scores, names)
    model.cluster_scores = scores.assign(segment_name=model.names)
    sil, sil_n = silhouette(Xs, cluster, config)
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    idx = sample_rows(len(Xs), config.fit_sample_size, config.random_state)
    metrics = {
        "silhouette": sil,
        "silhouette_sample_size": sil_n,
        "davies_bouldin": float(davies_bouldin_score(Xs[idx], cluster[idx])),
        "calinski_harabasz": float(calinski_harabasz_score(Xs[idx], cluster[idx])),
        "inertia": float(((Xs - model.centroids[cluster]) ** 2).sum()),
        "selection_reason": sweep.loc[sweep["is_chosen"], "selection_reason"].iloc[0],
    }
    return registry_row(
        model_kind="segmentation",
        obj=model,
        algorithm=config.algorithm,
        n_clusters=k,
        features=list(config.features),
        params=config.as_dict(),
        metrics=metrics,
        training_rows=len(customers),
        training_fingerprint=fingerprint(customers["customer_id"].to_numpy(), X),
    )


def load_model(registry: pd.DataFrame, kind: str = "segmentation") -> SegmentationModel:
    rows = registry[registry["model_kind"] == kind]
    if len(rows) != 1:
        raise ValueError(f"expected one {kind} model in the registry, found {len(rows)}")
    row = rows.iloc[0]
    return load_artifact(bytes(row["artifact"]), row["artifact_sha256"])


def assignments(model: SegmentationModel, customers: pd.DataFrame) -> pd.DataFrame:
    customers, X = _customers(customers, model.config)
    out = model.assign(X)
    out.insert(0, "customer_id", customers["customer_id"].astype(str).to_numpy())
    out["segment_name"] = np.asarray(model.names, dtype=object)[out["cluster_id"].to_numpy()]
    return out


def cluster_names(model: SegmentationModel) -> pd.DataFrame:
    scores = model.cluster_scores.copy()
    scores["cluster_id"] = scores["cluster_id"].astype(np.int32)
    scores["size"] = scores["size"].astype(np.int64)
    return scores


def centroids(model: SegmentationModel) -> pd.DataFrame:
    """Long table: one row per cluster and model dimension (scaled), plus original units."""
    rows = []
    steps = model.preprocessor.named_steps
    dims = (
        [f"pc_{i + 1}" for i in range(model.centroids.shape[1])] if "pca" in steps else list(model.features)
    )
    original = model.original_centroids()
    for j in range(model.k):
        for d, dim in enumerate(dims):
            rows.append(
                {
                    "cluster_id": j,
                    "segment_name": model.names[j],
                    "dimension": dim,
                    "dimension_order": d,
                    "centroid_scaled": float(model.centroids[j, d]),
                }
            )
    scaled = pd.DataFrame(rows)
    orig = pd.DataFrame(
        [
            {"cluster_id": j, "dimension": f, "centroid_original": float(original[j, i])}
            for j in range(model.k)
            for i, f in enumerate(model.features)
        ]
    )
    out = scaled.merge(orig, on=["cluster_id", "dimension"], how="left")
    out["cluster_id"] = out["cluster_id"].astype(np.int32)
    out["dimension_order"] = out["dimension_order"].astype(np.int32)
    return out


def preprocessing(model: SegmentationModel) -> pd.DataFrame:
    return preprocessing_table(model.preprocessor, model.config)


def pca_projection(model: SegmentationModel, customers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """3-D PCA of the scaled features for plots, and the explained-variance table (plot PCA,
    plus the clustering PCA when segmentation_pca_components > 0)."""
    customers, X = _customers(customers, model.config)
    steps = model.preprocessor.named_steps
    scaled = steps["scale"].transform(steps["clip"].transform(steps["log"].transform(X)))
    n_comp = min(3, scaled.shape[1])
    pca = PCA(n_components=n_comp, random_state=model.config.random_state)
    pca.fit(scaled[sample_rows(len(scaled), model.config.fit_sample_size, model.config.random_state)])
    coords = pca.transform(scaled)
    # a fixed sign per component (largest loading positive) keeps plots stable across fits
    signs = np.sign(pca.components_[np.arange(n_comp), np.abs(pca.components_).argmax(axis=1)])
    coords = coords * signs
    frame = pd.DataFrame({"customer_id": customers["customer_id"].astype(str).to_numpy()})
    for i in range(3):
        frame[f"pc_{i + 1}"] = coords[:, i] if i < n_comp else np.nan
    variance = [pca_variance_table(pca, "plot")]
    if "pca" in steps:
        variance.insert(0, pca_variance_table(steps["pca"], "clustering"))
    return frame, pd.concat(variance, ignore_index=True)


__all__ = [
    "RFM",
    "assignments",
    "centroids",
    "chosen_k",
    "cluster_names",
    "k_selection",
    "load_model",
    "pca_projection",
    "preprocessing",
    "to_pandas",
    "train",
]
