"""Settings of the segmentation, read from dbt vars (custseg.varconfig: every field names its
var, and its default is that var in dbt_project.yml)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictFloat, StrictInt, field_validator, model_validator

from ..varconfig import VarConfig, var

ALGORITHMS = ("kmeans", "gmm", "birch", "agglomerative", "hdbscan")
CLASSIFIERS = ("random_forest", "decision_tree", "gradient_boosting")
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


# the customer features that count days, orders, lines or products, or sum gross money: never
# negative for a real customer (monetary_value is net of returns, and may be); scoring refuses
# a negative value of these (custseg.scoring.check_numeric: the CLI and the dashboard's form)
NON_NEGATIVE_FEATURES = tuple(f for f in NUMERIC_FEATURES if f != "monetary_value")


# the log-transformed features when segmentation_log_features is null: right-skewed counts and money
SKEWED_FEATURES = ("recency_days", "order_count", "monetary_value")


class SegmentationConfig(VarConfig):
    domain = "segmentation"

    features: tuple[str, ...] = var("segmentation_features")
    # None (the var null): the SKEWED_FEATURES among the features (see _check)
    log_features: tuple[str, ...] | None = var("segmentation_log_features", optional=True)
    clip_quantiles: tuple[StrictFloat, StrictFloat] = var("segmentation_clip_quantiles")
    pca_components: StrictInt = var("segmentation_pca_components")
    k_min: StrictInt = var("k_min")
    k_max: StrictInt = var("k_max")
    n_clusters: StrictInt | None = var("n_clusters", optional=True)
    algorithm: Literal[ALGORITHMS] = var("segmentation_algorithm")
    random_state: StrictInt = var("random_state")
    n_init: StrictInt = var("n_init")
    sweep_n_init: StrictInt = var("sweep_n_init")
    silhouette_exact_max: StrictInt = var("silhouette_exact_max")
    silhouette_sample_size: StrictInt = var("silhouette_sample_size")
    sweep_sample_size: StrictInt = var("sweep_sample_size")
    minibatch_threshold: StrictInt = var("minibatch_threshold")
    fit_sample_size: StrictInt = var("fit_sample_size")
    training_cutoff_date: str | None = var("training_cutoff_date", optional=True)
    # hdbscan: the smallest group that counts as a cluster (0 = 1% of the customers, at least 10)
    min_cluster_size: StrictInt = var("min_cluster_size")
    # a customer table's measure of customer value: orders its segments best to worst and picks
    # their actions ("" = none: segments are ordered by size)
    value_feature: str = var("segment_value_feature")
    # a customer table's words for its columns in segment names ({column: label}), as sorted
    # (column, label) pairs; a column without one is humanised ("NumWebVisitsMonth" -> "num web
    # visits month")
    column_labels: tuple[tuple[str, str], ...] = var("column_labels")
    # BLAS/OpenMP threads of the ML layer (threadpoolctl); DuckDB already uses every core
    ml_threads: StrictInt = var("ml_threads")

    @field_validator("value_feature", mode="before")
    @classmethod
    def _no_value_feature(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("column_labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        """The var column_labels, a mapping of text to text, as sorted (column, label) pairs."""
        if value in (None, "", {}):
            return ()
        if isinstance(value, tuple | list):
            return value  # already pairs (a copy of a config)
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        ):
            raise ValueError(
                "column_labels must map column names to words, e.g. {NumWebVisitsMonth: web visits per month}, "
                f"got {value!r}"
            )
        return tuple(sorted((k, v.strip()) for k, v in value.items()))

    @model_validator(mode="after")
    def _check(self) -> SegmentationConfig:
        if self.log_features is None:
            object.__setattr__(self, "log_features", tuple(f for f in self.features if f in SKEWED_FEATURES))
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
            raise ValueError("; ".join(problems))
        return self

    @property
    def k_values(self) -> list[int]:
        if self.n_clusters is not None:
            lo, hi = min(self.k_min, self.n_clusters), max(self.k_max, self.n_clusters)
            return list(range(lo, hi + 1))
        return list(range(self.k_min, self.k_max + 1))

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def fit_settings(self) -> dict[str, Any]:
        """The settings that change what a fit gives (not how many threads compute it)."""
        return {k: v for k, v in self.model_dump().items() if k != "ml_threads"}


class ClassifierConfig(VarConfig):
    domain = "classifier"

    classifier: Literal[CLASSIFIERS] = var("classifier")
    test_size: StrictFloat = var("classifier_test_size")
    random_state: StrictInt = var("random_state")
    tree_max_depth: StrictInt = var("classifier_tree_max_depth")
    n_estimators: StrictInt = var("classifier_n_estimators")
    top_countries: StrictInt = var("classifier_top_countries")
    max_rows: StrictInt = var("classifier_max_rows")

    @model_validator(mode="after")
    def _check(self) -> ClassifierConfig:
        problems = []
        if not 0 < self.test_size < 1:
            problems.append(f"classifier_test_size must be in (0, 1), got {self.test_size}")
        if self.tree_max_depth < 1:
            problems.append("classifier_tree_max_depth must be at least 1")
        if self.max_rows < 100:
            problems.append(f"classifier_max_rows must be at least 100, got {self.max_rows}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
