"""The ML layer's step of one build (model ``ml_model_registry``): decide, measure, maybe fit.

Appended to the registry so far: nothing when neither the customers nor the settings changed
since the last run; else a ``run`` row with the drift against the reference model (the pinned
``segmentation_model_version``, or the version the last run scored with: the active version,
the rule ``ml_active_models`` states in SQL) and, when the lifecycle decides to fit
(``lifecycle.decide``), the rows of a new model version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..ml_lifecycle import LifecycleConfig
from .centroids import CentroidModel
from .config import ClassifierConfig, SegmentationConfig
from .fit import Prior, customer_matrix, fit_all, ml_threads
from .lifecycle import decide, measure_drift, overall_status
from .preprocessing import feature_matrix
from .registry import empty_registry, fingerprint, run_row
from .reports import decode_reports, encode_reports


def registry_frame(previous: pd.DataFrame | None) -> pd.DataFrame:
    """The registry so far as pandas (an empty one with the registry's columns before the first
    run). A registry whose reports are bytes was written by a release that stored them as Arrow
    IPC: it is refused, saying how to convert it (custseg upgrade-registry)."""
    if previous is None:
        return empty_registry().to_pandas()
    if any(isinstance(value, (bytes, bytearray, memoryview)) for value in previous["reports"]):
        raise ValueError(
            "ml_model_registry was written by an earlier release of custseg (reports stored as Arrow "
            "IPC, now JSON that SQL reads). Convert it once, keeping every model version: "
            "custseg upgrade-registry --db <the working database, CUSTSEG_DB_PATH>; then build again."
        )
    return previous


def config_of(row: pd.Series) -> SegmentationConfig:
    """The segmentation settings a registered model was fitted with."""
    params = json.loads(row["params"])
    return SegmentationConfig(
        **{k: _frozen(v) for k, v in params.items() if k in SegmentationConfig.model_fields}
    )


def _frozen(value):
    """JSON lists back to the tuples a config holds (nested: column_labels' pairs)."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


@dataclass
class Reference:
    """The model a run is judged against, and what the run needs of it."""

    version: int
    row: pd.Series
    config: SegmentationConfig

    @cached_property
    def reports(self) -> dict[str, pd.DataFrame]:
        """Its reports, decoded once (the drift and the prior of a refit both read them)."""
        return decode_reports(self.row["reports"])

    def drift(self, X: np.ndarray, lifecycle: LifecycleConfig) -> pd.DataFrame:
        """The drift of the customers ``X`` (this model's features, raw) against its training."""
        return measure_drift(X, self.reports, json.loads(self.row["metrics"]), self.config, lifecycle)

    def prior(self, config: SegmentationConfig) -> Prior | None:
        """What a refit needs to continue this version's clusters (their customers by the
        nearest-centroid rule of its numeric reports, its names), when the new fit uses the same
        features; None otherwise (every cluster is new)."""
        if self.config.features != config.features:
            return None
        reports = self.reports
        model = CentroidModel(reports["preprocessing"], reports["centroids"], reports.get("pca_loadings"))
        names = reports["cluster_names"].sort_values("cluster_id")["segment_name"].tolist()
        return Prior(model, names, self.version)


def reference_model(previous: pd.DataFrame, lifecycle: LifecycleConfig) -> Reference | None:
    """The pinned version, else the version of the last run (None before the first fit)."""
    models = previous[previous["model_kind"] == "segmentation"]
    if models.empty:
        if lifecycle.pinned_version is not None:
            raise ValueError(
                f"segmentation_model_version {lifecycle.pinned_version} is not in the registry: it "
                "holds no model yet (leave the setting empty for the first build)"
            )
        return None
    if lifecycle.pinned_version is not None:
        if lifecycle.pinned_version not in set(models["model_version"]):
            raise ValueError(
                f"segmentation_model_version {lifecycle.pinned_version} is not in the registry; versions: "
                f"{sorted(int(v) for v in models['model_version'])} (marts.dim_segmentation_models)"
            )
        version = lifecycle.pinned_version
    else:
        runs = previous[previous["model_kind"] == "run"].sort_values("run_id")
        version = int(runs["model_version"].iloc[-1] if len(runs) else models["model_version"].max())
    row = models[models["model_version"] == version].iloc[0]
    return Reference(version, row, config_of(row))


def snapshot(everyone: pd.DataFrame, X: np.ndarray) -> tuple[str | None, str]:
    """The customers' as-of date (None for a table without dates) and the print of the data a
    run saw (ids, features and date): a build whose print equals the last run's changed nothing."""
    first = everyone["as_of_date"].iloc[0]
    as_of = None if pd.isna(first) else str(pd.Timestamp(first).date())
    return as_of, fingerprint(everyone["customer_id"].to_numpy(), X)[:48] + "@" + (as_of or "")


def run(
    customers: pd.DataFrame,
    names: pd.DataFrame,
    previous: pd.DataFrame,
    config: SegmentationConfig,
    cls_config: ClassifierConfig,
    lifecycle: LifecycleConfig,
    # long: one run read top to bottom (snapshot, decide, measure drift, maybe fit, record)
    evidence: pd.DataFrame | None = None,
) -> pa.Table:
    """The rows this build appends to ``previous`` (the registry so far). ``evidence``: what the
    value models expect of each customer, for the names to agree with (ml_segment_evidence)."""
    everyone, X_all = customer_matrix(customers, config)
    as_of, data_print = snapshot(everyone, X_all)
    runs = previous[previous["model_kind"] == "run"].sort_values("run_id")
    models = previous[previous["model_kind"] == "segmentation"]
    reference = reference_model(previous, lifecycle)
    last = runs.iloc[-1] if len(runs) else None
    changed = last is None or last["training_fingerprint"] != data_print
    same_model = (
        last is not None and reference is not None and int(last["model_version"]) == reference.version
    )
    settings_changed = reference is not None and reference.config.fit_settings() != config.fit_settings()
    if lifecycle.mode != "refit" and not changed and same_model and not settings_changed:
        return empty_registry()

    drift = status = None
    with ml_threads(config):
        if reference is not None:
            drift = reference.drift(feature_matrix(everyone, reference.config), lifecycle)
            status = overall_status(drift)
    decision = decide(lifecycle, reference is not None, status, changed, settings_changed)
    run_id = int(runs["run_id"].max()) + 1 if len(runs) else 1
    version = reference.version if reference is not None else None
    rows = []
    if decision == "fit":
        version = int(models["model_version"].max()) + 1 if len(models) else 1
        prior = reference.prior(config) if reference is not None else None
        fitted = fit_all(
            customers,
            names,
            config,
            cls_config,
            prior,
            evidence,
            model_version=version,
            run_id=run_id,
            as_of_date=as_of,
        )
        rows.append(fitted)
        if drift is None:  # the first model: its run measures the data against its own fit
            row = fitted.filter(pc.equal(fitted["model_kind"], "segmentation")).to_pandas().iloc[0]
            with ml_threads(config):
                drift = Reference(version, row, config).drift(X_all, lifecycle)
            status = overall_status(drift)
    rows.append(
        run_row(
            run_id=run_id,
            model_version=version,
            as_of_date=as_of,
            decision=decision,
            drift_status=status,
            data_fingerprint=data_print,
            customers=len(everyone),
            reports=encode_reports({"drift": drift}),
        )
    )
    return pa.concat_tables(rows)
