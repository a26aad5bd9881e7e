"""The 3-D PCA of the scaled features that the plots show (not the clustering PCA)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from .clustering import SegmentationModel
from .preprocessing import pca_variance_table
from .sampling import sample_rows


def _scaled(model: SegmentationModel, X: np.ndarray) -> np.ndarray:
    """``X`` through the log, clip and scale steps (not the clustering PCA): what the plot PCA sees."""
    steps = model.preprocessor.named_steps
    return steps["scale"].transform(steps["clip"].transform(steps["log"].transform(X)))


def fit_plot_pca(model: SegmentationModel, X: np.ndarray) -> pd.DataFrame:
    """Fit the 3-D PCA of the scaled features (for plots) on ``X`` (every customer) and keep it on
    the model; returns the explained-variance table (plot PCA, plus the clustering PCA when
    segmentation_pca_components > 0)."""
    steps = model.preprocessor.named_steps
    scaled = _scaled(model, X)
    n_comp = min(3, scaled.shape[1])
    pca = PCA(n_components=n_comp, random_state=model.config.random_state)
    pca.fit(scaled[sample_rows(len(scaled), model.config.fit_sample_size, model.config.random_state)])
    # a fixed sign per component (largest loading positive) keeps plots stable across fits
    signs = np.sign(pca.components_[np.arange(n_comp), np.abs(pca.components_).argmax(axis=1)])
    model.plot_pca = (pca, signs)
    variance = [pca_variance_table(pca, "plot")]
    if "pca" in steps:
        variance.insert(0, pca_variance_table(steps["pca"], "clustering"))
    return pd.concat(variance, ignore_index=True)


def plot_coordinates(model: SegmentationModel, X: np.ndarray) -> np.ndarray:
    """Every row's 3 plot-PCA coordinates (nan beyond the number of features)."""
    pca, signs = model.plot_pca
    coords = pca.transform(_scaled(model, X)) * signs
    out = np.full((len(X), 3), np.nan)
    out[:, : coords.shape[1]] = coords
    return out
