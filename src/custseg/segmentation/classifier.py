"""Pseudo-label classifier: learns the clusters from customer features, so new customers can be
assigned a segment without refitting the clustering.

Features: from transactions, the numeric customer features plus one-hot country (top countries,
the rest as 'other'); from a customer table, every numeric column of its feature table (the
typed, engineered and one-hot columns). Split: stratified train/test. Classifiers: random forest (default), a shallow decision
tree (exportable as SQL, see :mod:`custseg.segmentation.rules`), or gradient boosting.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from .config import CLASSIFIERS, NUMERIC_FEATURES, ClassifierConfig  # noqa: F401  (config: no scikit-learn)

OTHER = "__other__"
# columns of a customer table's feature table that are not customer traits
NOT_FEATURES = ("customer_id", "source_row_number")


@dataclass
class FeatureEncoder:
    """Numeric features as they are and one-hot countries learnt at fit time (transactions), or
    the numeric columns of a customer table's feature table (``use_country`` false)."""

    numeric: tuple[str, ...] = NUMERIC_FEATURES
    countries: tuple[str, ...] = field(default_factory=tuple)
    use_country: bool = True

    def fit(self, customers: pd.DataFrame, top: int) -> FeatureEncoder:
        if not set(NUMERIC_FEATURES) <= set(customers.columns):  # a customer table
            self.use_country = False
            self.numeric = tuple(
                c
                for c in customers.columns
                if c not in NOT_FEATURES
                and pd.api.types.is_numeric_dtype(customers[c])
                and not pd.api.types.is_bool_dtype(customers[c])
            )
            return self
        counts = customers["country"].value_counts()
        ordered = sorted(counts.index, key=lambda c: (-counts[c], c))
        self.countries = tuple(ordered[:top])
        return self

    @property
    def columns(self) -> list[str]:
        if not self.use_country:
            return list(self.numeric)
        return [*self.numeric, *(f"country={c}" for c in self.countries), f"country={OTHER}"]

    def required(self) -> list[str]:
        return [*self.numeric, "country"] if self.use_country else list(self.numeric)

    def transform(self, customers: pd.DataFrame, dtype=float) -> np.ndarray:
        """The feature matrix, written column by column into one array (no intermediate copies:
        at 1M customers each copy is ~200 MB of fresh memory); ``dtype`` float32 for trees,
        which compare in float32 (the values they would convert to themselves)."""
        missing = [c for c in self.required() if c not in customers.columns]
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        n, k = len(customers), len(self.numeric)
        X = np.zeros((n, len(self.columns)), dtype=dtype)
        invalid = []
        for i, column in enumerate(self.numeric):
            values = pd.to_numeric(customers[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if not np.isfinite(values).all():
                invalid.append(column)
            X[:, i] = values
        if invalid:
            raise ValueError(f"missing or non-numeric value in field(s): {', '.join(invalid)}")
        if self.use_country:
            # one-hot: each customer's country column (a country not learnt goes to 'other')
            codes, seen = pd.factorize(customers["country"].astype(str).to_numpy())
            place = {country: k + j for j, country in enumerate(self.countries)}
            column_of = np.array([place.get(c, X.shape[1] - 1) for c in seen], dtype=np.intp)
            X[np.arange(n), column_of[codes]] = 1.0
        return X


@dataclass
class SegmentClassifier:
    config: ClassifierConfig
    encoder: FeatureEncoder
    estimator: object
    classes: np.ndarray  # cluster ids, in estimator order
    names: list[str]  # segment name per cluster id

    @property
    def input_dtype(self):
        """float32 for trees and forests (scikit-learn's trees compare in float32), else float."""
        return (
            np.float32
            if isinstance(self.estimator, RandomForestClassifier | DecisionTreeClassifier)
            else float
        )

    def encode(self, customers: pd.DataFrame) -> np.ndarray:
        return self.encoder.transform(customers, self.input_dtype)

    def predict(self, customers: pd.DataFrame, X: np.ndarray | None = None) -> pd.DataFrame:
        """Cluster, segment and confidence per customer; ``X``: the customers already encoded
        by an equal encoder to this model's dtype (score_all encodes once for the forest and
        the tree)."""
        X = self.encode(customers) if X is None else X
        proba = predict_proba_in_row_blocks(self.estimator, X)
        best = proba.argmax(axis=1)
        cluster = self.classes[best].astype(np.int32)
        return pd.DataFrame(
            {
                "cluster_id": cluster,
                "segment_name": np.asarray(self.names, dtype=object)[cluster],
                "confidence": proba[np.arange(len(X)), best],
            }
        )


def _estimator(config: ClassifierConfig):
    if config.classifier == "random_forest":
        return RandomForestClassifier(
            n_estimators=config.n_estimators,
            random_state=config.random_state,
            min_samples_leaf=2,
            n_jobs=-1,  # trees are seeded up front, so the forest is the same for any n_jobs
        )
    if config.classifier == "decision_tree":
        return DecisionTreeClassifier(max_depth=config.tree_max_depth, random_state=config.random_state)
    return HistGradientBoostingClassifier(random_state=config.random_state)


def _predicting_in_order(estimator):
    """The estimator, set to predict on one thread: a forest's threads add their trees' votes in
    the order they finish, which moves a confidence's last bit from run to run (and could flip
    an exact tie); one thread adds them in tree order. Fitting stays parallel."""
    if getattr(estimator, "n_jobs", None) not in (None, 1):
        estimator.set_params(n_jobs=1)
    return estimator


# rows per thread below which one thread predicts alone (threads cost more than they bring)
ROW_BLOCK_MIN = 50_000


def predict_proba_in_row_blocks(estimator, X: np.ndarray, threads: int | None = None) -> np.ndarray:
    """``estimator.predict_proba(X)`` on the machine's cores, bit for bit what one thread gives:
    the rows are cut into contiguous blocks, one thread each, and every block's rows add their
    trees' votes in tree order on its one thread (scikit-learn's trees release the GIL). A
    forest's own threads would split the trees instead and add them in finishing order. These are
    plain threads, not OpenMP (which ``ml_threads`` caps because its idle workers spin)."""
    estimator = _predicting_in_order(estimator)  # models fitted before it too
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, min(threads, len(X) // ROW_BLOCK_MIN))
    if threads == 1:
        return estimator.predict_proba(X)
    bounds = np.linspace(0, len(X), threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        blocks = pool.map(lambda i: estimator.predict_proba(X[bounds[i] : bounds[i + 1]]), range(threads))
        return np.concatenate(list(blocks))


def train_classifier(
    customers: pd.DataFrame, labels: np.ndarray, names: list[str], config: ClassifierConfig
) -> tuple[SegmentClassifier, dict[str, pd.DataFrame]]:
    """Fit once on a stratified train split and deploy that model, so the holdout reports
    describe exactly the model that scores. Above ``max_rows`` customers the split is drawn
    from a stratified, deterministic sample of ``max_rows`` (the pseudo-labels are a function of
    a few features; more rows add time, not accuracy). Returns the classifier and the reports."""
    customers = customers.reset_index(drop=True)
    labels = np.asarray(labels)
    encoder = FeatureEncoder().fit(customers, config.top_countries)
    X = encoder.transform(customers)
    counts = pd.Series(labels).value_counts()
    stratify = labels if counts.min() >= 2 else None
    if len(labels) > config.max_rows:
        rows, _ = train_test_split(
            np.arange(len(labels)),
            train_size=config.max_rows,
            random_state=config.random_state,
            stratify=stratify,
        )
        rows = np.sort(rows)
        X, labels = X[rows], labels[rows]
        stratify = labels if pd.Series(labels).value_counts().min() >= 2 else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, labels, test_size=config.test_size, random_state=config.random_state, stratify=stratify
    )
    holdout = _predicting_in_order(_estimator(config).fit(X_tr, y_tr))
    pred = holdout.predict(X_te)
    classes = np.sort(np.unique(labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_te, pred, labels=classes, zero_division=0
    )
    reports = {
        "metrics": pd.DataFrame(
            {
                "metric": ["accuracy", "macro_f1", "train_rows", "test_rows"],
                "value": [
                    accuracy_score(y_te, pred),
                    f1_score(y_te, pred, average="macro", labels=classes, zero_division=0),
                    float(len(y_tr)),
                    float(len(y_te)),
                ],
            }
        ),
        "report": pd.DataFrame(
            {
                "cluster_id": classes.astype(np.int32),
                "segment_name": [names[c] for c in classes],
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": support.astype(np.int64),
            }
        ),
        "confusion": _confusion(y_te, pred, classes, names),
        "importances": _importances(holdout, encoder, X_te, y_te, config),
    }
    return SegmentClassifier(config, encoder, holdout, np.asarray(holdout.classes_), names), reports


def _confusion(y_true, y_pred, classes, names) -> pd.DataFrame:
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    rows = [
        {
            "actual_cluster_id": int(a),
            "actual_segment": names[a],
            "predicted_cluster_id": int(p),
            "predicted_segment": names[p],
            "customer_count": int(matrix[i, j]),
        }
        for i, a in enumerate(classes)
        for j, p in enumerate(classes)
    ]
    return pd.DataFrame(rows)


def _importances(estimator, encoder, X_te, y_te, config) -> pd.DataFrame:
    if hasattr(estimator, "feature_importances_"):
        values, method = estimator.feature_importances_, "impurity"
    else:
        from sklearn.inspection import permutation_importance

        result = permutation_importance(estimator, X_te, y_te, n_repeats=3, random_state=config.random_state)
        values, method = result.importances_mean, "permutation"
    frame = pd.DataFrame({"feature": encoder.columns, "importance": values, "method": method})
    frame = frame.sort_values(["importance", "feature"], ascending=[False, True], kind="stable")
    frame["rank"] = np.arange(1, len(frame) + 1, dtype=np.int32)
    return frame.reset_index(drop=True)
