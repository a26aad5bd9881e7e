"""Confidence as a membership probability: 0.5 on a boundary, near 1 deep inside a cluster, and
calibrated against how often refits on resamples agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.segmentation.centroids import CentroidModel, assigned_probability, membership
from custseg.segmentation.confidence import calibrated_temperature, fit_temperature, resample_agreement


def _blobs(spread: float, n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    X = np.vstack([rng.normal(c, spread, size=(n // 3, 2)) for c in centres])
    return X, centres


def test_membership_is_a_softmax_that_is_one_half_on_a_boundary():
    dist = np.array([[1.0, 1.0], [0.1, 3.0], [3.0, 0.1]])
    p = membership(dist, temperature=1.0)
    assert np.allclose(p.sum(axis=1), 1)
    assert p[0].tolist() == pytest.approx([0.5, 0.5])
    assert p[1, 0] == pytest.approx(1 / (1 + np.exp(-(9 - 0.01))))
    assert assigned_probability(dist, np.array([0, 0, 1]), 1.0).tolist() == pytest.approx(
        [0.5, p[1, 0], p[2, 1]]
    )
    # far away from everything: no overflow, still a probability
    assert np.isfinite(membership(np.array([[1e4, 1e4 + 1]]), 1e-3)).all()


def test_the_temperature_follows_how_often_refits_agree():
    """Well-separated clusters: refits always agree and the fitted temperature is small (sharp
    probabilities); overlapping ones disagree near the boundaries and the temperature is larger.
    In both, the probabilities match the agreement they were fitted to, bin by bin."""
    temperatures = []
    for spread in (0.4, 1.2):
        X, centres = _blobs(spread)
        agreement = resample_agreement(X, centres, random_state=1)
        dist = np.sqrt(((X[:, None, :] - centres[None]) ** 2).sum(axis=2))
        t = fit_temperature(dist, agreement)
        temperatures.append(t / np.median(dist.min(axis=1) ** 2))
        p = assigned_probability(dist, dist.argmin(axis=1), t)
        assert abs(p.mean() - agreement.mean()) < 0.05
        unsure = p < 0.9
        if unsure.sum() >= 30:
            assert abs(p[unsure].mean() - agreement[unsure].mean()) < 0.1
        assert calibrated_temperature(X, centres, 10_000, 1) == pytest.approx(t)
    assert temperatures[0] < temperatures[1]


def test_a_point_deep_in_a_cluster_is_confident_and_one_between_two_is_not():
    X, centres = _blobs(0.8)
    t = calibrated_temperature(X, centres, 10_000, 3)
    pre = pd.DataFrame({"feature": ["a", "b"], "feature_order": [0, 1], "log_transformed": [False, False],
                        "clip_lower": [-1e9] * 2, "clip_upper": [1e9] * 2, "scaler_mean": [0.0] * 2,
                        "scaler_scale": [1.0] * 2})  # fmt: skip
    cen = pd.DataFrame([{"cluster_id": j, "segment_name": f"s{j}", "dimension": d, "centroid_scaled": centres[j, i],
                         "confidence_temperature": t} for j in range(3) for i, d in enumerate("ab")])  # fmt: skip
    out = CentroidModel(pre, cen).assign(np.array([[-2.5, -0.5], [0.0, 0.0], [0.0, -1.0]]))
    assert out["confidence"].iloc[0] >= 0.95
    assert 0.4 <= out["confidence"].iloc[2] <= 0.6  # on the boundary between clusters 0 and 1
    # a model published before the temperature existed scores with the default (1)
    old = CentroidModel(pre, cen.drop(columns="confidence_temperature")).assign(np.array([[0.0, -1.0]]))
    assert old["confidence"].iloc[0] == pytest.approx(0.5, abs=1e-4)  # the third centre is far
