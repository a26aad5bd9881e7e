"""What the dbt Python models of the ML layer call: table in, table out.

The layer does each piece of work once per build:

* :func:`fit_all` (model ``ml_model_registry``) reads the customers once and fits everything:
  preprocessing, the k sweep, the final clustering, its names, the plot PCA, the classifier and
  the explainable tree. It returns the registry: one row per model with its signed artifact and
  its report tables (Arrow IPC, read without unpickling by :func:`report`).
* :func:`score_all` (model ``ml_customer_scores``) reads the customers once, loads each artifact
  once, and scores every customer every way (cluster, distances, confidence, PCA coordinates,
  classifier, tree, nearest centroid).
* The report models (``seg_k_selection``, ``cls_metrics``, ...) only decode a report.

BLAS/OpenMP threads are capped (var ``ml_threads``) around the work.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.decomposition import PCA

from .clustering import SegmentationModel, fit_model, renumber
from .config import SegmentationConfig
from .naming import RFM, mark_noise, name_clusters, profile
from .preprocessing import feature_matrix, pca_loadings_table, pca_variance_table, preprocessing_table
from .registry import fingerprint, load_artifact, registry_row
from .sampling import sample_rows
from .selection import k_sweep, silhouette


def to_pandas(relation) -> pd.DataFrame:
    """A DuckDB relation, a Spark DataFrame (the custseg_spark adapter) or an Arrow object as
    pandas, moved through Arrow."""
    if hasattr(relation, "to_arrow_table"):
        table = relation.to_arrow_table()
    elif hasattr(relation, "fetch_arrow_table"):
        table = relation.fetch_arrow_table()
    elif hasattr(relation, "toArrow"):
        table = relation.toArrow()
    else:
        table = relation
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    return table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)


def read(relation, columns: str = "*", where: str | None = None) -> pd.DataFrame:
    """``select columns from relation [where ...]`` as pandas, on a DuckDB relation or a Spark
    DataFrame (``where`` is SQL written by this package, never a user's value)."""
    if where is not None:
        relation = relation.filter(where)
    if columns != "*":
        if hasattr(relation, "project"):
            relation = relation.project(columns)
        else:
            relation = relation.selectExpr(*(column.strip() for column in columns.split(",")))
    return to_pandas(relation)


def _customers(customers: pd.DataFrame, config: SegmentationConfig, training: bool = False):
    """Customers sorted by id with their feature matrix; ``training`` keeps only the customers
    first seen before ``training_cutoff_date`` (all of them when it is not set)."""
    if customers.empty:
        raise ValueError("the ML input (int_customers__segmentation_input) is empty: no customer to segment")
    customers = customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    if training:
        customers = customers[training_mask(customers, config.training_cutoff_date)].reset_index(drop=True)
        if customers.empty:
            raise ValueError(
                f"No customer was first seen before training_cutoff_date={config.training_cutoff_date}; "
                "choose a later cutoff"
            )
    return customers, feature_matrix(customers, config)


def training_mask(customers: pd.DataFrame, cutoff: str | None) -> np.ndarray:
    """True for customers used to fit: first purchase before the cutoff (everyone without one)."""
    if not cutoff:
        return np.ones(len(customers), dtype=bool)
    first = pd.to_datetime(customers["first_purchase_at"])
    return (first < pd.Timestamp(cutoff)).to_numpy()


def k_selection(customers: pd.DataFrame, config: SegmentationConfig) -> pd.DataFrame:
    customers, X = _customers(customers, config, training=True)
    from .preprocessing import build_preprocessor

    Xs = build_preprocessor(config).fit_transform(X)
    sweep, _, _ = k_sweep(Xs, config)
    return sweep


def chosen_k(sweep: pd.DataFrame) -> int:
    return int(sweep.loc[sweep["is_chosen"], "k"].iloc[0])


def train(
    customers: pd.DataFrame, sweep: pd.DataFrame, names: pd.DataFrame, config: SegmentationConfig
) -> pa.Table:
    """Fit the final model with the chosen k, name the clusters, return its registry row."""
    customers, X = _customers(customers, config, training=True)
    model, metrics, _ = _fit_segmentation(customers, X, None, sweep, names, config)
    return _segmentation_row(model, customers, X, metrics, config)


def _fit_segmentation(customers, X, fitted, sweep, names, config, previous=None):
    """The final clustering at the chosen k, renumbered best to worst and named; its metrics and
    the cluster of every row of ``X``.

    ``previous``: (centroids in feature units, names) of the version this fit replaces. With the
    same k, each new cluster takes the id and name of the previous cluster it continues (nearest
    centroids, one to one), so ids and names stay put where the segments did; with another k the
    clusters are numbered best to worst and named afresh."""
    k = chosen_k(sweep)
    if len(customers) <= k:
        raise ValueError(f"Too few customers ({len(customers)}) for k={k}: lower n_clusters / k_max.")
    model, Xs, labels = fit_model(X, k, config, fitted)
    # hdbscan: the estimator label of the noise group (the last), which is numbered last
    noise = model.estimator.found_ if getattr(model.estimator, "has_noise_", False) else None
    if len(np.unique(labels)) < k:
        raise ValueError(
            f"{config.algorithm} formed only {len(np.unique(labels))} clusters for k={k}; "
            "lower n_clusters or use segmentation_algorithm: kmeans"
        )
    scores = profile(customers, labels, k, config.features, config.value_feature)
    order = np.lexsort((scores["cluster_id"].to_numpy(), -scores["combined_score"].to_numpy()))
    matched = previous is not None and len(previous[0]) == k
    if matched:
        from .lifecycle import match_clusters

        # m[label] = the previous id that estimator label continues; id p goes to label m^-1(p)
        m = match_clusters(model.centroids, model.transform(np.asarray(previous[0], dtype=float)))
        order = np.argsort(m, kind="stable")
    elif noise is not None:
        order = np.concatenate([order[order != noise], [noise]])
    renumber(model, order)
    cluster = model.label_to_cluster[labels]
    scores = profile(customers, cluster, k, config.features, config.value_feature)
    model.names = list(previous[1]) if matched else name_clusters(scores, names)
    if noise is not None:
        model.noise_cluster = int(model.label_to_cluster[noise])
        scores, model.names = mark_noise(scores, model.names, model.noise_cluster)
    model.cluster_scores = scores.assign(segment_name=model.names)
    sil, sil_n = silhouette(Xs, cluster, config)
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    idx = sample_rows(len(Xs), config.fit_sample_size, config.random_state)
    metrics = {
        "silhouette": sil,
        "silhouette_sample_size": sil_n,
        "davies_bouldin": float(davies_bouldin_score(Xs[idx], cluster[idx])),
        "calinski_harabasz": float(calinski_harabasz_score(Xs[idx], cluster[idx])),
        "inertia": float(((Xs - model.centroids[cluster]) ** 2).sum()),
        "mean_distance_to_centroid": float(
            np.sqrt(((Xs - model.centroids[cluster]) ** 2).sum(axis=1)).mean()
        ),
        "matched_previous_version": bool(matched),
        "selection_reason": sweep.loc[sweep["is_chosen"], "selection_reason"].iloc[0],
    }
    return model, metrics, cluster


def _segmentation_row(model, customers, X, metrics, config, reports: bytes = b"", **version) -> pa.Table:
    return registry_row(
        **version,
        model_kind="segmentation",
        obj=model,
        algorithm=config.algorithm,
        n_clusters=model.k,
        features=list(config.features),
        params=config.as_dict(),
        metrics=metrics,
        training_rows=len(customers),
        training_fingerprint=fingerprint(customers["customer_id"].to_numpy(), X),
        reports=reports,
    )


def active_version(registry: pd.DataFrame) -> int:
    """The model version the latest run scored with (the latest version before any run)."""
    runs = registry[registry["model_kind"] == "run"]
    if len(runs):
        return int(runs.sort_values("run_id")["model_version"].iloc[-1])
    versions = registry.loc[registry["model_kind"] != "run", "model_version"]
    if versions.empty:
        raise ValueError("the registry holds no model")
    return int(versions.max())


def active_registry(relation, columns: str = "model_kind, model_version, run_id, reports") -> pd.DataFrame:
    """The active version's model rows of the registry relation (by default without artifacts:
    what the report models decode). The other versions' rows are never read."""
    version = int(active_version(read(relation, "model_kind, model_version, run_id")))
    return read(relation, columns, f"model_kind <> 'run' and model_version = {version}")


def model_row(registry: pd.DataFrame, kind: str, version: int) -> pd.Series:
    """The registry row of the model of ``kind`` in ``version``."""
    rows = registry[(registry["model_kind"] == kind) & (registry["model_version"] == version)]
    if len(rows) != 1:
        raise ValueError(f"expected one {kind} model of version {version} in the registry, found {len(rows)}")
    return rows.iloc[0]


def active_row(registry: pd.DataFrame, kind: str) -> pd.Series:
    """The registry row of the active version's model of ``kind``."""
    return model_row(registry, kind, active_version(registry))


def load_model(registry: pd.DataFrame, kind: str = "segmentation") -> SegmentationModel:
    row = active_row(registry, kind)
    return load_artifact(bytes(row["artifact"]), row["artifact_signature"], kind, int(row["model_version"]))


def assignments(model: SegmentationModel, customers: pd.DataFrame) -> pd.DataFrame:
    customers, X = _customers(customers, model.config)
    return _named(model, customers, model.assign(X))


def _named(model: SegmentationModel, customers: pd.DataFrame, assigned: pd.DataFrame) -> pd.DataFrame:
    """An assignment with its customer ids in front and segment names after."""
    assigned.insert(0, "customer_id", customers["customer_id"].astype(str).to_numpy())
    assigned["segment_name"] = np.asarray(model.names, dtype=object)[assigned["cluster_id"].to_numpy()]
    return assigned


def cluster_names(model: SegmentationModel) -> pd.DataFrame:
    scores = model.cluster_scores.copy()
    scores["cluster_id"] = scores["cluster_id"].astype(np.int32)
    scores["size"] = scores["size"].astype(np.int64)
    return scores


def centroids(model: SegmentationModel) -> pd.DataFrame:
    """Long table: one row per cluster and model dimension (scaled), plus original units."""
    rows = []
    steps = model.preprocessor.named_steps
    dims = (
        [f"pc_{i + 1}" for i in range(model.centroids.shape[1])] if "pca" in steps else list(model.features)
    )
    original = model.original_centroids()
    for j in range(model.k):
        for d, dim in enumerate(dims):
            rows.append(
                {
                    "cluster_id": j,
                    "segment_name": model.names[j],
                    "dimension": dim,
                    "dimension_order": d,
                    "centroid_scaled": float(model.centroids[j, d]),
                }
            )
    scaled = pd.DataFrame(rows)
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
    return out


def preprocessing(model: SegmentationModel) -> pd.DataFrame:
    return preprocessing_table(model.preprocessor, model.config)


def _scaled(model: SegmentationModel, X: np.ndarray) -> np.ndarray:
    """``X`` through the log, clip and scale steps (not the clustering PCA): what the plot PCA sees."""
    steps = model.preprocessor.named_steps
    return steps["scale"].transform(steps["clip"].transform(steps["log"].transform(X)))


def fit_plot_pca(model: SegmentationModel, X: np.ndarray) -> pd.DataFrame:
    """Fit the 3-D PCA of the scaled features (for plots) on ``X`` (every customer) and keep it on
    the model; returns the explained-variance table (plot PCA, plus the clustering PCA when
    segmentation_pca_components > 0)."""
    steps = model.preprocessor.named_steps
    scaled = _scaled(model, X)
    n_comp = min(3, scaled.shape[1])
    pca = PCA(n_components=n_comp, random_state=model.config.random_state)
    pca.fit(scaled[sample_rows(len(scaled), model.config.fit_sample_size, model.config.random_state)])
    # a fixed sign per component (largest loading positive) keeps plots stable across fits
    signs = np.sign(pca.components_[np.arange(n_comp), np.abs(pca.components_).argmax(axis=1)])
    model.plot_pca = (pca, signs)
    variance = [pca_variance_table(pca, "plot")]
    if "pca" in steps:
        variance.insert(0, pca_variance_table(steps["pca"], "clustering"))
    return pd.concat(variance, ignore_index=True)


def plot_coordinates(model: SegmentationModel, X: np.ndarray) -> np.ndarray:
    """Every row's 3 plot-PCA coordinates (nan beyond the number of features)."""
    pca, signs = model.plot_pca
    coords = pca.transform(_scaled(model, X)) * signs
    out = np.full((len(X), 3), np.nan)
    out[:, : coords.shape[1]] = coords
    return out


def pca_projection(model: SegmentationModel, customers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """3-D PCA of the scaled features for plots, and the explained-variance table."""
    customers, X = _customers(customers, model.config)
    variance = fit_plot_pca(model, X)
    coords = plot_coordinates(model, X)
    frame = pd.DataFrame({"customer_id": customers["customer_id"].astype(str).to_numpy()})
    for i in range(3):
        frame[f"pc_{i + 1}"] = coords[:, i]
    return frame, variance


# -- the pseudo-label classifier (issue 4) ---------------------------------------------------


def train_classifiers(
    customers: pd.DataFrame,
    assignments: pd.DataFrame,
    seg_model: SegmentationModel,
    seg_config: SegmentationConfig,
    cls_config,
    **version,
) -> pa.Table:
    """Fit the configured classifier and the explainable decision tree on the cluster labels of
    the training customers; return two registry rows (kinds 'classifier' and 'classifier_tree')
    with the holdout reports (and the tree's rules) as report tables."""
    from dataclasses import replace

    from .classifier import train_classifier

    customers = customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    customers = customers[training_mask(customers, seg_config.training_cutoff_date)].reset_index(drop=True)
    labels = (
        assignments.set_index("customer_id")
        .loc[customers["customer_id"].astype(str), "cluster_id"]
        .to_numpy()
    )
    rows = []
    for kind, cfg in (
        ("classifier", cls_config),
        ("classifier_tree", replace(cls_config, classifier="decision_tree")),
    ):
        model, reports = train_classifier(customers, labels, seg_model.names, cfg)
        if kind == "classifier_tree":
            reports = {**reports, "tree_rules": tree_rules(model)}
        metrics = dict(zip(reports["metrics"]["metric"], reports["metrics"]["value"], strict=True))
        rows.append(
            registry_row(
                **version,
                model_kind=kind,
                obj=model,
                algorithm=cfg.classifier,
                n_clusters=seg_model.k,
                features=model.encoder.columns,
                params={**cfg.__dict__, "training_cutoff_date": seg_config.training_cutoff_date},
                metrics=metrics,
                training_rows=len(customers),
                training_fingerprint=fingerprint(
                    customers["customer_id"].to_numpy(), model.encoder.transform(customers)
                ),
                reports=encode_reports(reports),
            )
        )
    return pa.concat_tables(rows)


def tree_rules(tree) -> pd.DataFrame:
    """The explainable decision tree as a rule table, with its whole SQL case expression."""
    from .rules import rule_table, tree_case_sql

    table = rule_table(tree)
    table["tree_case_sql"] = tree_case_sql(tree)
    return table


# -- the ML layer in two passes: fit once, score once ------------------------------------------


def ml_threads(config: SegmentationConfig):
    """Caps BLAS and OpenMP threads (scikit-learn, numpy) for a block: var ``ml_threads``.

    The Python models run inside dbt beside DuckDB, which already uses every core, and OpenMP
    workers busy-wait: with another build on the machine the same work took 66 s with default
    threads and 20 s with one (docs/benchmarks.md)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=config.ml_threads)


def fit_all(
    customers: pd.DataFrame,
    names: pd.DataFrame,
    config: SegmentationConfig,
    cls_config,
    previous: tuple | None = None,
    **version,
) -> pa.Table:
    """Everything the build fits, once: the registry rows of the segmentation model, the
    classifier and the tree, each with its report tables. ``previous``: (centroids in feature
    units, names) of the version being replaced, whose ids and names a same-k fit keeps;
    ``version``: model_version, run_id, as_of_date of the rows."""
    from .lifecycle import training_profile

    with ml_threads(config):
        everyone, X_all = _customers(customers, config)
        mask = training_mask(everyone, config.training_cutoff_date)
        training, X = everyone[mask].reset_index(drop=True), X_all[mask]
        if training.empty:
            raise ValueError(
                f"No customer was first seen before training_cutoff_date={config.training_cutoff_date}; "
                "choose a later cutoff"
            )
        from .preprocessing import build_preprocessor

        pre = build_preprocessor(config)
        Xs = pre.fit_transform(X)
        sweep, _, _ = k_sweep(Xs, config)
        model, metrics, cluster = _fit_segmentation(training, X, (pre, Xs), sweep, names, config, previous)
        variance = fit_plot_pca(model, X_all)
        reports = {
            "k_selection": sweep,
            "preprocessing": preprocessing(model),
            "pca_loadings": pca_loadings_table(model.preprocessor, model.config),
            "centroids": centroids(model),
            "cluster_names": cluster_names(model),
            "pca_variance": variance,
            "training_profile": training_profile(X, config.features),
        }
        segmentation = _segmentation_row(
            model, training, X, metrics, config, encode_reports(reports), **version
        )
        labels = pd.DataFrame(
            {
                "customer_id": training["customer_id"].astype(str).to_numpy(),
                "cluster_id": cluster.astype(np.int32),  # the fit's own labels, not a second pass
            }
        )
        classifiers = train_classifiers(training, labels, model, config, cls_config, **version)
    return pa.concat_tables([segmentation, classifiers])


def run(
    customers: pd.DataFrame,
    names: pd.DataFrame,
    previous: pd.DataFrame,
    config: SegmentationConfig,
    cls_config,
    lifecycle,
) -> pa.Table:
    """The ML layer's step of one build (model ``ml_model_registry``, appended to ``previous``,
    the registry so far): nothing when neither the customers nor the settings changed since the
    last run; else a run row with the drift against the active model and, when the lifecycle
    decides to fit (segmentation.lifecycle.decide), the rows of a new model version."""
    from .lifecycle import decide, measure_drift, overall_status
    from .registry import empty_registry, run_row

    everyone, X_all = _customers(customers, config)
    first = everyone["as_of_date"].iloc[0]
    as_of = None if pd.isna(first) else str(pd.Timestamp(first).date())  # a table without dates
    data_print = fingerprint(everyone["customer_id"].to_numpy(), X_all)[:48] + "@" + (as_of or "")
    runs = previous[previous["model_kind"] == "run"].sort_values("run_id")
    models = previous[previous["model_kind"] == "segmentation"]
    run_id = int(runs["run_id"].max()) + 1 if len(runs) else 1
    new_version = int(models["model_version"].max()) + 1 if len(models) else 1
    if lifecycle.pinned_version is not None:
        if lifecycle.pinned_version not in set(models["model_version"]):
            raise ValueError(
                f"segmentation_model_version {lifecycle.pinned_version} is not in the registry; versions: "
                f"{sorted(int(v) for v in models['model_version'])} (marts.dim_segmentation_models)"
            )
        reference_version = lifecycle.pinned_version
    else:
        reference_version = active_version(previous) if len(models) else None
    reference = (
        model_row(previous, "segmentation", reference_version) if reference_version is not None else None
    )
    reference_config = _config_of(reference) if reference is not None else None
    last = runs.iloc[-1] if len(runs) else None
    changed = last is None or last["training_fingerprint"] != data_print
    same_model = last is not None and int(last["model_version"]) == reference_version
    settings_changed = (
        reference_config is not None and reference_config.fit_settings() != config.fit_settings()
    )
    if lifecycle.mode != "refit" and not changed and same_model and not settings_changed:
        return empty_registry()

    with ml_threads(config):
        drift = status = None
        if reference is not None:
            reference_reports = decode_reports(bytes(reference["reports"]))
            X_ref = feature_matrix(everyone, reference_config)
            drift = measure_drift(X_ref, reference_reports, json.loads(reference["metrics"]), reference_config,
                                  lifecycle)  # fmt: skip
            status = overall_status(drift)
        decision = decide(lifecycle, reference is not None, status, changed, settings_changed)
    rows = []
    version = reference_version
    if decision == "fit":
        version = new_version
        prior = None
        if reference is not None:
            cen = reference_reports["centroids"].drop_duplicates("cluster_id").sort_values("cluster_id")
            wide = reference_reports["centroids"].pivot(
                index="cluster_id", columns="dimension", values="centroid_original"
            )
            if set(config.features) <= set(wide.columns) and reference_config.features == config.features:
                prior = (wide.sort_index()[list(config.features)].to_numpy(), cen["segment_name"].tolist())
        fitted = fit_all(
            customers,
            names,
            config,
            cls_config,
            prior,
            model_version=version,
            run_id=run_id,
            as_of_date=as_of,
        )
        rows.append(fitted)
        if drift is None:  # the first model: its run measures the data against its own fit
            seg = fitted.filter(pc.equal(fitted["model_kind"], "segmentation")).to_pandas().iloc[0]
            with ml_threads(config):
                drift = measure_drift(X_all, decode_reports(bytes(seg["reports"])), json.loads(seg["metrics"]),
                                      config, lifecycle)  # fmt: skip
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


def registry_frame(previous: pd.DataFrame | None) -> pd.DataFrame:
    """The registry so far as pandas (an empty one with the registry's columns before the first run)."""
    from .registry import empty_registry

    return empty_registry().to_pandas() if previous is None else previous


def _config_of(row: pd.Series) -> SegmentationConfig:
    """The segmentation settings a registered model was fitted with."""
    params = json.loads(row["params"])
    return SegmentationConfig(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in params.items()
            if k in SegmentationConfig.__dataclass_fields__
        }
    )


def score_all(customers: pd.DataFrame, registry: pd.DataFrame, config: SegmentationConfig) -> pd.DataFrame:
    """Every customer scored once, every way: the segmentation model's cluster, distances and
    confidence, the plot-PCA coordinates, the classifier, the tree and the nearest centroid.
    Each artifact is loaded (signature checked) once."""
    with ml_threads(config):
        seg_model = load_model(registry)
        clf = load_model(registry, "classifier")
        tree = load_model(registry, "classifier_tree")
        customers, X = _customers(customers, seg_model.config)
        Xs = seg_model.transform(X)
        dist = seg_model.centroid_distances(Xs)  # once, for the assignment and the nearest centroid
        out = _named(seg_model, customers, seg_model.assign_transformed(Xs, dist))
        coords = plot_coordinates(seg_model, X)
        for i in range(3):
            out[f"pc_{i + 1}"] = coords[:, i]
        names = np.asarray(seg_model.names, dtype=object)
        nearest = dist.argmin(axis=1)
        by_clf = clf.predict(customers)
        by_tree = tree.predict(customers)
        out["is_training_customer"] = training_mask(customers, config.training_cutoff_date)
        out["classifier_cluster_id"] = by_clf["cluster_id"].to_numpy()
        out["classifier_segment"] = by_clf["segment_name"].to_numpy()
        out["classifier_confidence"] = by_clf["confidence"].to_numpy()
        out["tree_cluster_id"] = by_tree["cluster_id"].to_numpy()
        out["centroid_cluster_id"] = nearest.astype(np.int32)
        out["centroid_segment"] = names[nearest]
        out["centroid_distance"] = dist[np.arange(len(X)), nearest]
    return out


def encode_reports(tables: dict[str, pd.DataFrame]) -> bytes:
    """Report tables as one Arrow IPC stream of (name, IPC stream of the table): exact values,
    and nothing that runs code when read back (unlike a pickle)."""

    def ipc(table: pa.Table) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()

    payloads = [ipc(pa.Table.from_pandas(frame, preserve_index=False)) for frame in tables.values()]
    return ipc(
        pa.table({"name": pa.array(list(tables), pa.string()), "payload": pa.array(payloads, pa.binary())})
    )


def _payloads(blob: bytes) -> dict[str, bytes]:
    """The report tables of a ``reports`` blob, by name, still encoded."""
    outer = pa.ipc.open_stream(pa.py_buffer(blob)).read_all().to_pydict()
    return dict(zip(outer["name"], outer["payload"], strict=True))


def _table(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()


def decode_report(blob: bytes, name: str) -> pa.Table:
    payloads = _payloads(blob)
    if name not in payloads:
        raise ValueError(f"the registry has no report {name!r} (it has {list(payloads)})")
    return _table(payloads[name])


def report(registry: pd.DataFrame, kind: str, name: str) -> pa.Table:
    """One report table of the active version's model of ``kind``; no artifact is loaded."""
    return decode_report(bytes(active_row(registry, kind)["reports"]), name)


def decode_reports(blob: bytes) -> dict[str, pd.DataFrame]:
    """Every report table of a ``reports`` blob, as pandas."""
    return {name: _table(payload).to_pandas() for name, payload in _payloads(blob).items()}


def drift_report(registry: pd.DataFrame) -> pd.DataFrame:
    """Every run's drift measures, with the run's date, model version, decision and status."""
    runs = registry[registry["model_kind"] == "run"].sort_values("run_id")
    frames = []
    for run in runs.itertuples():
        drift = decode_reports(bytes(run.reports))["drift"]
        drift.insert(0, "run_id", np.int32(run.run_id))
        drift.insert(1, "as_of_date", run.as_of_date)
        drift.insert(2, "model_version", np.int32(run.model_version))
        drift["decision"] = run.decision
        drift["run_status"] = run.drift_status
        frames.append(drift)
    if not frames:
        raise ValueError("the registry holds no run")
    out = pd.concat(frames, ignore_index=True)
    out["run_id"] = out["run_id"].astype(np.int32)
    out["model_version"] = out["model_version"].astype(np.int32)
    return out


__all__ = [
    "RFM",
    "assignments",
    "centroids",
    "chosen_k",
    "cluster_names",
    "fit_all",
    "k_selection",
    "load_model",
    "pca_projection",
    "preprocessing",
    "report",
    "score_all",
    "to_pandas",
    "train",
]
