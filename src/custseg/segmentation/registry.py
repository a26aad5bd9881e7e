"""The model registry: fitted models serialised with joblib, with metadata, as table rows.

Unpickling runs code, so only artifacts the project verifiably wrote are ever loaded. A digest
stored next to the artifact proves nothing (whoever crafts the file writes the digest too), so
every artifact is signed with HMAC-SHA256 under a key kept **outside the database**: a file of
32 random bytes, created with mode 0600 on the first build, at ``$CUSTSEG_MODEL_KEY_PATH``
(default ``~/.config/custseg/model-signing.key``). :func:`load_artifact` checks the signature
(constant-time) before a single byte is unpickled; a database built elsewhere, or crafted, is
refused. The SHA-256 stays as the artifact's public content digest. Scoring with the
segmentation model needs no artifact at all (``custseg score`` reads the numeric preprocessing
and centroid tables).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import secrets
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pyarrow as pa

# v2: signatures bind the artifact to its model kind and version (v1 signed the bytes alone)
ARTIFACT_FORMAT = "custseg-joblib-v2"
KEY_ENV = "CUSTSEG_MODEL_KEY_PATH"

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
        ("artifact_signature", pa.string()),
        ("artifact_bytes", pa.int64()),
        ("artifact", pa.binary()),
        # the model's reports (k sweep, centroids, holdout metrics, drift, ...) as JSON, which
        # the report marts unpack in SQL (macro ml_report) and nothing unpickles (reports.py)
        ("reports", pa.string()),
        # segments over time (segmentation.lifecycle): the version a model row belongs to (the
        # active version for a run row), the run that wrote the row, the customers' snapshot
        # date, and for a run row its decision (fit | score) and drift status
        ("model_version", pa.int32()),
        ("run_id", pa.int32()),
        ("as_of_date", pa.string()),
        ("decision", pa.string()),
        ("drift_status", pa.string()),
    ]
)
MODEL_KINDS = ("segmentation", "classifier", "classifier_tree")


def empty_registry() -> pa.Table:
    """No new registry rows (a build whose customers and settings did not change)."""
    return REGISTRY_SCHEMA.empty_table()


def run_row(
    *,
    run_id: int,
    model_version: int,
    as_of_date: str,
    decision: str,
    drift_status: str,
    data_fingerprint: str,
    customers: int,
    reports: str,
) -> pa.Table:
    """The record of one build of the ML layer: no artifact, the drift report in ``reports``."""
    row = {name: [None] for name in REGISTRY_SCHEMA.names}
    row.update(
        model_id=[f"run-{run_id}"],
        model_kind=["run"],
        trained_at=[datetime.now(timezone.utc)],
        metrics=[json.dumps({"customers": customers}, sort_keys=True)],
        training_rows=[customers],
        training_fingerprint=[data_fingerprint],
        reports=[reports],
        model_version=[model_version],
        run_id=[run_id],
        as_of_date=[as_of_date],
        decision=[decision],
        drift_status=[drift_status],
    )
    return pa.Table.from_pydict(row, schema=REGISTRY_SCHEMA)


def fingerprint(ids: np.ndarray, X: np.ndarray) -> str:
    """SHA-256 of the training data (ids and feature values in id order): same data, same print."""
    order = np.argsort(ids.astype(str), kind="stable")
    h = hashlib.sha256()
    h.update("\x1f".join(ids.astype(str)[order]).encode())
    h.update(np.ascontiguousarray(X[order], dtype=np.float64).tobytes())
    return h.hexdigest()


class UntrustedArtifactError(ValueError):
    """An artifact whose signature does not verify with this machine's key: never unpickled."""


def key_path() -> Path:
    """Where the signing key lives: ``$CUSTSEG_MODEL_KEY_PATH``, else in the user's config folder."""
    configured = os.environ.get(KEY_ENV)
    return Path(configured) if configured else Path.home() / ".config" / "custseg" / "model-signing.key"


KEY_MAX_BYTES = 4096


def signing_key(create: bool = False) -> bytes:
    """The model-signing key; ``create`` makes it (32 random bytes, mode 0600) when absent.

    The key file must be a regular file that only its owner can read or write: whoever reads the
    key can sign a pickle, and whoever writes it can make the project trust one."""
    path = key_path()
    if create and not os.path.lexists(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another build made it a moment ago
        except OSError as exc:
            raise OSError(f"cannot create the model-signing key {path}: {exc}; set {KEY_ENV}") from exc
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    """The key's bytes, after checking (on the open file, not the name) what the file is, and
    that its folder lets no one else replace it. Messages advise deleting only a regular file of
    the user's own: never a device, a folder or another user's file."""
    elsewhere = f"Point {KEY_ENV} at a file path of your own in a private folder (the next build makes a new key there)."
    fix = f"Point {KEY_ENV} at the key file, or delete {path} and rebuild to make a new one."
    try:
        # O_NONBLOCK: a FIFO put in the key's place must not hang the open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UntrustedArtifactError(
            f"no model-signing key at {path}: models are loaded only on the machine (or with the key, "
            f"{KEY_ENV}) that built them"
        ) from None
    except OSError as exc:
        raise UntrustedArtifactError(
            f"cannot read the model-signing key {path}: {exc.strerror}. {fix}"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedArtifactError(
                f"the model-signing key {path} is not a regular file (a directory, device or pipe). {elsewhere}"
            )
        if info.st_mode & 0o077:
            raise UntrustedArtifactError(
                f"the model-signing key {path} can be read or written by other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): whoever reads it can sign a model that this project "
                f"then unpickles. Make it private with: chmod 600 {path}"
            )
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise UntrustedArtifactError(
                f"the model-signing key {path} belongs to another user (uid {info.st_uid}); use a key of "
                f"your own. {elsewhere}"
            )
        if info.st_size > KEY_MAX_BYTES:
            raise UntrustedArtifactError(
                f"the model-signing key {path} is {info.st_size} bytes, not a key (64 hex characters). {fix}"
            )
        _check_key_folder(path, elsewhere)
        key = os.read(fd, KEY_MAX_BYTES).strip()
    finally:
        os.close(fd)
    if len(key) < 32:
        raise UntrustedArtifactError(f"the model-signing key {path} is too short; delete it and rebuild")
    return key


def _check_key_folder(path: Path, elsewhere: str) -> None:
    """The key's folder must let no other user replace the key: not writable by group or others
    unless sticky (as /tmp: then only the owner may rename or delete), and owned by the user or
    root. A private key in a folder anyone can write to can be swapped for one an attacker knows."""
    folder = Path(os.path.abspath(path)).parent
    info = os.stat(folder)
    shared = info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX
    if shared or (hasattr(os, "getuid") and info.st_uid not in (0, os.getuid())):
        raise UntrustedArtifactError(
            f"the model-signing key {path} is in a folder other users can write to or own ({folder}, mode "
            f"{stat.S_IMODE(info.st_mode):04o}): they could replace the key with one they know and make this "
            f"project trust their model. Make the folder private (chmod go-w {folder}). {elsewhere}"
        )


def _signed_message(blob: bytes, kind: str, model_version: int) -> bytes:
    """What is signed: the artifact bound to its kind and model version, so a signed tree cannot
    be passed off as the classifier, nor version 1 as version 2."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"model kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    return f"{ARTIFACT_FORMAT}\x1f{kind}\x1f{int(model_version)}\x1f".encode() + blob


def sign(blob: bytes, key: bytes, kind: str, model_version: int) -> str:
    return hmac.new(key, _signed_message(blob, kind, model_version), hashlib.sha256).hexdigest()


def dump_artifact(obj: Any) -> bytes:
    buf = io.BytesIO()
    joblib.dump({"format": ARTIFACT_FORMAT, "object": obj}, buf, compress=3)
    return buf.getvalue()


def load_artifact(blob: bytes, signature: str | None, kind: str, model_version: int) -> Any:
    """Unpickle an artifact only when its HMAC signature verifies with this machine's key for
    this kind of model and this model version."""
    expected = sign(blob, signing_key(), kind, model_version)
    if not signature or not hmac.compare_digest(expected, str(signature)):
        raise UntrustedArtifactError(
            f"refusing to load a model artifact (the {kind} of model version {model_version}) whose "
            f"signature does not verify with the model-signing key ({key_path()}): it was not written "
            f"as this kind and version by a build that holds this key (a database built on another "
            "machine or by an older release, or crafted). Nothing was unpickled. Rebuild here, or score "
            "with the segmentation model, which needs no artifact."
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
    reports: str = "{}",
    model_version: int = 1,
    run_id: int | None = None,
    as_of_date: str | None = None,
) -> pa.Table:
    blob = dump_artifact(obj)
    digest = hashlib.sha256(blob).hexdigest()
    signature = sign(blob, signing_key(create=True), model_kind, model_version)
    trained_at = trained_at or datetime.now(timezone.utc)
    model_id = f"{model_kind}-v{model_version}-{algorithm}-k{n_clusters}-{training_fingerprint[:12]}"
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
        "artifact_signature": [signature],
        "artifact_bytes": [len(blob)],
        "artifact": [blob],
        "reports": [reports],
        "model_version": [model_version],
        "run_id": [run_id],
        "as_of_date": [as_of_date],
        "decision": [None],
        "drift_status": [None],
    }
    return pa.Table.from_pydict(row, schema=REGISTRY_SCHEMA)


def export_artifact(blob: bytes, signature: str, kind: str, model_version: int, path: str | Path) -> Path:
    """Write a registry artifact to a ``.joblib`` file after checking its signature and format."""
    load_artifact(blob, signature, kind, model_version)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return path
