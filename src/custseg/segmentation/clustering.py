"""Fitting a clustering and applying it: the SegmentationModel that the registry stores."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import Birch, KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline

from .centroids import DEFAULT_TEMPERATURE, NEAREST_CENTROID, assigned_probability, centre_distances
from .config import SegmentationConfig
from .sampling import sample_rows

# Ward's agglomerative clustering keeps an n x n distance structure: it is fitted on at most this
# many rows (a deterministic sample; ~1.4 s per k at 5,000 rows and 9 features)
WARD_MAX_ROWS = 5_000


# each algorithm's own assignment rule; only "nearest_centroid" is what the pure-SQL scorer computes
SCORING_RULES = {
    "kmeans": NEAREST_CENTROID,
    "agglomerative": NEAREST_CENTROID,
    "gmm": "gmm_posterior",
    "birch": "birch_subcluster",
    "hdbscan": "hdbscan_reach",
}


class WardClustering:
    """Agglomerative clustering with Ward linkage (scikit-learn) on a deterministic sample of at
    most :data:`WARD_MAX_ROWS` rows; every row, those of the sample included, is then assigned to
    the nearest centroid of Ward's clusters (ties: the lower label), so the pure-SQL scorer gives
    the same clusters."""

    def __init__(self, n_clusters: int, random_state: int = 42):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> WardClustering:
        from sklearn.cluster import AgglomerativeClustering

        idx = sample_rows(len(X), WARD_MAX_ROWS, self.random_state)
        labels = AgglomerativeClustering(n_clusters=self.n_clusters, linkage="ward").fit_predict(X[idx])
        self.cluster_centers_ = np.vstack([X[idx][labels == j].mean(axis=0) for j in range(self.n_clusters)])
        self.fit_rows_ = len(idx)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return centre_distances(X, self.cluster_centers_).argmin(axis=1)


# HDBSCAN is fitted on at most this many rows (a deterministic sample)
HDBSCAN_MAX_ROWS = 20_000


class DensityClustering:
    """HDBSCAN (scikit-learn) on a deterministic sample of at most :data:`HDBSCAN_MAX_ROWS` rows:
    it finds its own number of clusters and leaves the rest as noise. Each found cluster keeps its
    centre and its reach (the largest distance of a member to the centre); a row is assigned to the
    nearest centre when it lies within that centre's reach, else to the noise group, whose label
    is the last one (``n_clusters - 1``; present only when the fit left noise)."""

    def __init__(self, min_cluster_size: int = 0, random_state: int = 42):
        self.min_cluster_size = min_cluster_size
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> DensityClustering:
        from sklearn.cluster import HDBSCAN

        idx = sample_rows(len(X), HDBSCAN_MAX_ROWS, self.random_state)
        size = self.min_cluster_size or max(10, len(idx) // 100)
        labels = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(X[idx])
        found = int(labels.max()) + 1
        if found < 1:
            raise ValueError(
                f"HDBSCAN found no cluster (min_cluster_size={size}): every customer is noise; lower "
                "min_cluster_size or use segmentation_algorithm: kmeans"
            )
        sample = X[idx]
        centres = np.vstack([sample[labels == j].mean(axis=0) for j in range(found)])
        self.reach_ = np.array(
            [np.sqrt(((sample[labels == j] - centres[j]) ** 2).sum(axis=1)).max() for j in range(found)]
        )
        self.found_ = found
        self.min_cluster_size_ = size
        self.fit_rows_ = len(idx)
        self.cluster_centers_ = centres
        noise = self.predict(X) == found
        self.has_noise_ = bool(noise.any())
        if self.has_noise_:  # the noise group's centre: the mean of its rows, for profiles
            self.cluster_centers_ = np.vstack([centres, X[noise].mean(axis=0)])
        self.n_clusters = found + int(self.has_noise_)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        found = self.found_
        dist = centre_distances(X, self.cluster_centers_[:found])  # not the noise group's centre
        nearest = dist.argmin(axis=1)
        within = dist[np.arange(len(X)), nearest] <= self.reach_[nearest]
        return np.where(within, nearest, found)


def fit_estimator(X: np.ndarray, k: int, config: SegmentationConfig):
    """An unfitted-then-fitted estimator with ``predict`` for the configured algorithm."""
    if config.algorithm == "kmeans":
        if len(X) > config.minibatch_threshold:
            est = MiniBatchKMeans(
                n_clusters=k, random_state=config.random_state, n_init=config.n_init, batch_size=8192
            )
        else:
            est = KMeans(n_clusters=k, random_state=config.random_state, n_init=config.n_init)
    elif config.algorithm == "gmm":
        est = GaussianMixture(
            n_components=k,
            covariance_type="full",
            random_state=config.random_state,
            n_init=min(config.n_init, 3),
        )
    elif config.algorithm == "birch":
        est = Birch(n_clusters=k, threshold=0.3)
    elif config.algorithm == "agglomerative":
        est = WardClustering(n_clusters=k, random_state=config.random_state)
    elif config.algorithm == "hdbscan":  # finds its own k (the sweep's single row)
        est = DensityClustering(min_cluster_size=config.min_cluster_size, random_state=config.random_state)
    else:  # validated in SegmentationConfig
        raise ValueError(config.algorithm)
    return est.fit(X)


def within_cluster_sum_of_squares(X: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for label in np.unique(labels):
        members = X[labels == label]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


def _model_centroids(estimator, X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    if hasattr(estimator, "cluster_centers_"):
        return np.asarray(estimator.cluster_centers_, dtype=float)
    if hasattr(estimator, "means_"):
        return np.asarray(estimator.means_, dtype=float)
    dims = X.shape[1]
    return np.vstack(
        [X[labels == j].mean(axis=0) if (labels == j).any() else np.full(dims, np.nan) for j in range(k)]
    )


@dataclass
class SegmentationModel:
    """Preprocessing + clustering, with clusters renumbered 0..k-1 from best to worst customers.

    ``centroids`` (model space, row = cluster_id) are what SQL scoring uses: for KMeans the
    assignment is exactly the nearest centroid.
    """

    config: SegmentationConfig
    preprocessor: Pipeline
    estimator: object
    k: int
    label_to_cluster: np.ndarray
    centroids: np.ndarray
    names: list[str] = field(default_factory=list)
    cluster_scores: pd.DataFrame | None = None
    # the cluster id of the noise group (hdbscan: customers within no cluster's reach), or None
    noise_cluster: int | None = None
    # the 3-D PCA of the scaled features for plots: (fitted PCA, sign per component)
    plot_pca: tuple | None = None
    # the softmax temperature of the confidence, fitted on resampled refits (confidence.py)
    confidence_temperature: float = DEFAULT_TEMPERATURE

    @property
    def algorithm(self) -> str:
        return self.config.algorithm

    @property
    def scoring_rule(self) -> str:
        """How this model assigns a customer (its own rule, as :meth:`assign` applies it)."""
        return SCORING_RULES[self.algorithm]

    @property
    def features(self) -> tuple[str, ...]:
        return self.config.features

    def transform(self, X_raw: np.ndarray) -> np.ndarray:
        return self.preprocessor.transform(X_raw)

    def assign(self, X_raw: np.ndarray) -> pd.DataFrame:
        """cluster_id, distances to own and next centroid, confidence for every row."""
        Xs = self.transform(X_raw)
        return self.assign_transformed(Xs, self.centroid_distances(Xs))

    def assign_transformed(self, Xs: np.ndarray, dist: np.ndarray) -> pd.DataFrame:
        """:meth:`assign` for rows already transformed, with their :meth:`centroid_distances`
        (a caller that needs both computes them once)."""
        cluster = self.label_to_cluster[self.estimator.predict(Xs)]
        own = dist[np.arange(len(Xs)), cluster]
        others = dist.copy()
        others[np.arange(len(Xs)), cluster] = np.inf
        nxt = others.min(axis=1) if self.k > 1 else np.full(len(Xs), np.nan)
        if self.algorithm == "gmm":
            confidence = self.estimator.predict_proba(Xs).max(axis=1)
        else:  # the membership probability of the assigned cluster (confidence.py)
            confidence = assigned_probability(dist, cluster, self.confidence_temperature)
        return pd.DataFrame(
            {
                "cluster_id": cluster.astype(np.int32),
                "distance_to_centroid": own,
                "distance_to_next_centroid": nxt,
                "confidence": confidence,
            }
        )

    def centroid_distances(self, Xs: np.ndarray) -> np.ndarray:
        """Euclidean distance of every (transformed) row to every centroid, n x k."""
        return centre_distances(Xs, self.centroids)

    def original_centroids(self) -> np.ndarray:
        """Centroids mapped back to feature units (undo PCA, scaling and log; clipping is lossy)."""
        Z = self.centroids
        steps = self.preprocessor.named_steps
        if "pca" in steps:
            Z = steps["pca"].inverse_transform(Z)
        Z = steps["scale"].inverse_transform(Z)
        return steps["log"].inverse_transform(Z)


def fit_model(X_raw: np.ndarray, k: int, config: SegmentationConfig, fitted=None):
    """Fit preprocessing and clustering on the feature matrix.

    Returns the model (clusters still in estimator order; the caller renumbers them with
    :func:`renumber` once their business scores are known), the transformed matrix and labels.
    KMeans fits on every row (MiniBatchKMeans above ``minibatch_threshold``); GMM and Birch fit
    on a deterministic sample of ``fit_sample_size`` rows, agglomerative (Ward) on at most
    :data:`WARD_MAX_ROWS`, and then assign every row.
    ``fitted``: the preprocessor already fitted on ``X_raw`` and its output, ``(pre, Xs)`` (the
    k sweep fitted it; fitting again would give the same numbers for twice the work).
    """
    from .preprocessing import build_preprocessor

    if fitted is None:
        pre = build_preprocessor(config)
        Xs = pre.fit_transform(X_raw)
    else:
        pre, Xs = fitted
    idx = (
        sample_rows(len(Xs), config.fit_sample_size, config.random_state)
        if config.algorithm not in ("kmeans", "hdbscan")  # hdbscan samples itself
        else None
    )
    fit_X = Xs if idx is None else Xs[idx]
    estimator = fit_estimator(fit_X, k, config)
    k = int(getattr(estimator, "n_clusters", k))  # hdbscan found its own
    labels = estimator.predict(Xs)
    centroids = _model_centroids(estimator, Xs, labels, k)
    identity = np.arange(k)
    return SegmentationModel(config, pre, estimator, k, identity, centroids), Xs, labels


def renumber(model: SegmentationModel, order: np.ndarray) -> None:
    """Renumber clusters so that estimator label ``order[i]`` becomes cluster_id ``i``."""
    label_to_cluster = np.empty(model.k, dtype=np.int64)
    label_to_cluster[np.asarray(order)] = np.arange(model.k)
    model.label_to_cluster = label_to_cluster
    model.centroids = model.centroids[np.asarray(order)]
