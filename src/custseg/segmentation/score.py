"""The one scoring pass of a build (model ``ml_customer_scores``): every customer, every way,
with the active version's models (the rows of ``ml_active_models``, whose SQL says which version
is active). Each artifact is loaded, its signature checked, once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SegmentationConfig
from .fit import customer_matrix, ml_threads, training_mask
from .projection import plot_coordinates
from .registry import load_artifact


def load_model(models: pd.DataFrame, kind: str = "segmentation"):
    """The model of ``kind`` among ``models`` (one version's registry rows), signature checked."""
    rows = models[models["model_kind"] == kind]
    if len(rows) != 1:
        raise ValueError(f"expected one {kind} model among the active version's rows, found {len(rows)}")
    row = rows.iloc[0]
    return load_artifact(bytes(row["artifact"]), row["artifact_signature"], kind, int(row["model_version"]))


def score_all(customers: pd.DataFrame, models: pd.DataFrame, config: SegmentationConfig) -> pd.DataFrame:
    """The segmentation model's cluster, distances and confidence, the plot-PCA coordinates, the
    classifier, the tree and the nearest centroid of every customer."""
    with ml_threads(config):
        seg_model = load_model(models)
        clf = load_model(models, "classifier")
        tree = load_model(models, "classifier_tree")
        customers, X = customer_matrix(customers, seg_model.config)
        Xs = seg_model.transform(X)
        dist = seg_model.centroid_distances(Xs)  # once, for the assignment and the nearest centroid
        out = seg_model.assign_transformed(Xs, dist)
        out.insert(0, "customer_id", customers["customer_id"].astype(str).to_numpy())
        names = np.asarray(seg_model.names, dtype=object)
        out["segment_name"] = names[out["cluster_id"].to_numpy()]
        out["scoring_rule"] = seg_model.scoring_rule
        coords = plot_coordinates(seg_model, X)
        for i in range(3):
            out[f"pc_{i + 1}"] = coords[:, i]
        nearest = dist.argmin(axis=1)
        encoded = clf.encode(customers)  # once, when the tree's encoding is the same
        by_clf = clf.predict(customers, encoded)
        same = tree.encoder == clf.encoder and tree.input_dtype == clf.input_dtype
        by_tree = tree.predict(customers, encoded if same else None)
        out["is_training_customer"] = training_mask(customers, config.training_cutoff_date)
        out["classifier_cluster_id"] = by_clf["cluster_id"].to_numpy()
        out["classifier_segment"] = by_clf["segment_name"].to_numpy()
        out["classifier_confidence"] = by_clf["confidence"].to_numpy()
        out["tree_cluster_id"] = by_tree["cluster_id"].to_numpy()
        out["centroid_cluster_id"] = nearest.astype(np.int32)
        out["centroid_segment"] = names[nearest]
        out["centroid_distance"] = dist[np.arange(len(X)), nearest]
    return out
