"""Deterministic row samples, shared by the k sweep, the final fit and the plot PCA."""

from __future__ import annotations

import numpy as np


def sample_rows(n: int, size: int, random_state: int) -> np.ndarray:
    """A deterministic, sorted sample of row positions (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, size=size, replace=False))
