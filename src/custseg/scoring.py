"""Scoring new customers with the registered models (the ``custseg score`` command).

Input: a CSV/Parquet file of customer features (the columns of the ``dim_customers`` mart), or
one customer as a JSON object. Output: customer_id, cluster_id, segment_name, confidence,
scoring_rule. The segmentation model needs only its features (default recency_days,
order_count, monetary_value); the classifier needs the numeric customer features and country.
Problems are reported as ``ScoringError`` naming the missing or invalid fields. A transactions
file is scored in the warehouse's context (:func:`score_in_context`).

The segmentation model is applied from the numeric marts (``dim_segmentation_preprocessing``,
``dim_segment_centroids``): nearest centroid, the same arithmetic as the SQL scorer, and nothing
is unpickled. The classifiers exist only as artifacts; they are loaded only when their HMAC
signature verifies with the key kept outside the database (see ``segmentation.registry``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .segmentation.centroids import NEAREST_CENTROID, CentroidModel
from .segmentation.config import NON_NEGATIVE_FEATURES
from .warehouse import open_warehouse

MODEL_KINDS = ("segmentation", "classifier", "classifier_tree")


class ScoringError(ValueError):
    """Bad scoring input; the message names the fields."""


def fetch_registered(db_path: str, kind: str) -> tuple[str, bytes, str, str, int]:
    """(model_id, artifact bytes, SHA-256, signature, model_version) of the active version's
    model of ``kind``."""
    import duckdb

    if kind not in MODEL_KINDS:
        raise ScoringError(f"model kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    con = open_warehouse(db_path)
    try:
        row = con.execute(
            "select model_id, artifact, artifact_sha256, artifact_signature, model_version "
            "from marts.dim_segmentation_model_artifacts where model_kind = ? and is_active",
            [kind],
        ).fetchone()
    except duckdb.Error as exc:
        raise ScoringError(
            f"{db_path!r} has no marts.dim_segmentation_model_artifacts; run dbt build first"
        ) from exc
    finally:
        con.close()
    if row is None:
        raise ScoringError(f"no {kind} model is registered in {db_path!r}")
    return row[0], bytes(row[1]), row[2], row[3], int(row[4])


def load_registered(db_path: str, kind: str):
    """The model to score with: the segmentation model from its numeric tables (nothing
    unpickled), a classifier from its artifact once the signature verifies."""
    if kind == "segmentation":
        return centroid_model(db_path)
    from .segmentation.registry import load_artifact

    _, blob, _, signature, version = fetch_registered(db_path, kind)
    return load_artifact(blob, signature, kind, version)


def centroid_model(db_path: str) -> CentroidModel:
    """The active segmentation model of a warehouse, from its numeric marts (nothing unpickled)."""
    import duckdb

    con = open_warehouse(db_path)
    try:
        pre = con.execute("select * from marts.dim_segmentation_preprocessing").df()
        cen = con.execute("select * from marts.dim_segment_centroids").df()
        loadings = con.execute("select * from marts.dim_segmentation_pca_loadings").df()
    except duckdb.Error as exc:
        raise ScoringError(f"{db_path!r} has no segmentation tables; run dbt build first") from exc
    finally:
        con.close()
    if pre.empty or cen.empty:
        raise ScoringError(f"{db_path!r} has no fitted segmentation model; run dbt build first")
    return CentroidModel(pre, cen, loadings)


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


def project_dir() -> Path:
    """The dbt project (custseg.project.project_dir), failing as a ScoringError."""
    from .project import ProjectError
    from .project import project_dir as find

    try:
        return find()
    except ProjectError as exc:
        raise ScoringError(str(exc)) from exc


def looks_like_transactions(path: str) -> bool:
    """A file the build could read as transaction lines (a customer id, a date, amounts), not a
    file of customer features."""
    from .inputs.transactions import probe_path

    return bool(probe_path(path)["ok"])


# the marts custseg score reads from the throw-away copy it builds (not from the warehouse)
CONTEXT_MARTS = ("fct_transactions",)
CONTEXT_COLUMNS = (
    "customer_id, cluster_id, segment_name, confidence, recency_days, order_count, monetary_value, as_of_date"
)


def score_in_context(
    path: str, db_path: str, variables: dict | None = None, as_of_date: str | None = None
) -> pd.DataFrame:
    """The segments of a transactions file's customers as the next build would give them, without
    writing to the warehouse: a throw-away copy of the warehouse loads the file as its next batch
    in ``segmentation_mode: score`` (the build's own SQL and the active model: each customer's
    features from his stored history plus the file's lines, snapshot by the build's rule), and
    the file's customers are read back with ``had_history`` (whether the warehouse held lines of
    them before). The copy keeps the warehouse's tables only: its views and macros are dropped
    before dbt runs (dbt recreates its own), so nothing defined in the file runs. A file the
    warehouse already holds is a batch it skips: its customers' segments are then those the
    warehouse gives them (at the same snapshot)."""
    import shutil
    import tempfile

    from .inputs.files import file_fingerprint
    from .workspace import dbt_executable, run_build, workspace_env

    project = project_dir()
    try:
        dbt_executable()
    except FileNotFoundError as exc:
        raise ScoringError(str(exc)) from None
    if not os.path.isfile(path):
        raise ScoringError(f"input file {path!r} does not exist")
    known = _known_customers(db_path)
    settings = dict(variables or {})
    settings.update(transactions_path=os.path.abspath(path), segmentation_mode="score", publish=False)
    if as_of_date:
        settings["as_of_date"] = as_of_date
    with tempfile.TemporaryDirectory(prefix="custseg-score-") as tmp:
        _refuse_what_the_build_would(settings, tmp)
        env = workspace_env(tmp, context_copy_name(db_path), file_log=False)
        shutil.copyfile(db_path, env["CUSTSEG_DB_PATH"])
        os.chmod(env["CUSTSEG_DB_PATH"], 0o600)  # the published copy is read-only
        _tables_only(env["CUSTSEG_DB_PATH"])
        args = ["build", "--select", "+dim_customer_segments", "fct_transactions", "--exclude", "test_type:unit",
                "--indirect-selection", "cautious", "--vars", json.dumps(settings, default=str),
                "--project-dir", str(project), "--profiles-dir", str(project)]  # fmt: skip
        result = run_build(args, env, project)
        if result.returncode != 0:
            raise ScoringError(
                f"cannot score {path!r} in the warehouse's context: {result.problem or result.log[-1000:]}"
            )
        con = open_warehouse(env["CUSTSEG_DB_PATH"])
        try:
            frame = con.execute(
                f"select {CONTEXT_COLUMNS} from marts.dim_customer_segments where customer_id in ("
                "select customer_id from marts.fct_transactions where file_fingerprint = ?) "
                "order by customer_id",
                [file_fingerprint(path)],
            ).df()
        finally:
            con.close()
    frame.insert(4, "had_history", frame["customer_id"].isin(known))
    frame.insert(5, "scoring_rule", "model")  # the build's own assignment (ml_customer_scores)
    return frame


def _refuse_what_the_build_would(settings: dict, tmp: str) -> None:
    """The file refused in a second, before the warehouse is copied and dbt starts, with the
    message the build's pre-flight would give (inputs.transactions.refusal, as the upload does)."""
    from .inputs.transactions import refusal

    problem = refusal(settings, tmp)
    if problem:
        raise ScoringError(problem)


def context_copy_name(db_path: str) -> str:
    """The throw-away copy's file name: the warehouse's, with every character dbt cannot have in
    a database name (DuckDB names it after the file; a quote breaks dbt-duckdb's SQL) as '_'."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(db_path))


def _known_customers(db_path: str) -> set[str]:
    """The customers a transactions warehouse holds (refusing a customer-table warehouse)."""
    import duckdb

    con = open_warehouse(db_path)
    try:
        rows = con.execute(
            "select customer_id, recency_days is not null from marts.dim_customer_segments"
        ).fetchall()
    except duckdb.Error as exc:
        raise ScoringError(f"{db_path!r} has no segment tables; run dbt build first") from exc
    finally:
        con.close()
    if rows and not any(has_purchases for _, has_purchases in rows):
        raise ScoringError(
            f"{db_path!r} was built from a customer table, not transactions: score a file of its "
            "customer features instead"
        )
    return {customer for customer, _ in rows}


def _tables_only(db_path: str) -> None:
    """Drop every view and macro of a warehouse copy, without running any of them: what the
    copy keeps is data; the build recreates the views it needs from the project's SQL."""
    import duckdb

    from .inputs.quoting import sql_identifier
    from .warehouse import LOCKED_CONFIG

    con = duckdb.connect(db_path, config=dict(LOCKED_CONFIG))
    try:
        for schema, name, kind in con.execute(
            "select schema_name, view_name, 'view' from duckdb_views() where not internal union all "
            "select schema_name, function_name, case when function_type = 'table_macro' then 'macro table' "
            "else 'macro' end from duckdb_functions() where not internal and function_type in "
            "('macro', 'table_macro') order by all"
        ).fetchall():
            con.execute(f"drop {kind} if exists {sql_identifier(schema)}.{sql_identifier(name)} cascade")
    finally:
        con.close()


def _shown(value) -> str:
    """A value as a message shows it: text quoted, numbers as written (nan, inf, -30.0)."""
    return repr(value) if isinstance(value, str) else str(value)


def check_numeric(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """``frame`` with ``fields`` as numbers, or a ScoringError naming each field that is missing,
    not a finite number, or negative where no customer can be (days, counts, gross amounts:
    NON_NEGATIVE_FEATURES). The CLI and the dashboard's score form refuse the same values."""
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise ScoringError(f"missing field(s): {', '.join(missing)} (required: {', '.join(fields)})")
    out = frame.copy()
    invalid, negative = [], []
    for f in fields:
        values = pd.to_numeric(out[f], errors="coerce")
        if values.isna().any() or not np.isfinite(values).all():
            rows = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.fillna(0).to_numpy()))
            invalid.append(f"{f} (row {int(rows[0]) + 1}: {_shown(frame[f].iloc[rows[0]])})")
        elif f in NON_NEGATIVE_FEATURES and (values < 0).any():
            row = int(np.flatnonzero((values < 0).to_numpy())[0])
            negative.append(f"{f} (row {row + 1}: {_shown(frame[f].iloc[row])})")
        out[f] = values
    if invalid:
        raise ScoringError(f"invalid value in field(s): {', '.join(invalid)}; finite numbers are required")
    if negative:
        raise ScoringError(
            f"negative value in field(s): {', '.join(negative)}; days, counts and gross amounts cannot be negative"
        )
    return out


def score(frame: pd.DataFrame, model, kind: str) -> pd.DataFrame:
    ids = (
        frame["customer_id"].astype(str)
        if "customer_id" in frame
        else pd.Series([str(i + 1) for i in range(len(frame))])
    )
    if kind == "segmentation":
        features = list(model.features)
        clean = check_numeric(frame, features)
        result = model.assign(clean[features].to_numpy(dtype=float))
        names = np.asarray(model.names, dtype=object)[result["cluster_id"].to_numpy()]
        out = pd.DataFrame(
            {"cluster_id": result["cluster_id"], "segment_name": names, "confidence": result["confidence"]}
        )
        out["scoring_rule"] = NEAREST_CENTROID  # the model's own rule for KMeans/Ward only
    else:
        clean = check_numeric(frame, list(model.encoder.numeric))
        if "country" not in clean.columns:
            raise ScoringError("missing field(s): country")
        clean["country"] = clean["country"].fillna("Unknown").astype(str)
        out = model.predict(clean)
        out["scoring_rule"] = kind
    out.insert(0, "customer_id", ids.to_numpy())
    return out.reset_index(drop=True)
