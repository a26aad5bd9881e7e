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


def test_python_defaults_are_the_project_vars(tmp_path, monkeypatch):
    """dbt_project.yml is the one source of the defaults: every settings field names its var and
    takes its default from the project file (change the file, the defaults follow); the lists
    the dbt side keeps (the Python models' YAML blocks, the pre-flight's settings_options) name
    every var their domain's models declare (custseg.varconfig)."""
    import re

    import yaml

    from custseg.ml_lifecycle import LifecycleConfig
    from custseg.segmentation.config import ClassifierConfig, SegmentationConfig
    from custseg.value.config import ValueConfig
    from helpers import REPO

    text = (REPO / "dbt_project.yml").read_text()
    project = yaml.safe_load(text)["vars"]
    configs = (SegmentationConfig, ClassifierConfig, LifecycleConfig, ValueConfig)
    for config in configs:
        fields = config.model_fields.values()
        assert all(isinstance(f.validation_alias, str) for f in fields), (
            f"{config.__name__}: a field without a var"
        )
    declared = {name for config in configs for name in config.var_names()}
    assert declared <= set(project)

    # the same defaults as the project file, field by field
    assert SegmentationConfig().k_max == project["k_max"]
    assert list(SegmentationConfig().features) == project["segmentation_features"]
    assert LifecycleConfig().thresholds == {k: tuple(v) for k, v in project["drift_thresholds"].items()}
    assert ValueConfig().horizons_days == tuple(sorted(project["clv_horizons_days"]))

    # another project file: the defaults are its values (no second copy in Python)
    changed = yaml.safe_load(text)
    changed["vars"].update(
        k_max=7,
        segmentation_features=["recency_days", "monetary_value"],
        segmentation_log_features=["monetary_value"],
        classifier_n_estimators=33,
        segmentation_mode="score",
        clv_horizon_days=180,
        drift_thresholds={**project["drift_thresholds"], "feature_psi": [0.2, 0.4]},
    )
    (tmp_path / "dbt_project.yml").write_text(yaml.safe_dump(changed))
    monkeypatch.setenv("CUSTSEG_PROJECT_DIR", str(tmp_path))
    segmentation, classifier, lifecycle = SegmentationConfig(), ClassifierConfig(), LifecycleConfig()
    assert (segmentation.k_max, segmentation.features) == (7, ("recency_days", "monetary_value"))
    assert classifier.n_estimators == 33 and lifecycle.mode == "score" and ValueConfig().horizon_days == 180
    assert lifecycle.thresholds["feature_psi"] == (0.2, 0.4)
    # a var left out of the settings JSON, or null, takes the project's value; a partial
    # drift_thresholds keeps the project's other measures
    from_vars = SegmentationConfig.from_vars({"k_min": 3, "k_max": None})
    assert (from_vars.k_min, from_vars.k_max) == (3, 7)
    partial = LifecycleConfig.from_vars({"drift_thresholds": {"distance_ratio": [1.1, 1.2]}})
    assert partial.thresholds["feature_psi"] == (0.2, 0.4)
    assert partial.thresholds["distance_ratio"] == (1.1, 1.2)

    # each Python model folder passes every var its domain's models declare, and the pre-flight
    # checks them all
    folders = {
        "python_models/segmentation/_segmentation__models.yml": (
            SegmentationConfig,
            ClassifierConfig,
            LifecycleConfig,
        ),
        "python_models/value/_value__models.yml": (ValueConfig, LifecycleConfig),
    }
    for yml, domain in folders.items():
        passed = set(re.findall(r"'([a-z_]+)': var\(", (REPO / yml).read_text()))
        wanted = {name for config in domain for name in config.var_names()}
        assert wanted <= passed <= set(project), f"{yml}: add {sorted(wanted - passed)}"
    preflight = (REPO / "macros/ingest/preflight.sql").read_text().split("{% macro settings_options()")[1]
    checked = set(re.findall(r"'([a-z_]+)'", preflight))
    assert declared <= checked, (
        f"settings_options() in macros/ingest/preflight.sql: add {sorted(declared - checked)}"
    )


def test_a_missing_project_says_where_to_point(tmp_path, monkeypatch):
    from custseg.project import ProjectError, project_var

    monkeypatch.setenv("CUSTSEG_PROJECT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ProjectError, match="set CUSTSEG_PROJECT_DIR"):
        project_var("k_max")


def test_a_calibration_end_outside_the_inputs_dates_is_refused_with_a_day_that_works():
    from custseg.value.config import calibration_end_problem

    span = {"date_range": ["2010-12-01", "2011-12-09"], "as_of_date": "", "batches_loaded": False}
    assert calibration_end_problem({**span, "clv_calibration_end": "2011-07-01"}) == {"ok": True}
    # the calibration end is the last day of the calibration period: on the first day it is
    # allowed (that day's customers are fitted), on the last day it is not (no holdout day left)
    assert calibration_end_problem({**span, "clv_calibration_end": "2010-12-01"}) == {"ok": True}
    assert calibration_end_problem({**span, "clv_calibration_end": "2011-12-08"}) == {"ok": True}
    after = calibration_end_problem({**span, "clv_calibration_end": "2011-12-09"})
    assert not after["ok"] and "the last purchase date in the input is 2011-12-09" in after["error"]
    before = calibration_end_problem({**span, "clv_calibration_end": "2010-11-30"})
    assert not before["ok"] and "before the first purchase date in the input (2010-12-01)" in before["error"]
    # stored lines may be older than a weekly batch: only the upper bound applies then
    assert calibration_end_problem({**span, "clv_calibration_end": "2010-06-01", "batches_loaded": True})[
        "ok"
    ]
    with_snapshot = {**span, "as_of_date": "2011-09-01"}
    assert calibration_end_problem({**with_snapshot, "clv_calibration_end": "2011-08-30"}) == {"ok": True}
    at_snapshot = calibration_end_problem({**with_snapshot, "clv_calibration_end": "2011-08-31"})
    assert (
        not at_snapshot["ok"]
        and "before as_of_date (2011-09-01), so it must be 2011-08-30" in at_snapshot["error"]
    )
    # the example in the message is a day that passes
    example = after["error"].split('clv_calibration_end: "')[1].split('"')[0]
    assert calibration_end_problem({**span, "clv_calibration_end": example}) == {"ok": True}


def test_a_settings_model_pickles_to_the_same_bytes_in_every_process_and_old_pickles_load():
    """The settings are pickled inside the signed model artifacts: the bytes must not follow the
    process's string hashing (a rebuild gives the same artifact digest), and an artifact pickled
    when the settings were dataclasses (state = the fields) still loads."""
    import os
    import pickle
    import subprocess
    import sys

    code = (
        "import hashlib, pickle\n"
        "from custseg.segmentation.config import SegmentationConfig\n"
        "print(hashlib.sha256(pickle.dumps(SegmentationConfig.from_vars({'k_min': 3, 'k_max': 8, 'n_init': 4, 'random_state': 1, 'ml_threads': 1}))).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(digests) == 1

    from custseg.segmentation.config import SegmentationConfig

    config = SegmentationConfig(k_max=7)
    assert pickle.loads(pickle.dumps(config)) == config
    legacy = SegmentationConfig.__new__(SegmentationConfig)
    legacy.__setstate__(dict(config.__dict__))  # how a dataclass's pickle restores: its fields
    assert legacy == config and legacy.k_max == 7
