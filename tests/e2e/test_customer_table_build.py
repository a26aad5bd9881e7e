"""End-to-end builds of a customer table (var customers_path) on a generated fixture with every
problem a real table has: null and duplicate ids, missing and unreadable numbers, outliers, a
boolean in words, a day-first date, a categorical with nulls, an all-null and a constant column,
an engineered feature that divides by zero. Checked against pandas computations on the same file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import DUPLICATES, NULL_IDS, VARS, N, fixture_table

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def customer_file(customer_table_warehouse):
    return customer_table_warehouse.source


@pytest.fixture(scope="module")
def clip_build(customer_table_warehouse):
    """The session's customer-table warehouse (conftest): helpers.fixture_table with helpers.VARS."""
    return customer_table_warehouse


def kept_rows() -> pd.DataFrame:
    """The rows the id check keeps, as pandas sees them (row numbers from 1)."""
    frame = fixture_table()
    frame["source_row_number"] = np.arange(1, len(frame) + 1)
    frame = frame[frame["Member ID"].notna()]
    return frame[~frame["Member ID"].duplicated()]


def test_every_row_is_kept_or_quarantined_with_its_reason(clip_build):
    reasons = dict(
        clip_build.query(
            "select quarantine_reason, count(*) from marts.fct_customer_table_quarantine group by 1"
        )
    )
    assert reasons == {"null_customer_id": NULL_IDS, "duplicate_customer_id": DUPLICATES}
    kept = clip_build.scalar("select count(*) from marts.dim_customer_attributes")
    assert kept == N - NULL_IDS == len(kept_rows())
    assert kept + NULL_IDS + DUPLICATES == len(fixture_table())
    # the first copy of a repeated id is the one kept (its visits are not the later copies' 99)
    assert clip_build.scalar("select max(visits) from marts.dim_customer_attributes") < 99
    assert "Customer table checked: 243 rows, id column Member ID" in clip_build.output


def test_columns_are_typed_and_accounted(clip_build):
    columns = {
        row[0]: row[1:]
        for row in clip_build.query(
            "select column_name, column_kind, missing_count, unreadable_count, imputed_count, impute_value "
            "from marts.fct_customer_table_columns"
        )
    }
    assert {name: value[0] for name, value in columns.items()} == {
        "spend": "numeric",
        "visits": "numeric",
        "kids": "numeric",
        "newsletter": "boolean",
        "joined": "date",
        "city": "categorical",
        "notes": "empty",
        "country": "categorical",
        "constant_score": "numeric",
    }
    spend = pd.to_numeric(kept_rows()["spend"], errors="coerce")
    _, missing, unreadable, imputed, impute_value = columns["spend"]
    assert (missing, unreadable, imputed) == (6, 1, 6)
    assert impute_value == pytest.approx(float(spend.median()))


def test_missing_values_are_imputed_and_outliers_clipped_and_recorded(clip_build):
    spend = pd.to_numeric(kept_rows()["spend"], errors="coerce").dropna()
    q1, q3 = np.percentile(spend, [25, 75])
    upper = q3 + 3.0 * (q3 - q1)
    outliers = clip_build.query(
        "select customer_id, original_value, upper_bound, clipped_value, action "
        "from marts.fct_customer_table_outliers where column_name = 'spend' order by customer_id"
    )
    assert [(r[0], r[1], r[4]) for r in outliers] == [
        ("m0005", 25_000.0, "clipped"),
        ("m0006", 31_000.0, "clipped"),
    ]
    assert all(r[2] == pytest.approx(upper) and r[3] == pytest.approx(upper) for r in outliers)
    values = dict(clip_build.query("select customer_id, spend from marts.dim_customer_attributes"))
    assert values["m0005"] == pytest.approx(upper)
    for missing in ("m0003", "m0008", "m0011", "m0021"):
        assert values[missing] == pytest.approx(float(spend.median()))
    assert clip_build.scalar("select count(*) from marts.dim_customer_attributes where spend is null") == 0


def test_categoricals_are_one_hot_with_missing_and_other_levels(clip_build):
    rows = clip_build.query(
        'select customer_id, city, "city=Lyon" + "city=Paris" + "city=Nice" + "city=(other)" '
        "from marts.dim_customer_attributes"
    )
    assert all(total == 1 for _, _, total in rows)
    expected = kept_rows().set_index("Member ID")["city"].fillna("(missing)")
    assert {cid: city for cid, city, _ in rows} == expected.to_dict()
    assert (
        clip_build.scalar('select sum("city=(other)") from marts.dim_customer_attributes')
        == (expected == "(missing)").sum()
    )
    assert (
        clip_build.scalar("select min(newsletter), max(newsletter) from marts.dim_customer_attributes") == 0
    )


def test_engineered_features_equal_their_expression_and_nulls_take_the_median(clip_build):
    frame = pd.DataFrame(
        clip_build.query(
            "select customer_id, spend, visits, kids, spend_per_visit, family from marts.dim_customer_attributes"
        ),
        columns=["customer_id", "spend", "visits", "kids", "spend_per_visit", "family"],
    ).set_index("customer_id")
    ratio = frame["spend"] / frame["visits"].where(frame["visits"] != 0)
    assert np.allclose(frame["spend_per_visit"][ratio.notna()], ratio.dropna())
    assert (frame.loc[["m0013", "m0014", "m0015", "m0016"], "spend_per_visit"] == ratio.median()).all()
    assert (frame["family"] == frame["kids"] + 2).all()


def test_customers_are_segmented_with_names_from_their_features(clip_build):
    segments = clip_build.query(
        "select count(*), count(distinct cluster_id), count(segment_description), count(recommended_action), "
        "count(rfm_segment) from marts.dim_customer_segments"
    )[0]
    assert segments[0] == N - NULL_IDS and segments[1] >= 2
    assert segments[2] == segments[3] == segments[0]  # every segment described, with an action
    assert segments[4] == 0  # no RFM from a customer table
    names = [r[0] for r in clip_build.query("select segment_name from marts.fct_segment_profiles")]
    assert len(set(names)) == len(names)
    assert all(any(word in n for word in ("High", "Low", "city", "newsletter", "Typical")) for n in names)
    # PCA: 2 components over 5 features, scored in SQL equal to Python (a data test of the build)
    assert clip_build.scalar("select count(*) from marts.dim_segmentation_pca_loadings") == 2 * 5
    assert clip_build.scalar("select count(*) from marts.fct_sql_centroid_scores") == N - NULL_IDS
    accuracy = clip_build.scalar("select value from marts.fct_classifier_metrics where metric = 'accuracy'")
    assert 0 <= accuracy <= 1


def test_a_bad_customer_table_setting_stops_the_build_naming_it(customer_file, tmp_path):
    from helpers import run_dbt

    run = run_dbt(
        tmp_path,
        "build",
        vars={
            "customers_path": str(customer_file),
            **VARS,
            "engineered_features": {"wealth": "spend * income"},
        },
    )
    assert run.returncode != 0
    assert "Customer table problem: engineered feature 'wealth': 'income'" in run.output
    assert "Columns: spend, visits, kids, newsletter, joined, city, country, constant_score" in run.output
    assert (
        not (tmp_path / "wh.duckdb").exists()
        or run.scalar("select count(*) from information_schema.tables where table_schema = 'marts'") == 0
    )


# columns a real export can have: SQL keywords, quotes, spaces, dots, non-ASCII letters
HOSTILE_COLUMNS = ["select", "from", "order", "group", 'say "hi"', "with space", "dot.name", "Ünïcode"]


def _wide_columns(rows: int, columns: int) -> pd.DataFrame:
    """Columns c0, c1, ... of noise, with an outlier in every column (the first row)."""
    rng = np.random.default_rng(5)
    values = pd.DataFrame(
        rng.normal(size=(rows, columns)).round(3), columns=[f"c{j}" for j in range(columns)]
    )
    values.iloc[0, :] = 1_000.0
    return values


WIDE = 400


def test_columns_named_like_keywords_or_with_quotes_build_and_score(tmp_path):
    """Every column a keyword or holding quotes, spaces, dots and non-ASCII letters, beside 400
    more columns (docs/bad-inputs.md: 1,000 take 86 s): the whole build (typing, one-hot, PCA, the decision tree's SQL and its
    data test, profiles, SQL scoring) passes, every column gets its statistics and its outlier
    found, the outlier rule quarantine takes the outliers' rows out, and custseg score assigns
    new customers from the published tables."""
    import subprocess
    import sys
    from pathlib import Path

    from helpers import run_dbt

    rng = np.random.default_rng(3)
    n = 120
    group = rng.integers(0, 3, n)
    frame = pd.DataFrame({"ID": [f"k{i:03d}" for i in range(n)]})
    for j, column in enumerate(HOSTILE_COLUMNS[:-1]):
        frame[column] = np.round((group + 1) * (10 + j) + rng.normal(0, 2, n), 2)
    frame[HOSTILE_COLUMNS[-1]] = rng.choice(["Zürich", "Genève", "Bâle"], n)  # a categorical
    path = tmp_path / "keywords.csv"
    pd.concat([frame, _wide_columns(n, WIDE)], axis=1).to_csv(path, index=False)
    features = [*HOSTILE_COLUMNS[:-1], "Ünïcode=Zürich"]
    run = run_dbt(
        tmp_path,
        "build",
        vars={
            "customers_path": str(path),
            "segmentation_features": features,
            "segmentation_log_features": ["select"],
            "segmentation_pca_components": 2,
            "engineered_features": {"total": '"select" + "from" + "say ""hi""" + "dot.name"'},
            "segment_value_feature": "total",
            "k_max": 4,
            "outlier_rule": "quarantine",
            "outlier_iqr_factor": 5.0,
        },
    )
    assert run.returncode == 0, run.output[-4000:]
    # outlier_rule quarantine: the rows with an outlier are taken out, every one of them
    outliers = {r[0] for r in run.query("select distinct customer_id from marts.fct_customer_table_outliers")}
    assert "k000" in outliers  # the row of the wide columns' planted outliers
    quarantined = {
        r[0]
        for r in run.query(
            "select customer_id from marts.fct_customer_table_quarantine where quarantine_reason = 'outlier'"
        )
    }
    assert quarantined == outliers
    kept = n - len(outliers)
    assert run.scalar("select count(*) from marts.dim_customer_attributes") == kept
    assert run.scalar("select count(*) from marts.dim_customer_segments") == kept
    assert run.scalar("select count(*) from marts.fct_sql_centroid_scores") == kept
    rules = run.scalar("select max(tree_case_sql) from marts.dim_classifier_tree_rules")
    assert "cast(from as" not in rules and "cast(select as" not in rules
    # the SQL layer computes every wide column's statistics and finds its planted outlier
    # (10,000 columns once ended in SIGSEGV; past customer_table_max_columns the probe refuses)
    wide = "column_name similar to 'c[0-9]+'"
    stats = run.query(
        f"select count(*), min(row_count), max(missing_count) from intermediate.int_customer_table__column_stats where {wide}"
    )
    assert stats == [(WIDE, n, 0)]
    assert (
        run.scalar(
            f"select count(distinct column_name) from intermediate.int_customer_table__outliers where {wide}"
        )
        == WIDE
    )
    # new customers scored with the published model, from a file with the same columns
    # (scoring takes the model's features: the one-hot column as 0/1)
    firsts = [i for i in range(n) if f"k{i:03d}" not in outliers][:5]
    new = frame.drop(columns=["ID"]).iloc[firsts].assign(customer_id=[f"new{i}" for i in range(5)])
    new["Ünïcode=Zürich"] = (new["Ünïcode"] == "Zürich").astype(int)
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    cli = str(Path(sys.executable).with_name("custseg"))
    done = subprocess.run(
        [cli, "score", str(new_path), "--no-transactions", "--db", str(run.serving_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(__import__("io").StringIO(done.stdout))
    assert list(scored["customer_id"]) == [f"new{i}" for i in range(5)]
    expected = dict(run.query("select customer_id, segment_name from marts.dim_customer_segments"))
    assert list(scored["segment_name"]) == [expected[f"k{i:03d}"] for i in firsts]


def test_wide_tables_are_refused_at_once_past_the_limit(tmp_path):
    """10,000 columns (dbt died with SIGSEGV after ~210 s): the probe the pre-flight runs names
    the limit and the setting, within seconds (a build below it: the test above)."""
    import time

    from custseg.inputs.customer_options import OPTIONS
    from custseg.inputs.customer_probe import probe_customer_table
    from custseg.project import project_var

    wide = tmp_path / "wide.csv"
    pd.concat([pd.DataFrame({"ID": [f"w{i}" for i in range(60)]}), _wide_columns(60, 10_000)], axis=1).to_csv(
        wide, index=False
    )
    started = time.perf_counter()
    defaults = {name: project_var(name) for name in OPTIONS}  # the vars as a build passes them
    refused = probe_customer_table({**defaults, "customers_path": str(wide)}, cache_dir=str(tmp_path))
    assert time.perf_counter() - started < 60  # seconds
    assert not refused["ok"]
    assert (
        "has 10,001 columns; a customer table may have at most 2,000 (customer_table_max_columns)"
        in (refused["error"])
    )
    assert "customer_table_max_columns: 10001" in refused["error"]


def test_the_documented_customer_table_command_builds_with_the_default_settings(tmp_path):
    """docs/customer-tables.md's own command for a table of your own (it failed on the default
    segmentation_log_features): its vars, on a file with the columns it names."""
    import re

    import yaml

    from helpers import REPO, run_dbt

    doc = (REPO / "docs" / "customer-tables.md").read_text()
    commands = re.findall(
        r"^bash scripts/build\.sh --vars '(\{customers_path: my_customers\.csv.*\})'$", doc, re.M
    )
    assert len(commands) == 1
    variables = yaml.safe_load(commands[0])
    rng = np.random.default_rng(9)
    columns = {name: rng.gamma(2.0, 50.0, 40).round(1) for name in variables["segmentation_features"]}
    pd.DataFrame({"ID": range(40), **columns}).to_csv(tmp_path / "my_customers.csv", index=False)
    variables["customers_path"] = str(tmp_path / "my_customers.csv")
    run = run_dbt(
        tmp_path,
        "build",
        "--select",
        "stg_customer_table__customers",
        "--indirect-selection",
        "cautious",
        vars=variables,
    )
    assert run.returncode == 0, run.output[-3000:]
    assert "Customer table checked: 40 rows, id column ID" in run.output
