"""Settings of the segmentation, read from dbt vars.

dbt_project.yml is the one source of their defaults: every field below names its var
(``_var``), and a field left out takes the var's value from dbt_project.yml (custseg.project).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..project import project_var

ALGORITHMS = ("kmeans", "gmm", "birch", "agglomerative", "hdbscan")
CLASSIFIERS = ("random_forest", "decision_tree", "gradient_boosting")
SEGMENTATION_MODES = ("auto", "refit", "score")
REFIT_POLICIES = ("on_drift", "never", "always")
# the drift measures; their (warn at, refit recommended at) thresholds are the var
# drift_thresholds (docs/segments-over-time.md)
DRIFT_MEASURES = (
    "feature_psi",
    "tail_shift",
    "outlier_share",
    "segment_outlier_share",
    "segment_share_psi",
    "distance_ratio",
    "silhouette_drop",
)
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


def _settings_dict(settings: dict[str, Any] | str) -> dict[str, Any]:
    """The dbt vars as passed to the Python models (a JSON object, or its text)."""
    return json.loads(settings or "{}") if isinstance(settings, str) else settings


def _is_unset(value: Any) -> bool:
    """Null and empty vars mean "not set"."""
    return value is None or value == ""


def _optional_int(value: Any) -> int | None:
    return None if _is_unset(value) else int(value)


def _optional_text(value: Any) -> str | None:
    return None if _is_unset(value) else str(value)


def _optional_tuple(value: Any) -> tuple | None:
    return None if value is None else tuple(value)


def _floats(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in value)


def _labels(value) -> tuple[tuple[str, str], ...]:
    """The var column_labels as sorted (column, label) pairs; a mapping of text to text."""
    if value in (None, "", {}):
        return ()
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        raise ValueError(
            "Invalid segmentation settings: column_labels must map column names to words, e.g. "
            f"{{NumWebVisitsMonth: web visits per month}}, got {value!r}"
        )
    return tuple(sorted((k, v.strip()) for k, v in value.items()))


def _var(name: str, convert=None, *, optional: bool = False):
    """A field whose value is the dbt var ``name``; its default is that var in dbt_project.yml.
    ``optional`` fields keep an explicit null (n_clusters: null = choose k); others fall back to
    the project's value when the var is null or empty."""

    def default():
        value = project_var(name)
        return value if convert is None else convert(value)

    return field(default_factory=default, metadata={"var": name, "convert": convert, "optional": optional})


def _from_vars(cls, settings: dict[str, Any] | str, **fixed):
    """``cls`` from the vars JSON: each field from its var, the rest from dbt_project.yml."""
    settings = _settings_dict(settings)
    kwargs = dict(fixed)
    for f in fields(cls):
        name, convert = f.metadata.get("var"), f.metadata.get("convert")
        if name is None or f.name in kwargs or name not in settings:
            continue
        value = settings[name]
        if _is_unset(value):
            if not f.metadata["optional"]:
                continue
            kwargs[f.name] = None
        else:
            kwargs[f.name] = value if convert is None else convert(value)
    return cls(**kwargs)


@dataclass(frozen=True)
class SegmentationConfig:
    features: tuple[str, ...] = _var("segmentation_features", tuple)
    # None (the var null): the SKEWED_FEATURES among the features (see __post_init__)
    log_features: tuple[str, ...] | None = _var("segmentation_log_features", _optional_tuple, optional=True)
    clip_quantiles: tuple[float, float] = _var("segmentation_clip_quantiles", _floats)
    pca_components: int = _var("segmentation_pca_components", int)
    k_min: int = _var("k_min", int)
    k_max: int = _var("k_max", int)
    n_clusters: int | None = _var("n_clusters", _optional_int, optional=True)
    algorithm: str = _var("segmentation_algorithm", str)
    random_state: int = _var("random_state", int)
    n_init: int = _var("n_init", int)
    sweep_n_init: int = _var("sweep_n_init", int)
    silhouette_exact_max: int = _var("silhouette_exact_max", int)
    silhouette_sample_size: int = _var("silhouette_sample_size", int)
    sweep_sample_size: int = _var("sweep_sample_size", int)
    minibatch_threshold: int = _var("minibatch_threshold", int)
    fit_sample_size: int = _var("fit_sample_size", int)
    training_cutoff_date: str | None = _var("training_cutoff_date", _optional_text, optional=True)
    # hdbscan: the smallest group that counts as a cluster (0 = 1% of the customers, at least 10)
    min_cluster_size: int = _var("min_cluster_size", int)
    # a customer table's measure of customer value: orders its segments best to worst and picks
    # their actions ("" = none: segments are ordered by size)
    value_feature: str = _var("segment_value_feature", lambda v: "" if v is None else str(v))
    # a customer table's words for its columns in segment names ({column: label}); a column
    # without one is humanised ("NumWebVisitsMonth" -> "num web visits month")
    column_labels: tuple[tuple[str, str], ...] = _var("column_labels", lambda v: _labels(v))
    # BLAS/OpenMP threads of the ML layer (threadpoolctl); DuckDB already uses every core
    ml_threads: int = _var("ml_threads", int)

    def __post_init__(self) -> None:
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
        return _from_vars(cls, settings)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fit_settings(self) -> dict[str, Any]:
        """The settings that change what a fit gives (not how many threads compute it)."""
        return {k: v for k, v in asdict(self).items() if k != "ml_threads"}


@dataclass(frozen=True)
class LifecycleConfig:
    """When the build fits a new model version and when it scores with the active one."""

    mode: str = _var("segmentation_mode", str)
    refit_policy: str = _var("refit_policy", str)
    # score with this version (no fitting) instead of the latest
    pinned_version: int | None = _var("segmentation_model_version", optional=True)
    # (measure, warn at, refit recommended at), the var drift_thresholds
    drift_thresholds: tuple[tuple[str, float, float], ...] = _var(
        "drift_thresholds", lambda given: _thresholds({}, given)
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
        settings = _settings_dict(settings)
        pinned = settings.get("segmentation_model_version")
        pinned = None if _is_unset(pinned) else pinned
        if pinned is not None and (isinstance(pinned, bool) or not isinstance(pinned, int)):
            raise ValueError(
                f"Invalid segmentation settings: segmentation_model_version must be a whole number, got {pinned!r}"
            )
        # dbt replaces a dict var whole: the measures a user leaves out keep the project's values
        # (inside a build every measure is given, and dbt_project.yml is not read)
        given = settings.get("drift_thresholds")
        given = {} if _is_unset(given) else given
        defaults = {}
        if not isinstance(given, dict) or not set(DRIFT_MEASURES) <= set(given):
            defaults = {
                name: (warn, refit) for name, warn, refit in _thresholds({}, project_var("drift_thresholds"))
            }
        return _from_vars(cls, settings, drift_thresholds=_thresholds(defaults, given))


def _thresholds(defaults: dict[str, tuple[float, float]], given: Any) -> tuple[tuple[str, float, float], ...]:
    """``defaults`` updated with the var drift_thresholds ({measure: [warn, refit]}), checked."""
    if not isinstance(given, dict):
        raise ValueError(
            "Invalid segmentation settings: drift_thresholds must map a measure to [warn, refit], "
            f"e.g. {{feature_psi: [0.1, 0.25]}}, got {given!r}"
        )
    thresholds = dict(defaults)
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
    return tuple((name, warn, refit) for name, (warn, refit) in thresholds.items())


@dataclass(frozen=True)
class ClassifierConfig:
    classifier: str = _var("classifier", str)
    test_size: float = _var("classifier_test_size", float)
    random_state: int = _var("random_state", int)
    tree_max_depth: int = _var("classifier_tree_max_depth", int)
    n_estimators: int = _var("classifier_n_estimators", int)
    top_countries: int = _var("classifier_top_countries", int)
    max_rows: int = _var("classifier_max_rows", int)

    @classmethod
    def from_vars(cls, settings) -> ClassifierConfig:
        """Build from the same ``segmentation_settings`` JSON the segmentation models read."""
        return _from_vars(cls, settings)

    def __post_init__(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {list(CLASSIFIERS)}, got {self.classifier!r}")
        if not 0 < self.test_size < 1:
            raise ValueError(f"classifier_test_size must be in (0, 1), got {self.test_size}")
        if self.tree_max_depth < 1:
            raise ValueError("classifier_tree_max_depth must be at least 1")
        if self.max_rows < 100:
            raise ValueError(f"classifier_max_rows must be at least 100, got {self.max_rows}")
