"""Feature matrix: signed log of skewed columns, quantile clipping, standard scaling, optional PCA."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .config import SegmentationConfig


class SignedLog(BaseEstimator, TransformerMixin):
    """``sign(x) * log1p(|x|)`` on the chosen columns (by position); others pass through.

    The signed form keeps negative values (net monetary value can be below zero) monotone.
    """

    def __init__(self, columns: tuple[int, ...] = ()):
        self.columns = columns

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        X = np.array(X, dtype=float, copy=True)
        for c in self.columns:
            X[:, c] = np.sign(X[:, c]) * np.log1p(np.abs(X[:, c]))
        return X

    def inverse_transform(self, X):
        X = np.array(X, dtype=float, copy=True)
        for c in self.columns:
            X[:, c] = np.sign(X[:, c]) * np.expm1(np.abs(X[:, c]))
        return X


class QuantileClipper(BaseEstimator, TransformerMixin):
    """Clips every column to its [low, high] quantiles learnt at fit time (outlier control)."""

    def __init__(self, low: float = 0.01, high: float = 0.99):
        self.low = low
        self.high = high

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.lower_ = np.quantile(X, self.low, axis=0)
        self.upper_ = np.quantile(X, self.high, axis=0)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_)

    def inverse_transform(self, X):
        return np.asarray(X, dtype=float)


def build_preprocessor(config: SegmentationConfig) -> Pipeline:
    log_cols = tuple(i for i, f in enumerate(config.features) if f in config.log_features)
    steps = [
        ("log", SignedLog(log_cols)),
        ("clip", QuantileClipper(*config.clip_quantiles)),
        ("scale", StandardScaler()),
    ]
    if config.pca_components:
        steps.append(("pca", PCA(n_components=config.pca_components, random_state=config.random_state)))
    return Pipeline(steps)


def feature_matrix(customers: pd.DataFrame, config: SegmentationConfig) -> np.ndarray:
    """The raw feature columns as a float matrix, checked for presence and missing values."""
    missing = [f for f in config.features if f not in customers.columns]
    if missing:
        raise ValueError(
            f"segmentation_features {missing} are not columns of dim_customers; "
            f"choose from: {', '.join(c for c in customers.columns if c != 'customer_id')}"
        )
    # C order whatever the frame's block layout, so sums run in one order (last bits stable)
    X = np.ascontiguousarray(customers[list(config.features)].to_numpy(dtype=float, na_value=np.nan))
    if np.isnan(X).any():
        bad = [f for i, f in enumerate(config.features) if np.isnan(X[:, i]).any()]
        raise ValueError(
            f"segmentation_features {bad} have missing values (e.g. mean_days_between_orders is null "
            "for one-order customers); choose features without nulls"
        )
    return X


def preprocessing_table(pre: Pipeline, config: SegmentationConfig) -> pd.DataFrame:
    """One row per feature: the transform, clipping bounds and scaler parameters."""
    log_cols = set(pre.named_steps["log"].columns)
    clip = pre.named_steps["clip"]
    scale = pre.named_steps["scale"]
    return pd.DataFrame(
        {
            "feature": list(config.features),
            "feature_order": np.arange(len(config.features), dtype=np.int32),
            "log_transformed": [i in log_cols for i in range(len(config.features))],
            "clip_lower": clip.lower_,
            "clip_upper": clip.upper_,
            "scaler_mean": scale.mean_,
            "scaler_scale": scale.scale_,
        }
    )


def pca_loadings_table(pre: Pipeline, config: SegmentationConfig) -> pd.DataFrame:
    """The clustering PCA as numbers (empty without PCA): per component and feature the loading,
    and per feature the mean PCA subtracts. Component j of a scaled row x is
    sum_f (x_f - pca_mean_f) * loading_jf: what the SQL scorer and custseg score compute."""
    frame = pd.DataFrame(
        {
            "component": pd.Series(dtype=np.int32),
            "feature": pd.Series(dtype="string"),
            "feature_order": pd.Series(dtype=np.int32),
            "loading": pd.Series(dtype=float),
            "pca_mean": pd.Series(dtype=float),
        }
    )
    if "pca" not in pre.named_steps:
        return frame
    pca = pre.named_steps["pca"]
    rows = [
        {
            "component": np.int32(j + 1),
            "feature": feature,
            "feature_order": np.int32(i),
            "loading": float(pca.components_[j, i]),
            "pca_mean": float(pca.mean_[i]),
        }
        for j in range(pca.n_components_)
        for i, feature in enumerate(config.features)
    ]
    return pd.DataFrame(rows).astype(frame.dtypes.to_dict())


def pca_variance_table(pca: PCA, purpose: str) -> pd.DataFrame:
    ratio = pca.explained_variance_ratio_
    return pd.DataFrame(
        {
            "purpose": purpose,
            "component": np.arange(1, len(ratio) + 1, dtype=np.int32),
            "explained_variance_ratio": ratio,
            "cumulative_explained_variance_ratio": np.cumsum(ratio),
        }
    )
