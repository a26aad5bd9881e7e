"""Customer segmentation: preprocessing, k selection, clustering, naming and the model registry.

Pure functions and scikit-learn estimators that the dbt Python models call (they only read
inputs and return tables). Everything here is deterministic for a fixed ``random_state``.
"""

from ..ml_lifecycle import LifecycleConfig
from .config import ClassifierConfig, SegmentationConfig

__all__ = ["ClassifierConfig", "LifecycleConfig", "SegmentationConfig"]
