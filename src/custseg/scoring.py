"""Scoring new customers with the registered models (the ``custseg score`` command).

Input: a CSV/Parquet file of customer features (the columns of ``marts.dim_customers``), or one
customer as a JSON object. Output: customer_id, cluster_id, segment_name, confidence. The
segmentation model needs only its features (default recency_days, order_count, monetary_value);
the classifier needs the numeric customer features and country. Problems are reported as
``ScoringError`` naming the missing or invalid fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

MODEL_KINDS = ("segmentation", "classifier", "classifier_tree")


class ScoringError(ValueError):
    """Bad scoring input; the message names the fields."""


def fetch_registered(db_path: str, kind: str) -> tuple[str, bytes, str]:
    """(model_id, artifact bytes, SHA-256) of the newest registered model of ``kind``."""
    import duckdb

    if kind not in MODEL_KINDS:
        raise ScoringError(f"model kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    table = "segmentation.seg_model_registry" if kind == "segmentation" else "segmentation.cls_model_registry"
    try:
        con = duckdb.connect(db_path, read_only=True)
    except duckdb.Error as exc:
        raise ScoringError(f"cannot open the warehouse {db_path!r}: {str(exc).splitlines()[0]}") from exc
    try:
        row = con.execute(
            f"select model_id, artifact, artifact_sha256 from {table} "
            "where model_kind = ? order by trained_at desc limit 1",
            [kind],
        ).fetchone()
    except duckdb.Error as exc:
        raise ScoringError(f"{db_path!r} has no {table}; run dbt build first") from exc
    finally:
        con.close()
    if row is None:
        raise ScoringError(f"no {kind} model is registered in {db_path!r}")
    return row[0], bytes(row[1]), row[2]


def load_registered(db_path: str, kind: str):
    """The newest registered model of ``kind`` from a built warehouse (digest checked)."""
    from .segmentation.registry import load_artifact

    _, blob, digest = fetch_registered(db_path, kind)
    return load_artifact(blob, digest)


def read_input(path: str | None = None, json_text: str | None = None) -> pd.DataFrame:
    if (path is None) == (json_text is None):
        raise ScoringError("give either an input file or --json, not both")
    if json_text is not None:
        try:
            record = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise ScoringError(f"--json is not valid JSON: {exc}") from exc
        records = record if isinstance(record, list) else [record]
        if not records or not all(isinstance(r, dict) for r in records):
            raise ScoringError("--json must be an object (or a list of objects) of feature: value")
        return pd.DataFrame.from_records(records)
    file = Path(path)
    if not file.exists():
        raise ScoringError(f"input file {path!r} does not exist")
    suffix = file.suffix.lower()
    try:
        if suffix in {".csv", ".txt"}:
            frame = pd.read_csv(file, dtype={"customer_id": str})
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(file)
        else:
            raise ScoringError(f"cannot score {file.name!r}: use a .csv or .parquet file")
    except ScoringError:
        raise
    except Exception as exc:
        raise ScoringError(f"cannot read {path!r}: {str(exc).splitlines()[0]}") from exc
    if frame.empty:
        raise ScoringError(f"{path!r} has no rows")
    return frame


def _check_numeric(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise ScoringError(f"missing field(s): {', '.join(missing)} (required: {', '.join(fields)})")
    out = frame.copy()
    invalid = []
    for f in fields:
        values = pd.to_numeric(out[f], errors="coerce")
        if values.isna().any() or not np.isfinite(values).all():
            rows = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.fillna(0).to_numpy()))
            invalid.append(f"{f} (row {int(rows[0]) + 1}: {frame[f].iloc[rows[0]]!r})")
        out[f] = values
    if invalid:
        raise ScoringError(f"invalid value in field(s): {', '.join(invalid)}; numbers are required")
    return out


def score(frame: pd.DataFrame, model, kind: str) -> pd.DataFrame:
    ids = (
        frame["customer_id"].astype(str)
        if "customer_id" in frame
        else pd.Series([str(i + 1) for i in range(len(frame))])
    )
    if kind == "segmentation":
        features = list(model.features)
        clean = _check_numeric(frame, features)
        result = model.assign(clean[features].to_numpy(dtype=float))
        names = np.asarray(model.names, dtype=object)[result["cluster_id"].to_numpy()]
        out = pd.DataFrame(
            {"cluster_id": result["cluster_id"], "segment_name": names, "confidence": result["confidence"]}
        )
    else:
        clean = _check_numeric(frame, list(model.encoder.numeric))
        if "country" not in clean.columns:
            raise ScoringError("missing field(s): country")
        clean["country"] = clean["country"].fillna("Unknown").astype(str)
        out = model.predict(clean)
    out.insert(0, "customer_id", ids.to_numpy())
    return out.reset_index(drop=True)
