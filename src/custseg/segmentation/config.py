"""Settings of the segmentation, read from dbt vars (see dbt_project.yml)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_FEATURES = ("recency_days", "order_count", "monetary_value")
ALGORITHMS = ("kmeans", "gmm", "birch", "agglomerative", "hdbscan")
CLASSIFIERS = ("random_forest", "decision_tree", "gradient_boosting")
SEGMENTATION_MODES = ("auto", "refit", "score")
REFIT_POLICIES = ("on_drift", "never", "always")
# drift measure -> (warn at, refit recommended at); docs/segments-over-time.md
DRIFT_MEASURES = ("feature_psi", "segment_share_psi", "distance_ratio", "silhouette_drop")
DEFAULT_DRIFT_THRESHOLDS = {
    "feature_psi": (0.1, 0.25),
    "segment_share_psi": (0.1, 0.25),
    "distance_ratio": (1.25, 1.5),
    "silhouette_drop": (0.05, 0.15),
}
# the numeric customer features the classifier learns from (columns of int_customers__rfm_scored)
NUMERIC_FEATURES = (
    "recency_days",
    "order_count",
    "monetary_value",
    "monetary_gross",
    "returned_value",
    "tenure_days",
    "avg_order_value",
    "items_per_order",
    "line_count",
    "distinct_products",
    "return_line_count",
    "return_rate",
)


def settings_getter(settings: dict[str, Any] | str):
    """``get(name, default)`` over the dbt vars JSON; null or empty values give the default."""
    if isinstance(settings, str):
        settings = json.loads(settings or "{}")

    def get(name: str, default):
        value = settings.get(name)
        return default if value is None or value == "" else value

    return get


@dataclass(frozen=True)
class SegmentationConfig:
    features: tuple[str, ...] = DEFAULT_FEATURES
    log_features: tuple[str, ...] = DEFAULT_FEATURES
    clip_quantiles: tuple[float, float] = (0.01, 0.99)
    pca_components: int = 0
    k_min: int = 2
    k_max: int = 10
    n_clusters: int | None = None
    algorithm: str = "kmeans"
    random_state: int = 42
    n_init: int = 10
    sweep_n_init: int = 3
    silhouette_exact_max: int = 5_000
    silhouette_sample_size: int = 5_000
    sweep_sample_size: int = 50_000
    minibatch_threshold: int = 200_000
    fit_sample_size: int = 200_000
    training_cutoff_date: str | None = None
    # hdbscan: the smallest group that counts as a cluster (0 = 1% of the customers, at least 10)
    min_cluster_size: int = 0
    # a customer table's measure of customer value: orders its segments best to worst and picks
    # their actions ("" = none: segments are ordered by size)
    value_feature: str = ""
    # BLAS/OpenMP threads of the ML layer (threadpoolctl); DuckDB already uses every core
    ml_threads: int = 1

    def __post_init__(self) -> None:
        problems = []
        if not self.features:
            problems.append("segmentation_features is empty: name at least one customer feature")
        unknown_log = sorted(set(self.log_features) - set(self.features))
        if unknown_log:
            problems.append(f"segmentation_log_features {unknown_log} are not in segmentation_features")
        lo, hi = self.clip_quantiles
        if not 0 <= lo < hi <= 1:
            problems.append(
                f"segmentation_clip_quantiles must be two numbers 0 <= low < high <= 1, got {lo}, {hi}"
            )
        if not 2 <= self.k_min <= self.k_max:
            problems.append(f"need 2 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}")
        if self.n_clusters is not None and self.n_clusters < 2:
            problems.append(f"n_clusters must be at least 2, got {self.n_clusters}")
        if self.algorithm not in ALGORITHMS:
            problems.append(
                f"segmentation_algorithm must be one of {list(ALGORITHMS)}, got {self.algorithm!r}"
            )
        if self.pca_components < 0 or self.pca_components > len(self.features):
            problems.append(
                f"segmentation_pca_components must be between 0 (off) and the number of features "
                f"({len(self.features)}), got {self.pca_components}"
            )
        if self.n_init < 1 or self.silhouette_sample_size < 100:
            problems.append("n_init must be >= 1 and silhouette_sample_size >= 100")
        if self.min_cluster_size < 0 or self.min_cluster_size == 1:
            problems.append(
                f"min_cluster_size must be 0 (automatic) or at least 2, got {self.min_cluster_size}"
            )
        if self.ml_threads < 1:
            problems.append(f"ml_threads must be at least 1, got {self.ml_threads}")
        if self.sweep_sample_size < 1_000 or self.fit_sample_size < 1_000:
            problems.append("sweep_sample_size and fit_sample_size must be at least 1000")
        if problems:
            raise ValueError("Invalid segmentation settings: " + "; ".join(problems))

    @property
    def k_values(self) -> list[int]:
        if self.n_clusters is not None:
            lo, hi = min(self.k_min, self.n_clusters), max(self.k_max, self.n_clusters)
            return list(range(lo, hi + 1))
        return list(range(self.k_min, self.k_max + 1))

    @classmethod
    def from_vars(cls, settings: dict[str, Any] | str) -> SegmentationConfig:
        """Build from the dbt vars, as passed to the Python models in the config key
        ``segmentation_settings`` (a JSON object of var name -> value; see dbt_project.yml)."""
        get = settings_getter(settings)
        n_clusters = get("n_clusters", None)
        return cls(
            features=tuple(get("segmentation_features", DEFAULT_FEATURES)),
            log_features=tuple(get("segmentation_log_features", DEFAULT_FEATURES)),
            clip_quantiles=tuple(float(q) for q in get("segmentation_clip_quantiles", (0.01, 0.99))),
            pca_components=int(get("segmentation_pca_components", 0)),
            k_min=int(get("k_min", 2)),
            k_max=int(get("k_max", 10)),
            n_clusters=int(n_clusters) if n_clusters is not None else None,
            algorithm=str(get("segmentation_algorithm", "kmeans")),
            random_state=int(get("random_state", 42)),
            n_init=int(get("n_init", 10)),
            sweep_n_init=int(get("sweep_n_init", 3)),
            silhouette_exact_max=int(get("silhouette_exact_max", 5_000)),
            silhouette_sample_size=int(get("silhouette_sample_size", 5_000)),
            sweep_sample_size=int(get("sweep_sample_size", 50_000)),
            minibatch_threshold=int(get("minibatch_threshold", 200_000)),
            fit_sample_size=int(get("fit_sample_size", 200_000)),
            value_feature=str(get("segment_value_feature", "")),
            min_cluster_size=int(get("min_cluster_size", 0)),
            training_cutoff_date=get("training_cutoff_date", None),
            ml_threads=int(get("ml_threads", 1)),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fit_settings(self) -> dict[str, Any]:
        """The settings that change what a fit gives (not how many threads compute it)."""
        return {k: v for k, v in asdict(self).items() if k != "ml_threads"}


@dataclass(frozen=True)
class LifecycleConfig:
    """When the build fits a new model version and when it scores with the active one."""

    mode: str = "auto"
    refit_policy: str = "on_drift"
    # score with this version (no fitting) instead of the latest
    pinned_version: int | None = None
    drift_thresholds: tuple[tuple[str, float, float], ...] = tuple(
        (name, warn, refit) for name, (warn, refit) in DEFAULT_DRIFT_THRESHOLDS.items()
    )

    def __post_init__(self) -> None:
        problems = []
        if self.mode not in SEGMENTATION_MODES:
            problems.append(f"segmentation_mode must be one of {list(SEGMENTATION_MODES)}, got {self.mode!r}")
        if self.refit_policy not in REFIT_POLICIES:
            problems.append(f"refit_policy must be one of {list(REFIT_POLICIES)}, got {self.refit_policy!r}")
        if self.pinned_version is not None and self.mode == "refit":
            problems.append(
                f"segmentation_model_version pins version {self.pinned_version}, so nothing is fitted: "
                "use segmentation_mode: score (or auto), or unset the pin to refit"
            )
        if self.pinned_version is not None and self.pinned_version < 1:
            problems.append(f"segmentation_model_version must be 1 or more, got {self.pinned_version}")
        for name, warn, refit in self.drift_thresholds:
            if name not in DRIFT_MEASURES:
                problems.append(
                    f"drift_thresholds has an unknown measure {name!r}; measures: {list(DRIFT_MEASURES)}"
                )
            elif not warn <= refit:
                problems.append(f"drift_thresholds.{name}: warn ({warn}) must not exceed refit ({refit})")
        if problems:
            raise ValueError("Invalid segmentation settings: " + "; ".join(problems))

    @property
    def thresholds(self) -> dict[str, tuple[float, float]]:
        return {name: (warn, refit) for name, warn, refit in self.drift_thresholds}

    @classmethod
    def from_vars(cls, settings) -> LifecycleConfig:
        get = settings_getter(settings)
        pinned = get("segmentation_model_version", None)
        thresholds = dict(DEFAULT_DRIFT_THRESHOLDS)
        given = get("drift_thresholds", {})
        if not isinstance(given, dict):
            raise ValueError(
                "Invalid segmentation settings: drift_thresholds must map a measure to [warn, refit], "
                f"e.g. {{feature_psi: [0.1, 0.25]}}, got {given!r}"
            )
        for name, pair in given.items():
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
            ):
                raise ValueError(
                    f"Invalid segmentation settings: drift_thresholds.{name} must be [warn, refit], got {pair!r}"
                )
            thresholds[name] = (float(pair[0]), float(pair[1]))
        if pinned is not None and (isinstance(pinned, bool) or not isinstance(pinned, int)):
            raise ValueError(
                f"Invalid segmentation settings: segmentation_model_version must be a whole number, got {pinned!r}"
            )
        return cls(
            mode=str(get("segmentation_mode", "auto")),
            refit_policy=str(get("refit_policy", "on_drift")),
            pinned_version=pinned,
            drift_thresholds=tuple((name, warn, refit) for name, (warn, refit) in thresholds.items()),
        )


@dataclass(frozen=True)
class ClassifierConfig:
    classifier: str = "random_forest"
    test_size: float = 0.25
    random_state: int = 42
    tree_max_depth: int = 4
    n_estimators: int = 100
    top_countries: int = 10
    max_rows: int = 50_000

    @classmethod
    def from_vars(cls, settings) -> ClassifierConfig:
        """Build from the same ``segmentation_settings`` JSON the segmentation models read."""
        get = settings_getter(settings)
        return cls(
            classifier=str(get("classifier", "random_forest")),
            test_size=float(get("classifier_test_size", 0.25)),
            random_state=int(get("random_state", 42)),
            tree_max_depth=int(get("classifier_tree_max_depth", 4)),
            n_estimators=int(get("classifier_n_estimators", 100)),
            top_countries=int(get("classifier_top_countries", 10)),
            max_rows=int(get("classifier_max_rows", 50_000)),
        )

    def __post_init__(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {list(CLASSIFIERS)}, got {self.classifier!r}")
        if not 0 < self.test_size < 1:
            raise ValueError(f"classifier_test_size must be in (0, 1), got {self.test_size}")
        if self.tree_max_depth < 1:
            raise ValueError("classifier_tree_max_depth must be at least 1")
        if self.max_rows < 100:
            raise ValueError(f"classifier_max_rows must be at least 100, got {self.max_rows}")
