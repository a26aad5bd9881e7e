"""The one fit of a build (model ``ml_model_registry``): the customers in, registry rows out.

:func:`fit_all` reads the customers once and fits everything: preprocessing, the k sweep, the
final clustering and its names, the plot PCA, the classifier and the explainable tree. Each model
becomes one registry row with its signed artifact and its reports (JSON, see ``reports``).
BLAS/OpenMP threads are capped (var ``ml_threads``) around the work.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from .centroids import CentroidModel
from .classifier import train_classifier
from .clustering import fit_model, renumber
from .confidence import calibrated_temperature
from .config import ClassifierConfig, SegmentationConfig
from .lifecycle import match_by_overlap, training_profile, training_tails
from .naming import mark_noise, name_clusters, profile, with_playbook
from .preprocessing import build_preprocessor, feature_matrix, pca_loadings_table
from .projection import fit_plot_pca
from .registry import fingerprint, registry_row
from .reports import centroids, cluster_names, encode_reports, preprocessing
from .rules import rule_table, tree_case_sql
from .sampling import sample_rows
from .selection import k_sweep, silhouette

# The silhouettes' pairwise distances (selection.mean_silhouettes reads scikit-learn's
# working_memory, as scikit-learn's distance functions do) are computed in blocks of this many
# MiB instead of its default 1 GiB: a 5,000-row silhouette then reuses a few small blocks instead
# of one new 200 MB block per call, and fresh memory is slow to touch on the VMs the builds run on
# (a first 200 MB costs ~2 s there). Same values; eleven silhouettes of 5,000 rows 5.1 s -> 1.2 s.
SKLEARN_WORKING_MEMORY_MIB = 32


@contextmanager
def ml_threads(config: SegmentationConfig):
    """Caps BLAS and OpenMP threads (scikit-learn, numpy) for a block: var ``ml_threads``, and
    keeps scikit-learn's distance blocks small (``SKLEARN_WORKING_MEMORY_MIB``).

    The Python models run inside dbt beside DuckDB, which already uses every core, and OpenMP
    workers busy-wait: with another build on the machine the same work took 66 s with default
    threads and 20 s with one (docs/benchmarks.md)."""
    import sklearn
    from threadpoolctl import threadpool_limits

    with (
        threadpool_limits(limits=config.ml_threads),
        sklearn.config_context(working_memory=SKLEARN_WORKING_MEMORY_MIB),
    ):
        yield


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


@dataclass
class Prior:
    """The model version a refit replaces: something that assigns customers to its clusters
    (``assign(X)`` with a cluster_id column: the nearest-centroid model of its numeric reports),
    its names by cluster id, and its version."""

    model: object
    names: list[str]
    version: int


def _best_first(scores: pd.DataFrame, model) -> np.ndarray:
    """Estimator labels best to worst (combined score; HDBSCAN's noise group last)."""
    order = np.lexsort((scores["cluster_id"].to_numpy(), -scores["combined_score"].to_numpy()))
    noise = model.estimator.found_ if getattr(model.estimator, "has_noise_", False) else None
    if noise is not None:
        order = np.concatenate([order[order != noise], [noise]])
    return order


def _order_clusters(model, labels, customers, X, config, previous: Prior | None):
    """The estimator labels in cluster-id order, and the match with ``previous`` by label (None
    without one). Clusters are numbered best to worst, except that a cluster continuing a
    previous one (:func:`lifecycle.match_by_overlap`: at least half their customers shared)
    keeps the previous id when it exists at the new k."""
    scores = profile(
        customers, labels, model.k, config.features, config.value_feature, dict(config.column_labels)
    )
    best_first = _best_first(scores, model)
    if previous is None:
        return best_first, None
    match = match_by_overlap(labels, previous.model.assign(X)["cluster_id"].to_numpy(), model.k)
    ids: dict[int, int] = {}
    for label in best_first:
        p = int(match.loc[label, "previous_cluster_id"])
        if match.loc[label, "matched"] and p < model.k and p not in ids.values():
            ids[int(label)] = p
    free = iter([i for i in range(model.k) if i not in ids.values()])
    for label in best_first:
        if int(label) not in ids:
            ids[int(label)] = next(free)
    order = np.empty(model.k, dtype=np.int64)
    for label, cluster_id in ids.items():
        order[cluster_id] = label
    return order, match


def cluster_matching(model, match: pd.DataFrame | None, previous: Prior | None) -> pd.DataFrame:
    """The report ``cluster_matching``: per cluster, the previous version's cluster it continues
    (null when new), their customer overlap, and its status: continued (same name), renamed
    (matched, but the previous name's claims no longer hold, so it was named again) or new."""
    rows = []
    for cluster_id in range(model.k):
        row = {"cluster_id": cluster_id, "segment_name": model.names[cluster_id], "status": "new",
               "previous_model_version": None, "previous_cluster_id": None, "previous_segment_name": None,
               "overlap": None}  # fmt: skip
        if match is not None:
            label = int(np.flatnonzero(model.label_to_cluster == cluster_id)[0])
            hit = match.loc[label]
            if hit["matched"]:
                p = int(hit["previous_cluster_id"])
                before = previous.names[p]
                row.update(previous_model_version=previous.version, previous_cluster_id=p,
                           previous_segment_name=before, overlap=float(hit["overlap"]),
                           status="continued" if before == row["segment_name"] else "renamed")  # fmt: skip
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("previous_model_version", "previous_cluster_id"):
        table[column] = table[column].astype("Int64")
    table["overlap"] = table["overlap"].astype(float)
    return table


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
        "clusters_matched": int(matched),
        "selection_reason": sweep.loc[sweep["is_chosen"], "selection_reason"].iloc[0],
    }


def fit_segmentation(
    customers,
    X,
    fitted,
    sweep,
    names,
    config,
    previous: Prior | None = None,
    evidence: pd.DataFrame | None = None,
):
    """The final clustering at the chosen k, renumbered and named; its metrics and the cluster of
    every row of ``X``. ``fitted``: the preprocessor fitted on ``X`` and its output; ``evidence``:
    what the value models expect of each customer (naming.segment_evidence), or None.

    ``previous``: the version this fit replaces. Each new cluster that continues a previous one
    (most of their customers shared) keeps its id where the new k allows (``model.matching``, the
    report ``cluster_matching``: continued under the same name, or renamed); the other clusters
    are numbered best to worst. Transaction names follow from the positions (naming); a customer
    table's continuing cluster keeps its name where its traits still hold."""
    k = chosen_k(sweep)
    if len(customers) <= k:
        raise ValueError(f"Too few customers ({len(customers)}) for k={k}: lower n_clusters / k_max.")
    model, Xs, labels = fit_model(X, k, config, fitted)
    if len(np.unique(labels)) < k:
        raise ValueError(
            f"{config.algorithm} formed only {len(np.unique(labels))} clusters for k={k}; "
            "lower n_clusters or use segmentation_algorithm: kmeans"
        )
    order, match = _order_clusters(model, labels, customers, X, config, previous)
    renumber(model, order)
    if config.algorithm != "gmm" and np.isfinite(model.centroids).all():  # gmm: its own posterior
        model.confidence_temperature = calibrated_temperature(
            Xs, model.centroids, config.fit_sample_size, config.random_state
        )
    cluster = model.label_to_cluster[labels]
    scores = profile(
        customers, cluster, k, config.features, config.value_feature, dict(config.column_labels), evidence
    )
    keep = {}
    if match is not None:
        for label in np.flatnonzero(match["matched"].to_numpy()):
            keep[int(model.label_to_cluster[label])] = previous.names[
                int(match.loc[label, "previous_cluster_id"])
            ]
    model.names = name_clusters(scores, names, keep)
    scores = with_playbook(scores, model.names, names)
    if getattr(model.estimator, "has_noise_", False):
        # hdbscan: the noise group (the estimator's last label) keeps its own name
        model.noise_cluster = int(model.label_to_cluster[model.estimator.found_])
        scores, model.names = mark_noise(scores, model.names, model.noise_cluster)
    model.cluster_scores = scores.assign(segment_name=model.names)
    model.matching = cluster_matching(model, match, previous)
    matched = int((model.matching["status"] != "new").sum())
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
        ("classifier_tree", cls_config.replaced(classifier="decision_tree")),
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
    previous: Prior | None = None,
    evidence: pd.DataFrame | None = None,
    **version,
) -> pa.Table:
    """Everything the build fits, once: the registry rows of the segmentation model, the
    classifier and the tree, each with its reports. ``previous``: the version being replaced
    (:class:`Prior`), whose ids continuing clusters keep; ``evidence``: the value models' view of
    each customer (model ml_segment_evidence; None without); ``version``: model_version, run_id,
    as_of_date of the rows."""
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
        model, metrics, cluster = fit_segmentation(
            training, X, (pre, Xs), sweep, names, config, previous, evidence
        )
        reports = {
            "k_selection": sweep,
            "preprocessing": preprocessing(model),
            "pca_loadings": pca_loadings_table(model.preprocessor, model.config),
            "centroids": centroids(model),
            "cluster_names": cluster_names(model),
            "pca_variance": fit_plot_pca(model, X_all),
            "training_profile": training_profile(X, config.features),
            "cluster_matching": model.matching,
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
