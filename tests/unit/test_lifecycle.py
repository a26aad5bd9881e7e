"""Segments over time in the package: drift measures, the refit decision, version matching and
the registry's run rows (segmentation.lifecycle, segmentation.step.run)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from custseg.segmentation import ClassifierConfig, LifecycleConfig, SegmentationConfig, lifecycle, step
from custseg.segmentation.fit import customer_matrix
from custseg.segmentation.reports import decode_report
from custseg.segmentation.score import load_model
from segmentation_helpers import planted_customers, seed_names

CONFIG = SegmentationConfig(n_init=2, n_clusters=4)
CLASSIFIER = ClassifierConfig(n_estimators=5)


def _frame(
    seed: int = 3, as_of: str = "2011-12-10", spend: float = 1.0, id_prefix: str = "c"
) -> pd.DataFrame:
    customers, _ = planted_customers(4, per_group=150, seed=seed)
    customers["monetary_value"] = customers["monetary_value"] * spend
    customers["customer_id"] = customers["customer_id"].str.replace("c", id_prefix)
    return customers.assign(
        country="France",
        as_of_date=pd.Timestamp(as_of),
        first_purchase_at=pd.Timestamp("2011-01-01"),
        **{c: 1.0 for c in ("monetary_gross", "returned_value", "tenure_days", "avg_order_value",
                            "items_per_order", "line_count", "distinct_products", "return_line_count",
                            "return_rate")},
    )  # fmt: skip


def _run(frame, previous=None, **lifecycle_vars) -> pd.DataFrame:
    new = step.run(
        frame,
        seed_names(),
        step.registry_frame(previous),
        CONFIG,
        CLASSIFIER,
        LifecycleConfig.from_vars(lifecycle_vars),
    ).to_pandas()
    return new if previous is None else pd.concat([previous, new], ignore_index=True)


@pytest.fixture(scope="module")
def first():
    return _run(_frame())


def _runs(registry):
    return registry[registry["model_kind"] == "run"].sort_values("run_id")


def _active(registry) -> int:
    """The active version by the step's rule (the last run's version; ml_active_models in SQL)."""
    return step.reference_model(registry, LifecycleConfig()).version


def _model(registry, version):
    return load_model(registry[registry["model_version"] == version])


def _drift(registry) -> pd.DataFrame:
    """Every run's drift report with its run id (what marts.fct_segmentation_drift unpacks)."""
    return pd.concat(
        [
            decode_report(run.reports, "drift").assign(run_id=run.run_id)
            for run in _runs(registry).itertuples()
        ],
        ignore_index=True,
    )


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    ref = np.array([0.25, 0.25, 0.25, 0.25])
    assert lifecycle.psi(ref, ref) == 0
    small, large = np.array([0.3, 0.2, 0.25, 0.25]), np.array([0.7, 0.1, 0.1, 0.1])
    assert 0 < lifecycle.psi(small, ref) < 0.1 < 0.25 < lifecycle.psi(large, ref)
    # an empty bin is floored, not infinite
    assert np.isfinite(lifecycle.psi(np.array([1.0, 0, 0, 0]), ref))


def test_status_thresholds_and_worst():
    assert lifecycle.status_of(0.05, 0.1, 0.25) == "ok"
    assert lifecycle.status_of(0.1, 0.1, 0.25) == "warn"
    assert lifecycle.status_of(0.3, 0.1, 0.25) == "refit_recommended"
    assert lifecycle.worst(["ok", "refit_recommended", "warn"]) == "refit_recommended"


@pytest.mark.parametrize(
    ("settings", "has_model", "status", "changed", "expected"),
    [
        ({}, False, None, True, "fit"),
        ({}, True, "ok", True, "score"),
        ({}, True, "warn", True, "score"),
        ({}, True, "refit_recommended", True, "fit"),
        ({"refit_policy": "never"}, True, "refit_recommended", True, "score"),
        ({"refit_policy": "always"}, True, "ok", True, "fit"),
        ({"refit_policy": "always"}, True, "ok", False, "score"),
        ({"segmentation_mode": "refit"}, True, "ok", False, "fit"),
        ({"segmentation_mode": "score"}, True, "refit_recommended", True, "score"),
        ({"segmentation_model_version": 1}, True, "refit_recommended", True, "score"),
    ],
)
def test_decide(settings, has_model, status, changed, expected):
    assert lifecycle.decide(LifecycleConfig.from_vars(settings), has_model, status, changed) == expected


def test_score_mode_without_a_model_says_what_to_do():
    with pytest.raises(ValueError, match="no model has been fitted yet"):
        lifecycle.decide(LifecycleConfig(mode="score"), False, None, True)


def test_lifecycle_settings_are_checked():
    with pytest.raises(ValueError, match="segmentation_mode must be one of"):
        LifecycleConfig(mode="sometimes")
    with pytest.raises(ValueError, match="refit_policy must be one of"):
        LifecycleConfig(refit_policy="weekly")
    with pytest.raises(ValueError, match="pins version 2"):
        LifecycleConfig.from_vars({"segmentation_mode": "refit", "segmentation_model_version": 2})
    with pytest.raises(ValueError, match="unknown measure 'psi'"):
        LifecycleConfig.from_vars({"drift_thresholds": {"psi": [0.1, 0.2]}})
    with pytest.raises(ValueError, match="must not exceed"):
        LifecycleConfig.from_vars({"drift_thresholds": {"feature_psi": [0.3, 0.2]}})


def test_first_run_fits_version_1_and_records_its_drift(first):
    assert sorted(first["model_kind"]) == ["classifier", "classifier_tree", "run", "segmentation"]
    assert set(first["model_version"]) == {1} and set(first["run_id"]) == {1}
    run = _runs(first).iloc[0]
    assert run["decision"] == "fit" and run["drift_status"] == "ok"
    drift = _drift(first)
    assert set(drift["measure"]) == set(LifecycleConfig().thresholds)
    # measured against its own fit: no shift at all
    assert drift.loc[drift["measure"].str.endswith("psi"), "value"].abs().max() < 1e-9
    assert drift.loc[drift["measure"] == "tail_shift", "value"].abs().max() < 1e-9
    outliers = drift.loc[drift["measure"].str.endswith("outlier_share"), "value"]
    # beyond the training's interpolated 95th percentile: 5%, up to rounding (8 of 150 customers)
    assert len(outliers) >= 2 and outliers.between(0.04, 0.054).all()
    assert drift.loc[drift["measure"] == "distance_ratio", "value"].iloc[0] == pytest.approx(1.0)


def test_a_build_that_changes_nothing_adds_nothing(first):
    again = _run(_frame(), first)
    assert len(again) == len(first)


def test_new_customers_from_the_same_distribution_are_scored_not_refitted(first):
    both = pd.concat([_frame(), _frame(seed=11, id_prefix="n")], ignore_index=True)
    registry = _run(both, first)
    run = _runs(registry).iloc[-1]
    assert (run["decision"], run["drift_status"], run["model_version"]) == ("score", "ok", 1)
    assert len(registry) == len(first) + 1  # one run row, no new model


def test_a_shifted_population_recommends_and_gets_a_refit(first):
    shifted = pd.concat([_frame(), _frame(seed=11, id_prefix="n", spend=25.0)], ignore_index=True)
    registry = _run(shifted, first)
    run = _runs(registry).iloc[-1]
    assert run["drift_status"] == "refit_recommended" and run["decision"] == "fit"
    assert _active(registry) == 2
    drift = _drift(registry)
    monetary = drift[(drift["run_id"] == 2) & (drift["subject"] == "monetary_value")]
    assert monetary["status"].iloc[0] == "refit_recommended"
    # in score mode the drift is reported, and nothing is fitted
    scored = _run(shifted, first, segmentation_mode="score")
    assert _runs(scored).iloc[-1]["decision"] == "score" and _active(scored) == 1


def test_a_refit_keeps_ids_and_names_where_the_segments_stayed(first):
    # the same customers a little later: every cluster continues, so ids and names must stay
    later = _frame(as_of="2011-12-20")
    later["recency_days"] = later["recency_days"] + 10
    registry = _run(later, first, segmentation_mode="refit")
    assert _active(registry) == 2
    old, new = _model(first, 1), _model(registry, 2)
    assert new.names == old.names
    _, X = customer_matrix(_frame(), CONFIG)
    before = old.assign(X)["cluster_id"].to_numpy()
    after = new.assign(X)["cluster_id"].to_numpy()
    assert (before == after).mean() > 0.99
    metrics = json.loads(registry[registry["model_kind"] == "segmentation"].iloc[-1]["metrics"])
    assert metrics["matched_previous_version"] is True


def test_matching_by_overlap_undoes_a_permutation_and_says_what_is_new():
    previous = np.repeat([0, 1, 2, 3], 50)
    relabelled = np.array([2, 0, 3, 1])[previous]  # the same groups, labelled otherwise
    match = lifecycle.match_by_overlap(relabelled, previous, 4)
    assert match["previous_cluster_id"].tolist() == [1, 3, 0, 2] and match["overlap"].eq(1.0).all()
    # a fifth group split off group 3: it continues nothing, group 3 still continues (40 of 50)
    split = relabelled.copy()
    split[190:] = 4
    match = lifecycle.match_by_overlap(split, previous, 5)
    assert not match.loc[4, "matched"] and match.loc[1, "previous_cluster_id"] == 3
    assert match.loc[1, "overlap"] == pytest.approx(40 / 50) and match["matched"].sum() == 4


def _matching(registry, version) -> pd.DataFrame:
    row = registry[(registry["model_kind"] == "segmentation") & (registry["model_version"] == version)].iloc[
        0
    ]
    return decode_report(row["reports"], "cluster_matching")


def test_a_refit_with_another_seed_keeps_every_id_and_name(first):
    new = step.run(
        _frame(), seed_names(), step.registry_frame(first), CONFIG.replaced(random_state=7), CLASSIFIER,
        LifecycleConfig.from_vars({"segmentation_mode": "refit"}),
    ).to_pandas()  # fmt: skip
    registry = pd.concat([first, new], ignore_index=True)
    assert _model(registry, 2).names == _model(first, 1).names
    matching = _matching(registry, 2)
    assert matching["status"].eq("continued").all() and matching["overlap"].gt(0.9).all()
    assert (matching["previous_cluster_id"] == matching["cluster_id"]).all()
    assert set(matching["previous_model_version"]) == {1}


def test_a_refit_with_another_k_keeps_the_continuing_segments_and_numbers_the_new_one(first):
    new = step.run(
        _frame(), seed_names(), step.registry_frame(first), CONFIG.replaced(n_clusters=5), CLASSIFIER,
        LifecycleConfig.from_vars({"segmentation_mode": "refit"}),
    ).to_pandas()  # fmt: skip
    registry = pd.concat([first, new], ignore_index=True)
    matching = _matching(registry, 2).set_index("cluster_id")
    continued = matching[matching["status"] != "new"]
    assert len(matching) == 5 and len(continued) >= 3 and (matching["status"] == "new").sum() >= 1
    # a continuing segment keeps its id; the new one takes an id no continuing segment has
    assert (continued["previous_cluster_id"] == continued.index).all()
    assert matching.loc[matching["status"] == "new", "previous_cluster_id"].isna().all()
    before, after = _model(first, 1).names, _model(registry, 2).names
    kept = continued[continued["status"] == "continued"]
    assert all(after[i] == before[i] for i in kept.index)


def test_a_pinned_version_scores_with_it(first):
    registry = _run(_frame(seed=3, as_of="2011-12-20"), first, segmentation_mode="refit")
    pinned = _run(_frame(seed=3, as_of="2011-12-30"), registry, segmentation_model_version=1)
    assert _active(pinned) == 1
    with pytest.raises(ValueError, match="segmentation_model_version 7 is not in the registry"):
        _run(_frame(seed=3, as_of="2012-01-30"), registry, segmentation_model_version=7)


def test_changed_segmentation_settings_refit_in_auto_mode(first):
    config = SegmentationConfig(n_init=2, n_clusters=3)
    new = step.run(_frame(), seed_names(), first, config, CLASSIFIER, LifecycleConfig()).to_pandas()
    assert set(new["model_version"]) == {2} and "segmentation" in set(new["model_kind"])


def test_a_registry_from_the_release_with_arrow_reports_is_refused_saying_how_to_upgrade_it(first):
    legacy = first.assign(reports=[b"\xff\xff\xff\xff"] * len(first))
    with pytest.raises(ValueError, match=r"earlier release.*custseg upgrade-registry"):
        step.registry_frame(legacy)


def test_column_labels_round_trip_through_the_registry_without_a_refit():
    """A registered model's settings read back equal to the build's (column_labels pairs are
    JSON lists in the registry): an unchanged build with labels is not a settings change."""

    config = CONFIG.replaced(column_labels=(("monetary_value", "spend"), ("order_count", "orders")))
    registry = step.run(
        _frame(), seed_names(), step.registry_frame(None), config, CLASSIFIER, LifecycleConfig()
    ).to_pandas()
    row = registry[registry["model_kind"] == "segmentation"].iloc[0]
    assert step.config_of(row).fit_settings() == config.fit_settings()
