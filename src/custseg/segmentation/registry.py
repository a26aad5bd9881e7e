"""The model registry: fitted models serialised with joblib, with metadata, as table rows.

Loading only ever reads artifacts the project itself wrote: a registry row carries the SHA-256
of its artifact, and :func:`load_artifact` refuses bytes whose digest differs before anything is
unpickled. Never load a joblib file from an untrusted source (unpickling runs code).
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pyarrow as pa

ARTIFACT_FORMAT = "custseg-joblib-v1"

REGISTRY_SCHEMA = pa.schema(
    [
        ("model_id", pa.string()),
        ("model_kind", pa.string()),
        ("trained_at", pa.timestamp("us", tz="UTC")),
        ("algorithm", pa.string()),
        ("n_clusters", pa.int32()),
        ("features", pa.string()),
        ("params", pa.string()),
        ("metrics", pa.string()),
        ("training_rows", pa.int64()),
        ("training_fingerprint", pa.string()),
        ("artifact_format", pa.string()),
        ("artifact_sha256", pa.string()),
        ("artifact_bytes", pa.int64()),
        ("artifact", pa.binary()),
    ]
)


def fingerprint(ids: np.ndarray, X: np.ndarray) -> str:
    """SHA-256 of the training data (ids and feature values in id order): same data, same print."""
    order = np.argsort(ids.astype(str), kind="stable")
    h = hashlib.sha256()
    h.update("\x1f".join(ids.astype(str)[order]).encode())
    h.update(np.ascontiguousarray(X[order], dtype=np.float64).tobytes())
    return h.hexdigest()


def dump_artifact(obj: Any) -> bytes:
    buf = io.BytesIO()
    joblib.dump({"format": ARTIFACT_FORMAT, "object": obj}, buf, compress=3)
    return buf.getvalue()


def load_artifact(blob: bytes, expected_sha256: str) -> Any:
    digest = hashlib.sha256(blob).hexdigest()
    if digest != expected_sha256:
        raise ValueError(
            f"refusing to load a model artifact whose SHA-256 ({digest[:12]}…) does not match the "
            f"registry ({expected_sha256[:12]}…): it was not written by this project's build"
        )
    payload = joblib.load(io.BytesIO(blob))
    if not isinstance(payload, dict) or payload.get("format") != ARTIFACT_FORMAT:
        raise ValueError("not a custseg model artifact")
    return payload["object"]


def registry_row(
    *,
    model_kind: str,
    obj: Any,
    algorithm: str,
    n_clusters: int,
    features: list[str],
    params: dict,
    metrics: dict,
    training_rows: int,
    training_fingerprint: str,
    trained_at: datetime | None = None,
) -> pa.Table:
    blob = dump_artifact(obj)
    digest = hashlib.sha256(blob).hexdigest()
    trained_at = trained_at or datetime.now(timezone.utc)
    model_id = f"{model_kind}-{algorithm}-k{n_clusters}-{training_fingerprint[:12]}"
    row = {
        "model_id": [model_id],
        "model_kind": [model_kind],
        "trained_at": [trained_at],
        "algorithm": [algorithm],
        "n_clusters": [n_clusters],
        "features": [json.dumps(list(features))],
        "params": [json.dumps(params, sort_keys=True, default=str)],
        "metrics": [json.dumps(metrics, sort_keys=True, default=float)],
        "training_rows": [training_rows],
        "training_fingerprint": [training_fingerprint],
        "artifact_format": [ARTIFACT_FORMAT],
        "artifact_sha256": [digest],
        "artifact_bytes": [len(blob)],
        "artifact": [blob],
    }
    return pa.Table.from_pydict(row, schema=REGISTRY_SCHEMA)


def export_artifact(blob: bytes, expected_sha256: str, path: str | Path) -> Path:
    """Write a registry artifact to a ``.joblib`` file after checking its digest."""
    load_artifact(blob, expected_sha256)  # verifies digest and format
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return path
