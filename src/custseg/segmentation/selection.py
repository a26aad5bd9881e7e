"""k selection: a sweep of k with inertia, silhouette, Davies-Bouldin and Calinski-Harabasz,
an elbow detector, and the documented rule that picks k.

Rule (docs/segmentation.md): find the elbow of the inertia curve (kneedle on log inertia: the k
farthest below the chord from the first to the last point; the log scale measures each step's
relative gain, so one huge first drop does not hide a later, sharper knee). The candidates are the elbow and its two
neighbours; the candidate with the highest silhouette wins (ties: the smaller k). With no clear
elbow (the curve is nearly straight), every k is a candidate. ``n_clusters`` overrides the rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from .clustering import fit_estimator, within_cluster_sum_of_squares
from .config import SegmentationConfig
from .readiness import too_few_customers
from .sampling import sample_rows

ELBOW_MIN_GAIN = 0.05


def silhouette_rows(n: int, config: SegmentationConfig) -> np.ndarray:
    """The rows the silhouette is measured on: all up to ``silhouette_exact_max``, else a
    deterministic sample of ``silhouette_sample_size`` (the same rows for every k)."""
    if n <= config.silhouette_exact_max:
        return np.arange(n)
    return sample_rows(n, config.silhouette_sample_size, config.random_state)


def silhouette(X: np.ndarray, labels: np.ndarray, config: SegmentationConfig) -> tuple[float, int]:
    """Exact silhouette up to ``silhouette_exact_max`` rows, else on a deterministic sample."""
    return silhouettes(X, [labels], config)[0]


def silhouettes(
    X: np.ndarray, labelings: list[np.ndarray], config: SegmentationConfig
) -> list[tuple[float, int]]:
    """(silhouette, rows measured) of each labeling of the same rows (the k sweep's), on the rows
    of ``silhouette_rows``: nan where a labeling has fewer than two groups there."""
    idx = silhouette_rows(len(X), config)
    groups = [np.unique(labels[idx], return_inverse=True)[1] for labels in labelings]
    measured = [g for g in groups if g.max(initial=0) >= 1]
    scores = iter(mean_silhouettes(X[idx], measured) if measured else [])
    return [(next(scores) if g.max(initial=0) >= 1 else float("nan"), len(idx)) for g in groups]


def mean_silhouettes(X: np.ndarray, groups: list[np.ndarray]) -> list[float]:
    """The mean silhouette of each grouping of the rows of X (codes 0..g-1, each used), as
    scikit-learn's ``silhouette_score`` defines it (a group of one scores 0), from one pass over
    the pairwise distances: it computes them again for each grouping, nine times in a k sweep.
    The distances are computed in blocks of scikit-learn's ``working_memory`` (fit.ml_threads
    keeps it small: fresh memory is slow to touch on the build VMs), each block multiplied
    by every grouping's membership matrix at once."""
    n = len(X)
    sizes = [np.bincount(g) for g in groups]
    if any(len(size) >= n for size in sizes):
        raise ValueError(f"a silhouette needs 2 to {n - 1} groups of the {n} rows")
    starts = np.cumsum([0] + [len(size) for size in sizes])
    members = np.zeros((n, starts[-1]))
    for g, start in zip(groups, starts[:-1], strict=True):
        members[np.arange(n), start + g] = 1.0
    X = np.asarray(X, dtype=float)
    squared = np.einsum("ij,ij->i", X, X)
    sums = np.empty((n, starts[-1]))  # row i, group c: the sum of i's distances to c's rows
    step = max(1, int(sklearn.get_config()["working_memory"] * 2**20 // (8 * n)))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        block = X[lo:hi] @ X.T
        block *= -2
        block += squared[lo:hi, None]
        block += squared[None, :]
        np.maximum(block, 0, out=block)
        block[np.arange(hi - lo), np.arange(lo, hi)] = 0
        np.sqrt(block, out=block)
        sums[lo:hi] = block @ members
    rows = np.arange(n)
    scores = []
    for g, size, start, end in zip(groups, sizes, starts[:-1], starts[1:], strict=True):
        mean = sums[:, start:end] / size
        own = sums[rows, start + g]
        with np.errstate(divide="ignore", invalid="ignore"):
            a = own / (size[g] - 1)  # nan for a group of one: its silhouette is 0
            mean[rows, g] = np.inf
            b = mean.min(axis=1)
            values = (b - a) / np.maximum(a, b)
        scores.append(float(np.nan_to_num(values).mean()))
    return scores


def detect_elbow(ks: list[int], inertias: list[float], min_gain: float = ELBOW_MIN_GAIN) -> int | None:
    """Kneedle for a decreasing convex curve, on log inertia: the k whose normalised point lies
    farthest below the chord joining the first and last points. None when that distance is
    below ``min_gain`` (no clear elbow) or there are fewer than three points."""
    if len(ks) < 3:
        return None
    x = np.asarray(ks, dtype=float)
    y = np.log(np.maximum(np.asarray(inertias, dtype=float), 1e-300))
    xn = (x - x[0]) / (x[-1] - x[0])
    span = y.max() - y.min()
    if span <= 0:
        return None
    yn = (y - y.min()) / span
    gap = (1 - xn) - yn  # chord from (0, 1) to (1, 0) minus the curve
    best = int(np.argmax(gap))
    if gap[best] < min_gain or best in (0, len(ks) - 1):
        return None
    return int(ks[best])


def choose_k(sweep: pd.DataFrame, elbow: int | None, forced: int | None = None) -> tuple[int, str]:
    """Apply the rule to a sweep table; returns (k, human-readable reason)."""
    if forced is not None:
        return int(forced), f"forced by var n_clusters={forced}"
    ks = sweep["k"].tolist()
    if elbow is None:
        candidates = ks
        why = "no clear elbow in the inertia curve, so the best silhouette over the whole range"
    else:
        candidates = [k for k in (elbow - 1, elbow, elbow + 1) if k in ks]
        why = f"elbow at k={elbow}; best silhouette among k in {candidates}"
    table = sweep.set_index("k").loc[candidates]
    best = table["silhouette"].max()
    chosen = int(min(k for k in candidates if table.loc[k, "silhouette"] >= best - 1e-12))
    return chosen, f"{why} (silhouette {best:.4f})"


def density_sweep(Xs: np.ndarray, config: SegmentationConfig) -> tuple[pd.DataFrame, int, str]:
    """HDBSCAN chooses its own k: the sweep table has its one row, with the same quality measures
    (the noise group counted as a group). Fitted on the rows the final fit uses, so both agree."""
    estimator = fit_estimator(Xs, 0, config)
    labels = estimator.predict(Xs)
    k = int(estimator.n_clusters)
    noise = int((labels == estimator.found_).sum())
    reason = f"hdbscan (min_cluster_size={estimator.min_cluster_size_}) found {estimator.found_} clusters" + (
        f" and a noise group of {noise} customers" if noise else " and no noise"
    )
    valid = len(np.unique(labels)) >= 2
    sil, sil_n = silhouette(Xs, labels, config) if valid else (float("nan"), 0)
    sweep = pd.DataFrame(
        [
            {
                "k": k,
                "clusters_found": len(np.unique(labels)),
                "inertia": within_cluster_sum_of_squares(Xs, labels),
                "silhouette": sil,
                "davies_bouldin": float(davies_bouldin_score(Xs, labels)) if valid else float("nan"),
                "calinski_harabasz": float(calinski_harabasz_score(Xs, labels)) if valid else float("nan"),
                "silhouette_sample_size": sil_n,
                "fit_rows": int(estimator.fit_rows_),
                "is_elbow": False,
                "is_chosen": True,
                "selection_reason": reason,
                "algorithm": config.algorithm,
            }
        ]
    )
    if k < 2:
        raise ValueError(
            f"hdbscan found a single group ({reason}); lower min_cluster_size or use another algorithm"
        )
    return sweep, k, reason


def k_sweep(Xs: np.ndarray, config: SegmentationConfig) -> tuple[pd.DataFrame, int, str]:
    """Fit every k of the range and measure it. Returns the sweep table, the chosen k and why.

    Above ``sweep_sample_size`` rows the sweep runs on a deterministic sample of that size (the
    sweep only ranks k; the final model is fitted separately and applied to every customer).
    """
    n = len(Xs)
    k_values = config.k_values
    problem = too_few_customers(n, config)
    if problem:
        raise ValueError(problem)
    if config.algorithm == "hdbscan":
        return density_sweep(Xs, config)
    idx = sample_rows(n, config.sweep_sample_size, config.random_state)
    X = Xs[idx]
    # the sweep only ranks k, so it restarts fewer times (sweep_n_init); the final fit uses n_init
    sweep_config = config.replaced(n_init=min(config.n_init, config.sweep_n_init))
    labelings = [fit_estimator(X, k, sweep_config).predict(X) for k in k_values]
    rows = []
    for k, labels, (sil, sil_n) in zip(k_values, labelings, silhouettes(X, labelings, config), strict=True):
        n_found = len(np.unique(labels))
        valid = n_found >= 2
        rows.append(
            {
                "k": k,
                "clusters_found": n_found,
                "inertia": within_cluster_sum_of_squares(X, labels),
                "silhouette": sil,
                "davies_bouldin": float(davies_bouldin_score(X, labels)) if valid else float("nan"),
                "calinski_harabasz": float(calinski_harabasz_score(X, labels)) if valid else float("nan"),
                "silhouette_sample_size": sil_n,
                "fit_rows": len(X),
            }
        )
    sweep = pd.DataFrame(rows)
    # k values where the algorithm could not form k clusters (Birch, GMM) are not candidates
    usable = sweep[sweep["clusters_found"] == sweep["k"]]
    if usable.empty and config.n_clusters is None:
        raise ValueError(
            f"{config.algorithm} formed fewer clusters than asked for every k in {k_values}; "
            "use segmentation_algorithm: kmeans or a smaller k range"
        )
    elbow = detect_elbow(usable["k"].tolist(), usable["inertia"].tolist())
    chosen, reason = choose_k(usable if config.n_clusters is None else sweep, elbow, config.n_clusters)
    sweep["is_elbow"] = sweep["k"] == (elbow if elbow is not None else -1)
    sweep["is_chosen"] = sweep["k"] == chosen
    sweep["selection_reason"] = np.where(sweep["is_chosen"], reason, None)
    sweep["algorithm"] = config.algorithm
    return sweep, chosen, reason
