"""Fitting, assignment, confidence, the registry round trip, and the ML layer's fit and score
(the functions the two dbt Python models call: segmentation.fit.fit_all, segmentation.score.score_all)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.segmentation import ClassifierConfig, SegmentationConfig
from custseg.segmentation.fit import fit_all, ml_threads
from custseg.segmentation.preprocessing import QuantileClipper, SignedLog, build_preprocessor
from custseg.segmentation.registry import (
    KEY_ENV,
    UntrustedArtifactError,
    dump_artifact,
    fingerprint,
    load_artifact,
    sign,
    signing_key,
)
from custseg.segmentation.reports import decode_report, decode_reports
from custseg.segmentation.score import load_model, score_all
from segmentation_helpers import Payload, planted_customers, seed_names


@pytest.fixture(scope="module")
def customers():
    frame, _ = planted_customers(4, per_group=200, seed=3)
    return frame


CLASSIFIER = ClassifierConfig(n_estimators=10)
CLASSIFIER_INPUTS = ("monetary_gross", "returned_value", "tenure_days", "avg_order_value", "items_per_order",
                     "line_count", "distinct_products", "return_line_count", "return_rate")  # fmt: skip


def _with_classifier_inputs(customers):
    """The planted customers with the other columns of the ML input the classifier reads."""
    missing = {c: 1.0 for c in CLASSIFIER_INPUTS if c not in customers.columns}
    return customers.assign(country="France", first_purchase_at=pd.Timestamp("2011-01-01"), **missing)


def _train(customers, config):
    """The real path: fit_all (model ml_model_registry); the segmentation model's reports and
    the model itself, loaded from its registry row as the scoring model loads it."""
    registry = fit_all(_with_classifier_inputs(customers), seed_names(), config, CLASSIFIER).to_pandas()
    reports = decode_reports(registry.loc[registry["model_kind"] == "segmentation", "reports"].iloc[0])
    return reports, registry, load_model(registry)


def _assign(registry, customers, config):
    """Every customer scored as model ml_customer_scores scores it."""
    return score_all(_with_classifier_inputs(customers), registry, config)


def test_signed_log_round_trips_negative_values():
    X = np.array([[-100.0, 0.0], [5.0, 1e6]])
    t = SignedLog((0, 1))
    assert np.allclose(t.inverse_transform(t.fit_transform(X)), X)
    assert t.transform(X)[0, 0] < 0


def test_quantile_clipper_bounds_learnt_at_fit():
    X = np.arange(101, dtype=float).reshape(-1, 1)
    clip = QuantileClipper(0.1, 0.9).fit(X)
    assert clip.transform(np.array([[-5.0], [50.0], [500.0]])).ravel().tolist() == [10.0, 50.0, 90.0]


def test_preprocessor_scales_to_unit_variance_and_optional_pca():
    X = np.random.default_rng(0).lognormal(size=(500, 3))
    Z = build_preprocessor(SegmentationConfig()).fit_transform(X)
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-9) and np.allclose(Z.std(axis=0), 1, atol=1e-9)
    assert build_preprocessor(SegmentationConfig(pca_components=2)).fit_transform(X).shape == (500, 2)


def test_kmeans_model_end_to_end(customers):
    config = SegmentationConfig(n_init=4)
    reports, registry, model = _train(customers, config)
    sweep = reports["k_selection"]
    assert sweep.loc[sweep["is_chosen"], "k"].item() == 4 == model.k
    out = _assign(registry, customers, config)
    assert len(out) == len(customers) and out["customer_id"].is_unique
    assert out["confidence"].between(0, 1).all()
    assert (out["distance_to_centroid"] <= out["distance_to_next_centroid"] + 1e-12).all()
    # KMeans assignment is exactly the nearest centroid in model space
    Xs = model.transform(customers[list(config.features)].to_numpy())
    nearest = ((Xs[:, None, :] - model.centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (nearest == out.sort_values("customer_id")["cluster_id"].to_numpy()).all()
    # cluster 0 is the best group; names unique
    names = reports["cluster_names"]
    assert names.loc[0, "segment_name"] == "Champions"
    assert names["segment_name"].is_unique
    assert names["combined_score"].is_monotonic_decreasing


def test_same_data_same_model_outputs(customers):
    config = SegmentationConfig(n_init=3)
    _, reg1, _ = _train(customers, config)
    _, reg2, _ = _train(customers.sample(frac=1, random_state=1), config)  # row order must not matter
    pd.testing.assert_frame_equal(_assign(reg1, customers, config), _assign(reg2, customers, config))
    assert reg1.loc[0, "training_fingerprint"] == reg2.loc[0, "training_fingerprint"]
    assert reg1.loc[0, "model_id"] == reg2.loc[0, "model_id"]


@pytest.mark.parametrize("algorithm", ["gmm", "birch", "agglomerative"])
def test_other_algorithms_give_the_same_tables(customers, algorithm):
    config = SegmentationConfig(algorithm=algorithm, n_init=2, k_max=6)
    reports, registry, model = _train(customers, config)
    out = _assign(registry, customers, config)
    assert out["confidence"].between(0, 1).all()
    assert set(out["cluster_id"]) == set(range(model.k))
    assert registry.loc[0, "algorithm"] == algorithm
    # each model scored by its own rule (dim_customer_segments.scoring_rule; the warehouse's
    # builds with birch and hdbscan: tests/e2e/test_dbt_build.py)
    rules = {"gmm": "gmm_posterior", "birch": "birch_subcluster", "agglomerative": "nearest_centroid"}
    assert set(out["scoring_rule"]) == {rules[algorithm]}
    assert len(reports["centroids"]) == model.k * 3
    assert out[["pc_1", "pc_2", "pc_3"]].notna().all().all()
    assert reports["pca_variance"]["explained_variance_ratio"].sum() == pytest.approx(1.0)


def test_ward_assigns_every_customer_to_its_nearest_centroid_and_finds_clear_groups():
    from custseg.segmentation.clustering import WARD_MAX_ROWS, WardClustering

    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    truth = np.repeat([0, 1, 2], 2_500)
    X = centres[truth] + rng.normal(0, 0.5, (len(truth), 2))
    ward = WardClustering(n_clusters=3, random_state=0).fit(X)
    assert ward.fit_rows_ == WARD_MAX_ROWS < len(X)  # fitted on a sample, applied to every row
    labels = ward.predict(X)
    nearest = ((X[:, None, :] - ward.cluster_centers_[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (labels == nearest).all()
    # each true group is one cluster
    assert all(len(np.unique(labels[truth == g])) == 1 for g in range(3))
    assert len(np.unique(labels)) == 3
    again = WardClustering(n_clusters=3, random_state=0).fit(X)
    assert np.array_equal(again.cluster_centers_, ward.cluster_centers_)


def test_hdbscan_finds_its_own_k_and_names_the_noise_group(customers):
    from custseg.segmentation.naming import NOISE_ACTION, NOISE_NAME

    # the planted groups plus 20 customers scattered over the whole range, between the groups
    rng = np.random.default_rng(5)
    n, lo, hi = 20, customers.min(numeric_only=True), customers.max(numeric_only=True)
    scattered = customers.sample(n, random_state=5).assign(
        customer_id=[f"z{i}" for i in range(n)],
        recency_days=rng.uniform(lo["recency_days"], hi["recency_days"], n),
        order_count=rng.uniform(lo["order_count"], hi["order_count"], n),
        monetary_value=np.exp(rng.uniform(np.log(lo["monetary_value"]), np.log(hi["monetary_value"]), n)),
    )
    frame = pd.concat([customers, scattered], ignore_index=True)
    config = SegmentationConfig(algorithm="hdbscan", min_cluster_size=30)
    reports, registry, model = _train(frame, config)
    sweep = reports["k_selection"]
    assert len(sweep) == 1 and bool(sweep["is_chosen"].iloc[0])
    assert "hdbscan (min_cluster_size=30) found" in sweep["selection_reason"].iloc[0]
    assert model.k == sweep["k"].iloc[0] == model.estimator.found_ + 1
    assert model.noise_cluster == model.k - 1  # numbered last
    assert model.names[model.noise_cluster] == NOISE_NAME
    noise_row = model.cluster_scores.set_index("cluster_id").loc[model.noise_cluster]
    assert noise_row["recommended_action"] == NOISE_ACTION
    out = _assign(registry, frame, config)
    noise = set(out.loc[out["cluster_id"] == model.noise_cluster, "customer_id"])
    assert len(noise & set(scattered["customer_id"])) >= 12  # most scattered ones are noise
    assert len(noise - set(scattered["customer_id"])) <= 0.05 * len(customers)
    # a customer is noise exactly when it lies beyond the reach of its nearest found cluster
    ordered = frame.sort_values("customer_id", kind="stable")  # assignments come in id order
    labels = model.estimator.predict(model.transform(ordered[list(config.features)].to_numpy(dtype=float)))
    assert ((labels == model.estimator.found_) == (out["cluster_id"] == model.noise_cluster).to_numpy()).all()
    assert registry.loc[0, "algorithm"] == "hdbscan"


def test_centroids_and_preprocessing_tables(customers):
    config = SegmentationConfig(n_init=2, n_clusters=4, clip_quantiles=(0.0, 1.0))
    reports, registry, _ = _train(customers, config)
    cents = reports["centroids"]
    assert set(cents["dimension"]) == set(config.features)
    # with no clipping, a KMeans centroid maps back to the member mean of the log features
    out = _assign(registry, customers, config)
    members = customers.set_index("customer_id").loc[out.loc[out["cluster_id"] == 0, "customer_id"]]
    expected = np.expm1(np.log1p(members["order_count"]).mean())
    got = cents[(cents["cluster_id"] == 0) & (cents["dimension"] == "order_count")][
        "centroid_original"
    ].item()
    assert got == pytest.approx(expected, rel=1e-6)
    pre = reports["preprocessing"]
    assert pre["feature"].tolist() == list(config.features) and (pre["scaler_scale"] > 0).all()


def test_pca_clustering_variance_is_reported(customers):
    config = SegmentationConfig(n_init=2, n_clusters=4, pca_components=2)
    reports, _, _ = _train(customers, config)
    assert set(reports["pca_variance"]["purpose"]) == {"clustering", "plot"}
    assert set(reports["centroids"]["dimension"]) == {"pc_1", "pc_2"}


def test_registry_refuses_tampered_and_unsigned_artifacts(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "key"))
    blob = dump_artifact({"a": 1})
    signature = sign(blob, signing_key(create=True), "classifier", 3)
    assert load_artifact(blob, signature, "classifier", 3) == {"a": 1}
    with pytest.raises(UntrustedArtifactError, match="Nothing was unpickled"):
        load_artifact(blob[:-1] + bytes([blob[-1] ^ 1]), signature, "classifier", 3)
    # the signature binds the kind and the version: a signed tree is not the classifier, nor
    # version 3 version 2
    with pytest.raises(UntrustedArtifactError, match="the classifier_tree of model version 3"):
        load_artifact(blob, signature, "classifier_tree", 3)
    with pytest.raises(UntrustedArtifactError, match="Nothing was unpickled"):
        load_artifact(blob, signature, "classifier", 2)
    # a crafted pickle with a correct SHA-256 (the old check) or no signature: never unpickled
    marker = tmp_path / "pwned"
    evil = dump_artifact(Payload(marker))
    for claimed in (hashlib.sha256(evil).hexdigest(), "", None, signature):
        with pytest.raises(UntrustedArtifactError):
            load_artifact(evil, claimed, "classifier", 3)
    assert not marker.exists()
    # signed under another key (a database built elsewhere): refused
    other = sign(evil, b"x" * 64, "classifier", 3)
    with pytest.raises(UntrustedArtifactError):
        load_artifact(evil, other, "classifier", 3)
    assert not marker.exists()
    # no key on this machine: refused, and the key is created only by a build
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "absent" / "key"))
    with pytest.raises(UntrustedArtifactError, match="no model-signing key"):
        load_artifact(blob, signature, "classifier", 3)
    assert not (tmp_path / "absent").exists()


def test_signing_key_is_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "sub" / "key"))
    first = signing_key(create=True)
    assert signing_key(create=True) == first and len(first) == 64
    assert (tmp_path / "sub" / "key").stat().st_mode & 0o777 == 0o600


def test_a_key_file_others_can_read_or_that_is_not_a_file_is_refused_clearly(tmp_path, monkeypatch):
    import threading

    key = tmp_path / "key"
    monkeypatch.setenv(KEY_ENV, str(key))
    signing_key(create=True)
    for mode in (0o644, 0o640, 0o602, 0o666):
        key.chmod(mode)
        with pytest.raises(UntrustedArtifactError, match=f"other users \\(mode {mode:04o}\\).*chmod 600"):
            signing_key()
    key.chmod(0o600)
    assert len(signing_key()) == 64
    # a directory (was a bare "Errno 21"), a device (/dev/zero hung), a FIFO: named, within seconds
    for path, what in ((tmp_path, "not a regular file"), (Path("/dev/zero"), "not a regular file")):
        monkeypatch.setenv(KEY_ENV, str(path))
        with pytest.raises(UntrustedArtifactError, match=what) as refused:
            signing_key()
        assert "delete" not in str(refused.value)  # never advise deleting a device or a folder
    # a private key in a folder others can write to (no sticky bit) could be swapped: refused
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv(KEY_ENV, str(shared / "key"))
    signing_key(create=True)
    for mode, refused in ((0o777, True), (0o775, True), (0o1777, False), (0o755, False)):
        shared.chmod(mode)
        if refused:
            with pytest.raises(
                UntrustedArtifactError, match=r"in a folder other users can write to .*chmod go-w"
            ):
                signing_key()
        else:
            assert len(signing_key()) == 64
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv(KEY_ENV, str(fifo))
    outcome = []

    def read_fifo():
        try:
            signing_key()
        except UntrustedArtifactError as exc:
            outcome.append(str(exc))

    reader = threading.Thread(target=read_fifo, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome and "not a regular file" in outcome[0]
    # a huge file is not a key
    big = tmp_path / "big"
    big.write_bytes(b"a" * 100_000)
    big.chmod(0o600)
    monkeypatch.setenv(KEY_ENV, str(big))
    with pytest.raises(UntrustedArtifactError, match="not a key"):
        signing_key()


def test_fingerprint_ignores_row_order_but_not_values():
    ids = np.array(["b", "a", "c"])
    X = np.array([[2.0], [1.0], [3.0]])
    assert fingerprint(ids, X) == fingerprint(ids[[1, 0, 2]], X[[1, 0, 2]])
    assert fingerprint(ids, X) != fingerprint(ids, X + 1e-9)


def test_empty_and_bad_feature_inputs(customers):
    config = SegmentationConfig()
    with pytest.raises(ValueError, match=r"the ML input \(int_customers__segmentation_input\) is empty"):
        fit_all(customers.iloc[:0], seed_names(), config, CLASSIFIER)
    with pytest.raises(ValueError, match="not columns of dim_customers"):
        fit_all(customers, seed_names(), SegmentationConfig(features=("nope",), log_features=()), CLASSIFIER)
    with_null = customers.assign(mean_days_between_orders=np.nan)
    with pytest.raises(ValueError, match="missing values"):
        fit_all(
            with_null,
            seed_names(),
            SegmentationConfig(features=("mean_days_between_orders",), log_features=()),
            CLASSIFIER,
        )


# -- the ML layer: one fit, one scoring pass, reports without unpickling ---------------------


@pytest.fixture(scope="module")
def fitted_registry(customers):
    frame = _with_classifier_inputs(customers)
    config = SegmentationConfig(n_init=2, n_clusters=4)
    return frame, config, fit_all(frame, seed_names(), config, CLASSIFIER).to_pandas()


def _report(registry, kind, name):
    return decode_report(registry.loc[registry["model_kind"] == kind, "reports"].iloc[0], name)


def test_fit_all_registers_three_models_with_their_reports(fitted_registry):
    from custseg.segmentation import reports as builders

    _, _, registry = fitted_registry
    assert registry["model_kind"].tolist() == ["segmentation", "classifier", "classifier_tree"]
    model = load_model(registry)
    # the reports read back (JSON) are exactly what the builders compute from the registered model
    pd.testing.assert_frame_equal(_report(registry, "segmentation", "centroids"), builders.centroids(model))
    pd.testing.assert_frame_equal(
        _report(registry, "segmentation", "preprocessing"), builders.preprocessing(model)
    )
    pd.testing.assert_frame_equal(
        _report(registry, "segmentation", "cluster_names"), builders.cluster_names(model)
    )
    sweep = _report(registry, "segmentation", "k_selection")
    assert sweep.loc[sweep["is_chosen"], "k"].item() == 4 == model.k
    assert set(_report(registry, "classifier", "metrics")["metric"]) >= {"accuracy", "macro_f1"}
    rules = _report(registry, "classifier_tree", "tree_rules")
    assert rules["tree_case_sql"].str.startswith("case").all()
    profile = _report(registry, "segmentation", "training_profile")
    assert np.isinf(profile["lower"]).any() and np.isinf(profile["upper"]).any()  # infinities survive
    with pytest.raises(ValueError, match="no report 'nope'"):
        _report(registry, "segmentation", "nope")


def test_report_json_round_trips_exactly_and_is_plain_json():
    import json

    from custseg.segmentation.reports import encode_reports

    frame = pd.DataFrame(
        {
            "i": np.array([1, -(2**40)], dtype=np.int64),
            "x": [0.1 + 0.2, np.nan],
            "edge": [np.inf, -np.inf],
            "flag": [True, False],
            "name": ['Ünïcode "quoted"', "line\nbreak"],
        }
    )
    text = encode_reports({"t": frame})
    assert json.loads(text)["t"]["rows"][1] == {"i": -(2**40), "x": None, "edge": "-Infinity", "flag": False,
                                                  "name": "line\nbreak"}  # fmt: skip
    back = decode_reports(text)["t"]
    pd.testing.assert_frame_equal(back[["i", "x", "edge", "flag"]], frame[["i", "x", "edge", "flag"]])
    assert back["name"].tolist() == frame["name"].tolist()
    assert back.loc[0, "x"] == 0.1 + 0.2  # the double to the last bit, not 0.3


def test_reports_are_read_without_unpickling(fitted_registry, monkeypatch):
    _, _, registry = fitted_registry
    tampered = registry.assign(artifact=[b"not a pickle"] * len(registry))
    monkeypatch.setattr("joblib.load", lambda *a, **k: pytest.fail("a report unpickled an artifact"))
    assert len(_report(tampered, "segmentation", "cluster_names")) == 4


def test_score_all_loads_each_artifact_once_and_scores_every_way(fitted_registry, monkeypatch):
    from custseg.segmentation import score as score_module
    from custseg.segmentation.fit import customer_matrix
    from custseg.segmentation.projection import plot_coordinates

    frame, config, registry = fitted_registry
    loads = []
    real = score_module.load_artifact
    monkeypatch.setattr(score_module, "load_artifact", lambda *args: loads.append(1) or real(*args))
    scores = score_all(frame, registry, config)
    assert len(loads) == 3
    model = load_model(registry)
    ordered, X = customer_matrix(frame, config)
    expected = model.assign(X)
    assert scores["customer_id"].tolist() == ordered["customer_id"].tolist()
    pd.testing.assert_frame_equal(scores[expected.columns].reset_index(drop=True), expected)
    assert (scores["segment_name"] == np.asarray(model.names)[expected["cluster_id"]]).all()
    assert (scores["centroid_cluster_id"] == scores["cluster_id"]).all()  # KMeans: nearest centroid
    np.testing.assert_array_equal(scores[["pc_1", "pc_2", "pc_3"]].to_numpy(), plot_coordinates(model, X))
    assert scores["is_training_customer"].all() and scores["classifier_confidence"].between(0, 1).all()


def test_ml_threads_cap_blas_and_openmp(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    config = SegmentationConfig(ml_threads=1)
    # the suite runs with one thread per library (tests/conftest.py): start from two, so the cap
    # has something to cap
    with threadpool_limits(limits=2):
        before = [pool["num_threads"] for pool in threadpool_info()]
        with ml_threads(config):
            seen = [pool["num_threads"] for pool in threadpool_info()]
    assert max(before) == 2
    assert seen and set(seen) == {1}
    with pytest.raises(ValueError, match="ml_threads must be at least 1"):
        SegmentationConfig(ml_threads=0)
