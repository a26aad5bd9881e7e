"""The reports of a fit (k sweep, centroids, holdout metrics, drift, ...) as JSON that SQL reads.

A registry row's ``reports`` column holds one JSON object: per report, its column types and its
rows, ``{"k_selection": {"columns": {"k": "int32", ...}, "rows": [{"k": 2, ...}, ...]}, ...}``.
The report marts unpack it in SQL (macro ``ml_report``, DuckDB and Spark); Python reads it back
with :func:`decode_reports` (the drift of the next run). Nothing here runs code when read back
(unlike a pickle). Numbers are exact: a double is written as its shortest round-trip text; a
missing value (NaN) as null, and an infinity as the text ``"Infinity"`` / ``"-Infinity"``,
which SQL casts back to a double.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from .clustering import SegmentationModel
from .preprocessing import preprocessing_table


def _value(value):
    """A cell as a JSON value (numpy scalars to Python; NaN to null; infinities as text)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    return str(value)


def encode_reports(tables: dict[str, pd.DataFrame]) -> str:
    """Report tables as one JSON text (see the module docstring)."""
    out = {}
    for name, frame in tables.items():
        columns = {str(c): str(frame[c].dtype) for c in frame.columns}
        rows = [
            {c: _value(v) for c, v in zip(columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        out[name] = {"columns": columns, "rows": rows}
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _frame(report: dict) -> pd.DataFrame:
    columns = report["columns"]
    frame = pd.DataFrame(report["rows"], columns=list(columns))
    for column, dtype in columns.items():
        if dtype.startswith(("float", "int")):
            frame[column] = pd.to_numeric(frame[column].replace({"Infinity": np.inf, "-Infinity": -np.inf}))
        if dtype.startswith("float") or (dtype.startswith("int") and frame[column].notna().all()):
            frame[column] = frame[column].astype(dtype)
        elif dtype == "bool":
            frame[column] = frame[column].astype(bool)
        elif dtype in ("str", "string"):
            frame[column] = frame[column].astype(dtype)
    return frame


def decode_reports(text: str) -> dict[str, pd.DataFrame]:
    """Every report table of a ``reports`` text, as pandas with the types it was written with."""
    return {name: _frame(report) for name, report in json.loads(text).items()}


def decode_report(text: str, name: str) -> pd.DataFrame:
    reports = json.loads(text)
    if name not in reports:
        raise ValueError(f"the registry has no report {name!r} (it has {list(reports)})")
    return _frame(reports[name])


# -- the report tables of a fitted segmentation model -------------------------------------------


def cluster_names(model: SegmentationModel) -> pd.DataFrame:
    """Each cluster's R/F/M position (scores in [0, 1]), size and the business name it was given."""
    scores = model.cluster_scores.copy()
    scores["cluster_id"] = scores["cluster_id"].astype(np.int32)
    scores["size"] = scores["size"].astype(np.int64)
    return scores


def centroids(model: SegmentationModel) -> pd.DataFrame:
    """Long table: one row per cluster and model dimension (scaled), plus original units, and
    the model's confidence temperature (the same on every row: confidence.py)."""
    steps = model.preprocessor.named_steps
    dims = (
        [f"pc_{i + 1}" for i in range(model.centroids.shape[1])] if "pca" in steps else list(model.features)
    )
    scaled = pd.DataFrame(
        [
            {
                "cluster_id": j,
                "segment_name": model.names[j],
                "dimension": dim,
                "dimension_order": d,
                "centroid_scaled": float(model.centroids[j, d]),
            }
            for j in range(model.k)
            for d, dim in enumerate(dims)
        ]
    )
    original = model.original_centroids()
    orig = pd.DataFrame(
        [
            {"cluster_id": j, "dimension": f, "centroid_original": float(original[j, i])}
            for j in range(model.k)
            for i, f in enumerate(model.features)
        ]
    )
    out = scaled.merge(orig, on=["cluster_id", "dimension"], how="left")
    out["cluster_id"] = out["cluster_id"].astype(np.int32)
    out["dimension_order"] = out["dimension_order"].astype(np.int32)
    out["confidence_temperature"] = float(model.confidence_temperature)
    return out


def preprocessing(model: SegmentationModel) -> pd.DataFrame:
    """Per feature: log transform, clipping bounds and the scaler's mean and scale."""
    return preprocessing_table(model.preprocessor, model.config)
