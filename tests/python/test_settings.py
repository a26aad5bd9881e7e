"""The pre-flight check of every var (custseg.settings), with hostile values."""

from __future__ import annotations

import pytest

from custseg.settings import CUSTOMER_FEATURES, check_date, check_settings

HOSTILE = [
    "2011-01-01'; drop table x; --",
    "2011-01-01 /* */",
    "'); select 1; --",
    "2011-13-01",
    "2011-02-30",
]


@pytest.mark.parametrize("name", ["as_of_date", "training_cutoff_date", "min_valid_date", "max_valid_date"])
@pytest.mark.parametrize("value", HOSTILE)
def test_date_vars_accept_only_calendar_dates(name, value):
    result = check_settings({name: value})
    assert not result["ok"] and name in result["error"]
    assert check_settings({name: "2011-09-01"}) == {"ok": True}
    assert check_settings({name: ""}) == {"ok": True} and check_settings({name: None}) == {"ok": True}


def test_date_var_messages_show_the_format():
    assert "YYYY-MM-DD" in check_date("as_of_date", "01/09/2011")
    assert "not a calendar date" in check_date("as_of_date", "2011-02-30")
    assert check_date("as_of_date", 20110901) is not None


@pytest.mark.parametrize(
    "values, message",
    [
        ({"segmentation_algorithm": "dbscan"}, "segmentation_algorithm must be one of"),
        ({"k_min": 5, "k_max": 3}, "k_min <= k_max"),
        ({"segmentation_features": ["recency_days", "shoe_size"]}, "['shoe_size'] are not customer features"),
        ({"segmentation_features": ["x; drop table y"]}, "are not customer features"),
        ({"segmentation_features": "recency_days"}, "must be a list"),
        ({"classifier": "svm"}, "classifier must be one of"),
        ({"min_valid_date": "2012-01-01", "max_valid_date": "2011-01-01"}, "must be before max_valid_date"),
        ({"publish": "yes"}, "publish must be true or false"),
        ({"k_min": "two"}, "k_min must be a whole number, got 'two'"),
        ({"n_init": 2.5}, "n_init must be a whole number"),
    ],
)
def test_invalid_settings_are_named(values, message):
    result = check_settings(values)
    assert not result["ok"] and message in result["error"]


def test_several_problems_are_reported_together():
    error = check_settings({"segmentation_algorithm": "dbscan", "k_min": 5, "k_max": 3})["error"]
    assert "segmentation_algorithm" in error and "k_min" in error


def test_defaults_pass():
    assert check_settings({}) == {"ok": True}
    assert set(CUSTOMER_FEATURES) >= {"recency_days", "order_count", "monetary_value"}


def test_python_defaults_are_the_project_vars():
    """dbt_project.yml is the one source of the defaults: the Python configs' fallbacks equal it,
    and every var the Python models read reaches them and the pre-flight check."""
    import re
    from dataclasses import asdict

    import yaml

    from conftest import REPO
    from custseg.segmentation.config import ClassifierConfig, LifecycleConfig, SegmentationConfig

    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    renamed = {
        "features": "segmentation_features",
        "log_features": "segmentation_log_features",
        "clip_quantiles": "segmentation_clip_quantiles",
        "pca_components": "segmentation_pca_components",
        "algorithm": "segmentation_algorithm",
        "value_feature": "segment_value_feature",
    }
    for field, value in asdict(SegmentationConfig()).items():
        expected = project[renamed.get(field, field)]
        assert (list(value) if isinstance(value, tuple) else value) == expected, field
    classifier = {"classifier": "classifier", "random_state": "random_state"}
    for field, value in asdict(ClassifierConfig()).items():
        assert value == project[classifier.get(field, f"classifier_{field}")], field
    lifecycle = LifecycleConfig()
    assert lifecycle.mode == project["segmentation_mode"]
    assert lifecycle.refit_policy == project["refit_policy"]
    assert lifecycle.pinned_version == project["segmentation_model_version"]
    assert {k: list(v) for k, v in lifecycle.thresholds.items()} == project["drift_thresholds"]
    python_vars = set(
        re.findall(
            r"'([a-z_]+)': var\(", (REPO / "python_models/segmentation/_segmentation__models.yml").read_text()
        )
    )
    checked = set(
        re.findall(
            r"'([a-z_]+)'",
            (REPO / "macros/ingest/preflight.sql").read_text().split("{% macro settings_options()")[1],
        )
    )
    assert python_vars <= set(project) and python_vars <= checked
