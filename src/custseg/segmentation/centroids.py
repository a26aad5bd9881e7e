"""Nearest-centroid scoring from a model's numeric tables, nothing unpickled.

The one Python copy of the arithmetic the SQL scorer (``macros/scoring/score_nearest_centroid``)
runs; the drift report (``lifecycle``), ``custseg score`` and the dashboard use it, and the data
test ``assert_sql_scoring_equals_python`` holds the two equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# the rule this module applies, as scoring outputs name it (segmentation.clustering.SCORING_RULES)
NEAREST_CENTROID = "nearest_centroid"


def centre_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row to every centre, n x k (one centre at a time keeps memory
    at n x k). The one copy of the distance: the fitted models, this scorer and the drift use it."""
    dist = np.empty((len(X), len(centres)))
    for j, centre in enumerate(centres):
        dist[:, j] = np.sqrt(((X - centre) ** 2).sum(axis=1))
    return dist


# the softmax temperature of a model fitted before confidences were calibrated (its artifact and
# reports carry none): one squared standard deviation of the scaled features
DEFAULT_TEMPERATURE = 1.0


def membership(dist: np.ndarray, temperature: float) -> np.ndarray:
    """n x k membership probabilities from the distances to every centroid (softmax over
    -d^2 / temperature, computed from the nearest so it never overflows)."""
    squared = np.asarray(dist, dtype=float) ** 2
    logits = -(squared - squared.min(axis=1, keepdims=True)) / temperature
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def assigned_probability(dist: np.ndarray, cluster: np.ndarray, temperature: float) -> np.ndarray:
    """Each row's membership probability of the cluster it is assigned (``cluster``: column
    positions of ``dist``)."""
    return membership(dist, temperature)[np.arange(len(dist)), np.asarray(cluster)]


class CentroidModel:
    """Nearest-centroid assignment from the model's numeric tables (preprocessing, centroids,
    PCA loadings; the published marts or the registry's reports): per feature signed log, clip,
    standardise; with a PCA model, the projection on its components; Euclidean distance to every
    centroid (ties: lower cluster id); confidence = the membership probability of the nearest
    cluster (custseg.segmentation.confidence, with the model's fitted temperature). The same
    steps as the SQL scorer (macro score_nearest_centroid)."""

    def __init__(
        self, preprocessing: pd.DataFrame, centroids: pd.DataFrame, loadings: pd.DataFrame | None = None
    ):
        pre = preprocessing.sort_values("feature_order")
        self.features = tuple(pre["feature"])
        self.log = pre["log_transformed"].to_numpy(dtype=bool)
        self.lower = pre["clip_lower"].to_numpy(dtype=float)
        self.upper = pre["clip_upper"].to_numpy(dtype=float)
        self.mean = pre["scaler_mean"].to_numpy(dtype=float)
        self.scale = pre["scaler_scale"].to_numpy(dtype=float)
        self.pca_mean, self.components = None, None
        dimensions = list(self.features)
        if loadings is not None and len(loadings):
            order = {f: i for i, f in enumerate(self.features)}
            n = int(loadings["component"].max())
            self.components = np.zeros((n, len(self.features)))
            self.pca_mean = np.zeros(len(self.features))
            for row in loadings.itertuples():
                self.components[int(row.component) - 1, order[row.feature]] = row.loading
                self.pca_mean[order[row.feature]] = row.pca_mean
            dimensions = [f"pc_{j + 1}" for j in range(n)]
        wide = centroids.pivot(index="cluster_id", columns="dimension", values="centroid_scaled")
        missing = [d for d in dimensions if d not in wide.columns]
        if missing:
            raise ValueError(
                f"the centroid table has no dimension {missing}: the model was fitted with PCA, and its "
                "loadings (marts.dim_segmentation_pca_loadings) are missing"
            )
        wide = wide.sort_index()
        self.cluster_ids = wide.index.to_numpy(dtype=np.int32)
        self.centroids = wide[dimensions].to_numpy(dtype=float)
        temperature = centroids.get("confidence_temperature")
        fitted = temperature is not None and temperature.notna().any()
        self.temperature = float(temperature.dropna().iloc[0]) if fitted else DEFAULT_TEMPERATURE
        names = centroids.drop_duplicates("cluster_id").set_index("cluster_id")["segment_name"]
        self.names = names.reindex(range(int(self.cluster_ids.max()) + 1)).tolist()

    def scaled(self, X: np.ndarray) -> np.ndarray:
        """Each feature as the model sees it before any PCA: signed log where the model logs,
        clip, standardise (units: training standard deviations)."""
        X = np.array(X, dtype=float, copy=True)
        X[:, self.log] = np.sign(X[:, self.log]) * np.log1p(np.abs(X[:, self.log]))
        return (np.clip(X, self.lower, self.upper) - self.mean) / self.scale

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Features in model space: :meth:`scaled`, then the PCA projection of a PCA model."""
        scaled = self.scaled(X)
        if self.components is None:
            return scaled
        return (scaled - self.pca_mean) @ self.components.T

    def assign(self, X: np.ndarray) -> pd.DataFrame:
        Xs = self.transform(X)
        dist = centre_distances(Xs, self.centroids)
        order = np.argsort(dist, axis=1, kind="stable")
        own = dist[np.arange(len(X)), order[:, 0]]
        confidence = assigned_probability(dist, order[:, 0], self.temperature)
        return pd.DataFrame(
            {
                "cluster_id": self.cluster_ids[order[:, 0]],
                "confidence": confidence,
                "distance_to_centroid": own,
            }
        )
