"""The one fit of a build (model ``ml_model_registry``): the customers in, registry rows out.

:func:`fit_all` reads the customers once and fits everything: preprocessing, the k sweep, the
final clustering and its names, the plot PCA, the classifier and the explainable tree. Each model
becomes one registry row with its signed artifact and its reports (JSON, see ``reports``).
BLAS/OpenMP threads are capped (var ``ml_threads``) around the work.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from .centroids import CentroidModel
from .classifier import train_classifier
from .clustering import fit_model, renumber
from .config import ClassifierConfig, SegmentationConfig
from .lifecycle import match_clusters, training_profile, training_tails
from .naming import mark_noise, name_clusters, profile
from .preprocessing import build_preprocessor, feature_matrix, pca_loadings_table
from .projection import fit_plot_pca
from .registry import fingerprint, registry_row
from .reports import centroids, cluster_names, encode_reports, preprocessing
from .rules import rule_table, tree_case_sql
from .sampling import sample_rows
from .selection import k_sweep, silhouette


def ml_threads(config: SegmentationConfig):
    """Caps BLAS and OpenMP threads (scikit-learn, numpy) for a block: var ``ml_threads``.

    The Python models run inside dbt beside DuckDB, which already uses every core, and OpenMP
    workers busy-wait: with another build on the machine the same work took 66 s with default
    threads and 20 s with one (docs/benchmarks.md)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=config.ml_threads)


def customer_matrix(customers: pd.DataFrame, config: SegmentationConfig):
    """Customers sorted by id (the order every table of the layer uses) and their feature matrix."""
    if customers.empty:
        raise ValueError("the ML input (int_customers__segmentation_input) is empty: no customer to segment")
    customers = customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return customers, feature_matrix(customers, config)


def training_mask(customers: pd.DataFrame, cutoff: str | None) -> np.ndarray:
    """True for customers used to fit: first purchase before the cutoff (everyone without one)."""
    if not cutoff:
        return np.ones(len(customers), dtype=bool)
    first = pd.to_datetime(customers["first_purchase_at"])
    return (first < pd.Timestamp(cutoff)).to_numpy()


def chosen_k(sweep: pd.DataFrame) -> int:
    return int(sweep.loc[sweep["is_chosen"], "k"].iloc[0])


def _order_clusters(model, labels, customers, config, previous):
    """The estimator labels in cluster-id order: best to worst customers (combined R/F/M score,
    noise last), or, with ``previous`` of the same k, each new cluster in the place of the
    previous cluster it continues (nearest centroids, one to one). Returns (order, matched)."""
    scores = profile(
        customers, labels, model.k, config.features, config.value_feature, dict(config.column_labels)
    )
    order = np.lexsort((scores["cluster_id"].to_numpy(), -scores["combined_score"].to_numpy()))
    if previous is not None and len(previous[0]) == model.k:
        # m[label] = the previous id that estimator label continues; id p goes to label m^-1(p)
        m = match_clusters(model.centroids, model.transform(np.asarray(previous[0], dtype=float)))
        return np.argsort(m, kind="stable"), True
    noise = model.estimator.found_ if getattr(model.estimator, "has_noise_", False) else None
    if noise is not None:
        order = np.concatenate([order[order != noise], [noise]])
    return order, False


def _fit_metrics(model, Xs, cluster, sweep, config, matched) -> dict:
    sil, sil_n = silhouette(Xs, cluster, config)
    idx = sample_rows(len(Xs), config.fit_sample_size, config.random_state)
    squared = (Xs - model.centroids[cluster]) ** 2
    return {
        "silhouette": sil,
        "silhouette_sample_size": sil_n,
        "davies_bouldin": float(davies_bouldin_score(Xs[idx], cluster[idx])),
        "calinski_harabasz": float(calinski_harabasz_score(Xs[idx], cluster[idx])),
        "inertia": float(squared.sum()),
        "mean_distance_to_centroid": float(np.sqrt(squared.sum(axis=1)).mean()),
        "matched_previous_version": bool(matched),
        "selection_reason": sweep.loc[sweep["is_chosen"], "selection_reason"].iloc[0],
    }


def fit_segmentation(customers, X, fitted, sweep, names, config, previous=None):
    """The final clustering at the chosen k, renumbered and named; its metrics and the cluster of
    every row of ``X``. ``fitted``: the preprocessor fitted on ``X`` and its output.

    ``previous``: (centroids in feature units, names) of the version this fit replaces. With the
    same k, each new cluster takes the id and name of the previous cluster it continues, so ids
    and names stay put where the segments did; with another k the clusters are numbered best to
    worst and named afresh."""
    k = chosen_k(sweep)
    if len(customers) <= k:
        raise ValueError(f"Too few customers ({len(customers)}) for k={k}: lower n_clusters / k_max.")
    model, Xs, labels = fit_model(X, k, config, fitted)
    if len(np.unique(labels)) < k:
        raise ValueError(
            f"{config.algorithm} formed only {len(np.unique(labels))} clusters for k={k}; "
            "lower n_clusters or use segmentation_algorithm: kmeans"
        )
    order, matched = _order_clusters(model, labels, customers, config, previous)
    renumber(model, order)
    cluster = model.label_to_cluster[labels]
    scores = profile(customers, cluster, k, config.features, config.value_feature, dict(config.column_labels))
    model.names = list(previous[1]) if matched else name_clusters(scores, names)
    if getattr(model.estimator, "has_noise_", False):
        # hdbscan: the noise group (the estimator's last label) keeps its own name
        model.noise_cluster = int(model.label_to_cluster[model.estimator.found_])
        scores, model.names = mark_noise(scores, model.names, model.noise_cluster)
    model.cluster_scores = scores.assign(segment_name=model.names)
    return model, _fit_metrics(model, Xs, cluster, sweep, config, matched), cluster


def tree_rules(tree) -> pd.DataFrame:
    """The explainable decision tree as a rule table, with its whole SQL case expression."""
    table = rule_table(tree)
    table["tree_case_sql"] = tree_case_sql(tree)
    return table


def train_classifiers(training, cluster, seg_model, seg_config, cls_config, **version) -> pa.Table:
    """Fit the configured classifier and the explainable decision tree on the fit's own cluster
    labels of the training customers; two registry rows (kinds 'classifier' and
    'classifier_tree') with the holdout reports (and the tree's rules)."""
    rows = []
    for kind, cfg in (
        ("classifier", cls_config),
        ("classifier_tree", replace(cls_config, classifier="decision_tree")),
    ):
        model, reports = train_classifier(training, cluster, seg_model.names, cfg)
        if kind == "classifier_tree":
            reports = {**reports, "tree_rules": tree_rules(model)}
        rows.append(
            registry_row(
                **version,
                model_kind=kind,
                obj=model,
                algorithm=cfg.classifier,
                n_clusters=seg_model.k,
                features=model.encoder.columns,
                params={**cfg.__dict__, "training_cutoff_date": seg_config.training_cutoff_date},
                metrics=dict(zip(reports["metrics"]["metric"], reports["metrics"]["value"], strict=True)),
                training_rows=len(training),
                training_fingerprint=fingerprint(
                    training["customer_id"].to_numpy(), model.encoder.transform(training)
                ),
                reports=encode_reports(reports),
            )
        )
    return pa.concat_tables(rows)


def fit_all(
    customers: pd.DataFrame,
    names: pd.DataFrame,
    config: SegmentationConfig,
    cls_config: ClassifierConfig,
    previous: tuple | None = None,
    **version,
) -> pa.Table:
    """Everything the build fits, once: the registry rows of the segmentation model, the
    classifier and the tree, each with its reports. ``previous``: (centroids in feature units,
    names) of the version being replaced, whose ids and names a same-k fit keeps; ``version``:
    model_version, run_id, as_of_date of the rows."""
    with ml_threads(config):
        everyone, X_all = customer_matrix(customers, config)
        mask = training_mask(everyone, config.training_cutoff_date)
        training, X = everyone[mask].reset_index(drop=True), X_all[mask]
        if training.empty:
            raise ValueError(
                f"No customer was first seen before training_cutoff_date={config.training_cutoff_date}; "
                "choose a later cutoff"
            )
        pre = build_preprocessor(config)
        Xs = pre.fit_transform(X)
        sweep, _, _ = k_sweep(Xs, config)
        model, metrics, cluster = fit_segmentation(training, X, (pre, Xs), sweep, names, config, previous)
        reports = {
            "k_selection": sweep,
            "preprocessing": preprocessing(model),
            "pca_loadings": pca_loadings_table(model.preprocessor, model.config),
            "centroids": centroids(model),
            "cluster_names": cluster_names(model),
            "pca_variance": fit_plot_pca(model, X_all),
            "training_profile": training_profile(X, config.features),
        }
        reports["training_tails"] = training_tails(
            X, CentroidModel(reports["preprocessing"], reports["centroids"], reports["pca_loadings"])
        )
        segmentation = registry_row(
            **version,
            model_kind="segmentation",
            obj=model,
            algorithm=config.algorithm,
            n_clusters=model.k,
            features=list(config.features),
            params=config.as_dict(),
            metrics=metrics,
            training_rows=len(training),
            training_fingerprint=fingerprint(training["customer_id"].to_numpy(), X),
            reports=encode_reports(reports),
        )
        classifiers = train_classifiers(
            training, cluster.astype(np.int32), model, config, cls_config, **version
        )
    return pa.concat_tables([segmentation, classifiers])
