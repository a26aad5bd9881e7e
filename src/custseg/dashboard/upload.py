"""Try your own file: an upload segmented in a temporary workspace of its own (never the main
warehouse), its columns read first in a bounded child process (custseg.dashboard.upload_probe),
the build read through dbt's events and stopped past a time limit."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..inputs.transactions import refusal
from ..workspace import progress_of, run_build, workspace_env
from .queries import k_selection, profiles
from .store import query
from .upload_probe import UploadColumns, UploadError
from .upload_probe import upload_columns as probe_upload_columns

UPLOAD_FORMATS = ("csv", "tsv", "txt", "parquet", "pq", "xlsx")


# uploads larger than this are refused (MB; CUSTSEG_UPLOAD_MAX_MB overrides)
DEFAULT_UPLOAD_MAX_MB = 200


DEFAULT_UPLOAD_BUILD_SECONDS = 900


@dataclass
class UploadResult:
    segments: pd.DataFrame  # customer_segments.csv
    profiles: pd.DataFrame
    log: str
    k_selection: pd.DataFrame | None = None  # the k sweep (empty for an algorithm that finds k)
    kind: str = "transactions"


@dataclass(frozen=True)
class UploadSettings:
    """What a person chooses for an upload: the input kind ("auto": detected from the header),
    k (None: chosen by the build's rule within k_min..k_max), the algorithm, and for a customer
    table the columns to segment on."""

    kind: str = "auto"
    n_clusters: int | None = None
    k_range: tuple[int, int] | None = None
    algorithm: str | None = None
    features: tuple[str, ...] = ()


def safe_upload_name(name: str) -> str:
    """The upload's own file name (messages name it as the user knows it), every character but
    letters, digits and ``._-`` as ``_``."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name) or "upload.csv"


def upload_columns(name: str, data: bytes) -> UploadColumns:
    """Read the upload's header (and its numeric columns' kinds and constant flags) to propose
    settings, in a child process with bounded time and memory (custseg.dashboard.upload_probe): a file no
    build would take (too wide, unreadable) is refused with the build's message, and a crash or
    a runaway read ends the child, never the server. XLSX files are read by the build only: they
    are taken for transactions."""
    from ..project import project_var

    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return UploadColumns("transactions", None, ())
    with tempfile.TemporaryDirectory(prefix="custseg-columns-") as folder:
        path = Path(folder) / safe_upload_name(name)
        path.write_bytes(data)
        return probe_upload_columns(path, int(project_var("customer_table_max_columns")))


def upload_max_bytes() -> int:
    return int(float(os.environ.get("CUSTSEG_UPLOAD_MAX_MB", DEFAULT_UPLOAD_MAX_MB)) * 1024 * 1024)


def check_upload(name: str, size: int) -> str:
    """The upload's format (by extension), or an UploadError saying what is accepted."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_FORMATS:
        raise UploadError(
            f"'{name}' is not a supported file: upload CSV (.csv, .tsv, .txt), Parquet (.parquet) or Excel (.xlsx)."
        )
    limit = upload_max_bytes()
    if size > limit:
        raise UploadError(
            f"'{name}' is {size / 1024 / 1024:.1f} MB; the dashboard takes files up to {limit / 1024 / 1024:.0f} MB "
            "(CUSTSEG_UPLOAD_MAX_MB). Run larger files with scripts/build.sh."
        )
    return suffix


def _upload_vars(upload: Path, name: str, data: bytes, settings: UploadSettings) -> tuple[dict, str]:
    """The build's vars for an upload, and its kind."""
    detected = upload_columns(name, data) if settings.kind == "auto" else None
    kind = detected.kind if detected else settings.kind
    if kind not in ("transactions", "customers"):
        raise UploadError(f"the input kind must be transactions, customers or auto, got {settings.kind!r}")
    if kind == "customers":
        # detected and no columns chosen: the ones the page proposes (numeric, not the id, not
        # constant, not an outcome)
        features = settings.features or (detected.proposed if detected else ())
        if not features:
            raise UploadError(
                "a customer table needs the columns to segment on: pick at least one numeric column"
            )
        build_vars = {"customers_path": str(upload), "segmentation_features": list(features)}
    else:
        build_vars = {"transactions_path": str(upload)}
    if settings.n_clusters:
        build_vars["n_clusters"] = int(settings.n_clusters)
    if settings.k_range:
        build_vars["k_min"], build_vars["k_max"] = (int(k) for k in settings.k_range)
    if settings.algorithm:
        build_vars["segmentation_algorithm"] = settings.algorithm
    return build_vars, kind


def run_upload(
    name: str,
    data: bytes,
    n_clusters: int | None = None,
    progress=None,
    settings: UploadSettings | None = None,
) -> UploadResult:
    """Segment an uploaded file (transactions or a customer table) in a temporary workspace of
    its own (its own warehouse, target and logs; never the main warehouse), and remove the
    workspace afterwards. ``progress(fraction, text)`` is called as dbt reports nodes. Raises
    UploadError with the build's own message when the file is refused."""

    check_upload(name, len(data))
    settings = settings or UploadSettings(n_clusters=n_clusters)
    from ..project import project_dir

    repo = project_dir()
    workspace = Path(tempfile.mkdtemp(prefix="custseg-upload-"))
    try:
        # the file keeps its own (sanitised) name, so messages name it as the user knows it
        upload = workspace / safe_upload_name(name)
        upload.write_bytes(data)
        env = workspace_env(workspace, file_log=False, CUSTSEG_MODEL_KEY_PATH=workspace / "model-signing.key")
        build_vars, kind = _upload_vars(upload, name, data, settings)
        if kind == "transactions":  # refused in a second, before dbt starts, as the build would
            problem = refusal(build_vars, workspace)
            if problem:
                raise UploadError(problem)
        # a bounded build: past the limit the child is killed, and the page says so
        limit = float(os.environ.get("CUSTSEG_UPLOAD_BUILD_SECONDS", DEFAULT_UPLOAD_BUILD_SECONDS))

        def on_event(event: dict) -> None:
            done = progress_of(event)
            if progress is not None and done is not None:
                progress(done[0], done[1][-90:])

        result = run_build(["build", "--vars", json.dumps(build_vars)], env, repo, on_event, timeout=limit)
        if result.returncode == -signal.SIGKILL:
            raise UploadError(
                f"The build of {name} took longer than {limit:.0f} s (CUSTSEG_UPLOAD_BUILD_SECONDS) and was stopped. "
                "Run larger files with scripts/build.sh."
            )
        if result.returncode != 0:
            raise UploadError(result.problem or "The build failed: " + result.log.strip()[-600:])
        serving = Path(env["CUSTSEG_SERVING_PATH"])
        segments = query(
            "select customer_id, cluster_id, segment_name, segment_description, recommended_action, confidence, "
            "recency_days, order_count, monetary_value from marts.dim_customer_segments order by customer_id",
            serving,
        )
        return UploadResult(segments, profiles(serving), result.log, k_selection(serving), kind)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
