"""k selection: the elbow detector, the rule, sampling, and planted blobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from custseg.segmentation import SegmentationConfig
from custseg.segmentation.fit import SKLEARN_WORKING_MEMORY_MIB, ml_threads
from custseg.segmentation.selection import (
    choose_k,
    detect_elbow,
    k_sweep,
    sample_rows,
    silhouette,
    silhouette_rows,
    silhouettes,
)


def test_elbow_of_a_sharp_knee():
    ks = list(range(2, 11))
    inertia = [1000, 600, 200, 180, 165, 150, 140, 130, 120]
    assert detect_elbow(ks, inertia) == 4


def test_no_elbow_on_a_straight_line_or_too_few_points():
    ks = list(range(2, 11))
    assert detect_elbow(ks, [100 - 10 * i for i in range(9)]) is None
    assert detect_elbow([2, 3], [10, 5]) is None
    assert detect_elbow(ks, [5] * 9) is None


def test_rule_takes_best_silhouette_next_to_the_elbow_smaller_k_on_ties():
    sweep = pd.DataFrame({"k": [2, 3, 4, 5, 6], "silhouette": [0.9, 0.4, 0.5, 0.5, 0.8]})
    assert choose_k(sweep, elbow=4)[0] == 4  # 3, 4, 5 are candidates; 4 and 5 tie -> 4
    assert choose_k(sweep, elbow=None)[0] == 2  # no elbow: best silhouette anywhere
    k, reason = choose_k(sweep, elbow=4, forced=6)
    assert k == 6 and "n_clusters=6" in reason


@pytest.mark.parametrize("planted", [3, 4, 5, 6])
def test_planted_blobs_give_the_planted_k(planted):
    X, _ = make_blobs(
        n_samples=1_200,
        centers=planted,
        n_features=3,
        cluster_std=0.6,
        center_box=(-12, 12),
        random_state=planted,
    )
    sweep, chosen, reason = k_sweep(X, SegmentationConfig(n_init=4))
    assert chosen == planted, (reason, sweep[["k", "inertia", "silhouette"]])
    assert sweep.loc[sweep["is_chosen"], "k"].item() == planted
    assert sweep["is_chosen"].sum() == 1


def test_sweep_is_deterministic_and_complete():
    X, _ = make_blobs(n_samples=600, centers=4, n_features=3, random_state=1)
    config = SegmentationConfig(n_init=3, k_max=6)
    first, _, _ = k_sweep(X, config)
    second, _, _ = k_sweep(X, config)
    pd.testing.assert_frame_equal(first, second)
    assert first["k"].tolist() == [2, 3, 4, 5, 6]
    assert first[["inertia", "silhouette", "davies_bouldin", "calinski_harabasz"]].notna().all().all()
    assert (first["inertia"].diff().dropna() < 0).all()


def test_sweep_ranks_k_on_a_sample_above_sweep_sample_size():
    X, _ = make_blobs(n_samples=4_000, centers=4, n_features=3, cluster_std=0.6, random_state=3)
    full, chosen_full, _ = k_sweep(X, SegmentationConfig(n_init=3, k_max=6))
    config = SegmentationConfig(n_init=3, k_max=6, sweep_sample_size=1_500)
    sampled, chosen_sampled, _ = k_sweep(X, config)
    assert (full["fit_rows"] == 4_000).all() and (sampled["fit_rows"] == 1_500).all()
    assert chosen_sampled == chosen_full == 4
    pd.testing.assert_frame_equal(sampled, k_sweep(X, config)[0])  # the same sample every time


def test_silhouette_samples_above_the_exact_limit():
    X, y = make_blobs(n_samples=3_000, centers=3, random_state=2)
    exact, n_exact = silhouette(X, y, SegmentationConfig(silhouette_exact_max=5_000))
    sampled, n_sampled = silhouette(
        X, y, SegmentationConfig(silhouette_exact_max=1_000, silhouette_sample_size=800)
    )
    again, _ = silhouette(X, y, SegmentationConfig(silhouette_exact_max=1_000, silhouette_sample_size=800))
    assert n_exact == 3_000 and n_sampled == 800
    assert sampled == again
    assert abs(sampled - exact) < 0.05


def test_small_distance_blocks_give_the_same_silhouette():
    """The ML layer computes distances in small blocks (fit.ml_threads): the silhouette is
    scikit-learn's, on the sampled rows."""
    X, y = make_blobs(n_samples=3_000, centers=3, random_state=5)
    for config in (
        SegmentationConfig(),
        SegmentationConfig(silhouette_exact_max=1_000, silhouette_sample_size=900),
    ):
        rows = silhouette_rows(len(X), config)
        assert len(rows) == min(
            len(X), config.silhouette_sample_size if len(X) > config.silhouette_exact_max else len(X)
        )
        with ml_threads(config):
            assert sklearn.get_config()["working_memory"] == SKLEARN_WORKING_MEMORY_MIB
            blocked, measured = silhouette(X, y, config)
        assert measured == len(rows) and blocked == pytest.approx(
            silhouette_score(X[rows], y[rows]), abs=1e-12
        )


def test_the_sweeps_silhouettes_are_scikit_learns_from_one_pass():
    """Every labeling of a sweep measured from one pass over the distances equals scikit-learn's
    silhouette_score of it, blocks or not: labels with gaps (a k where Birch or a mixture formed
    fewer groups), a group of one (its silhouette is 0), two groups, and one group (nan)."""
    X, y = make_blobs(n_samples=700, centers=4, n_features=3, random_state=8)
    gaps = np.where(y == 1, 7, y)
    single = y.copy()
    single[0] = 9
    labelings = [y, gaps, single, (y > 1).astype(int), np.zeros(700, dtype=int)]
    config = SegmentationConfig()
    whole = silhouettes(X, labelings, config)
    with sklearn.config_context(working_memory=1):  # 1 MiB: blocks of 187 rows
        blocked = silhouettes(X, labelings, config)
    for labels, (score, rows), (again, _) in zip(labelings, whole, blocked, strict=True):
        assert rows == 700
        if len(np.unique(labels)) < 2:
            assert np.isnan(score) and np.isnan(again)
        else:
            assert score == pytest.approx(silhouette_score(X, labels), abs=1e-12)
            assert again == pytest.approx(score, abs=1e-12)
    with pytest.raises(ValueError, match="2 to 3 groups of the 4 rows"):
        silhouettes(X[:4], [np.arange(4)], config)


def test_sample_rows_is_sorted_deterministic_and_complete_when_small():
    assert (sample_rows(10, 20, 0) == np.arange(10)).all()
    a, b = sample_rows(1_000, 100, 7), sample_rows(1_000, 100, 7)
    assert (a == b).all() and len(np.unique(a)) == 100 and (np.diff(a) > 0).all()


def test_too_few_customers_says_what_to_do():
    X = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.raises(ValueError, match=r"Too few customers.*6 customers.*at least 10"):
        k_sweep(X, SegmentationConfig())


@pytest.mark.parametrize(
    "kwargs", [{}, {"k_min": 11, "k_max": 12}, {"n_clusters": 12}, {"k_max": 11, "n_clusters": 5}]
)
def test_too_few_customers_hint_is_a_setting_that_works(kwargs):
    import re

    X, _ = make_blobs(n_samples=10, centers=2, random_state=0)
    with pytest.raises(ValueError, match=r"Too few customers.*10 customers") as raised:
        k_sweep(X, SegmentationConfig(n_init=1, **kwargs))
    hint = re.search(r"--vars '\{(.*?)\}'", str(raised.value)).group(1)
    fixed = {**kwargs, **{k: int(v) for k, v in (p.split(": ") for p in hint.split(", "))}}
    k_sweep(X, SegmentationConfig(n_init=1, **fixed))  # the suggested settings build


def test_forced_k_outside_range_extends_the_sweep():
    X, _ = make_blobs(n_samples=400, centers=3, random_state=3)
    sweep, chosen, _ = k_sweep(X, SegmentationConfig(k_min=2, k_max=4, n_clusters=6, n_init=2))
    assert chosen == 6 and sweep["k"].max() == 6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k_min": 1}, "k_min"),
        ({"k_min": 5, "k_max": 3}, "k_min"),
        ({"algorithm": "dbscan"}, "segmentation_algorithm"),
        ({"features": ("a",), "log_features": ("b",)}, "segmentation_log_features"),
        ({"clip_quantiles": (0.9, 0.1)}, "clip_quantiles"),
        ({"pca_components": 5}, "pca_components"),
        ({"sweep_sample_size": 10}, "sweep_sample_size"),
    ],
)
def test_invalid_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SegmentationConfig(**kwargs)


def test_settings_from_dbt_vars_json():
    config = SegmentationConfig.from_vars(
        '{"segmentation_features": ["recency_days", "order_count"], "segmentation_log_features": ["order_count"],'
        ' "k_max": 6, "n_clusters": null, "segmentation_algorithm": "gmm", "segmentation_pca_components": 2}'
    )
    assert config.features == ("recency_days", "order_count")
    assert config.k_values == [2, 3, 4, 5, 6]
    assert config.algorithm == "gmm" and config.pca_components == 2 and config.n_clusters is None


def test_readiness_says_why_with_hints_computed_from_the_counts_they_state():
    from custseg.segmentation.readiness import check_segmentation_input

    assert check_segmentation_input({"customers": 50, "settings": {}}) == {"ok": True}
    # null_customer is the largest group but not most lines: the hint says so, with its count
    answer = check_segmentation_input(
        {"customers": 0, "outcomes": {"null_customer": 40, "cancellation": 35, "clean": 25}, "settings": {}}
    )
    assert not answer["ok"] and "Most lines" not in answer["error"]
    assert "The largest group of lines is null_customer (40 of 100, 40%)" in answer["error"]
    most = check_segmentation_input({"customers": 0, "outcomes": {"null_customer": 60, "clean": 40}})
    assert "Most lines are null_customer (60 of 100, 60%)" in most["error"]
    few = check_segmentation_input({"customers": 12, "settings": {"k_max": 12}})
    assert "Too few customers for clustering: 12 customers" in few["error"] and "k_max: 11" in few["error"]
    cut = check_segmentation_input(
        {"customers": 12, "training_customers": 0, "settings": {"training_cutoff_date": "2010-01-01"}}
    )
    assert "training_cutoff_date=2010-01-01" in cut["error"]


def test_no_customer_messages_point_where_the_lines_are_and_at_the_setting_that_left_them_out():
    from custseg.segmentation.readiness import no_customers_message

    # clean lines after as_of_date: the first hint is the date, the column map only after it
    late = no_customers_message({"clean": 900, "unparseable_value": 1000})
    assert (
        late.index(
            "1,900 raw lines: 1,000 unparseable_value, 900 clean. 900 lines are clean purchases, but none"
        )
        > 0
    )
    assert late.index("before as_of_date") < late.index("column_map")
    returns = no_customers_message({"cancellation": 30})
    assert "Most lines are cancellation (30 of 30, 100%): only cancellations" in returns
    for message in (late, returns):  # a stopped build published nothing: no marts to point at
        assert "marts." not in message and "intermediate.int_transactions__classified" in message
