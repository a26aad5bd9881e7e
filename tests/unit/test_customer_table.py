"""The customer-table input (custseg.inputs.customer_probe) on small fixture files: typing, the id
column, one-hot levels, engineered expressions and the checks that stop a bad table or setting
with a clear message; names beyond RFM (custseg.segmentation.traits); the classifier
on a customer table's columns. No dbt here: test_customer_table_build.py builds end to end."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from custseg.inputs.customer_probe import probe_customer_table
from custseg.segmentation import naming, traits
from custseg.segmentation.classifier import FeatureEncoder
from custseg.segmentation.naming import name_clusters, profile
from custseg.segmentation.traits import DISTINCT_EFFECT, distinguishing_text

DEFAULTS = {
    "onehot_top_n": 10,
    "impute_strategy": "median",
    "outlier_rule": "clip",
    "outlier_iqr_factor": 3.0,
    "k_min": 2,
}


def probe(tmp_path, frame: pd.DataFrame | str, name: str = "customers.csv", **options) -> dict:
    path = tmp_path / name
    if isinstance(frame, str):
        path.write_text(frame)
    elif name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if name.endswith(".tsv") else ",")
    features = options.pop("segmentation_features", None)
    result = probe_customer_table(
        {**DEFAULTS, "customers_path": str(path), **options}
        | (
            {"segmentation_features": features}
            if features is not None
            else {"segmentation_features": ["spend"]}
        ),
        cache_dir=str(tmp_path / "cache"),
    )
    return result


def kinds(result: dict) -> dict[str, str]:
    return {c["name"]: c["kind"] for c in result["columns"]}


def table(n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "ID": [f"c{i}" for i in range(n)],
            "spend": rng.integers(10, 500, n).astype(str),
            "member": rng.choice(["yes", "no"], n),
            "joined": [
                f"{d:02d}-0{m}-2020"
                for d, m in zip(rng.integers(13, 28, n), rng.integers(1, 9, n), strict=True)
            ],
            "city": rng.choice(["Lyon", "Paris", None], n),
            "blank": [None] * n,
        }
    )


def test_each_column_kind_is_inferred_from_all_of_its_values(tmp_path):
    result = probe(tmp_path, table())
    assert result["ok"], result
    assert result["id_column"] == "ID"
    assert kinds(result) == {
        "spend": "numeric",
        "member": "boolean",
        "joined": "date",
        "city": "categorical",
        "blank": "empty",
    }
    joined = next(c for c in result["columns"] if c["name"] == "joined")
    assert joined["date_order"] == "day_first"  # days above 12: day-first
    # empty columns are reported, not features; booleans are 0/1 features; categoricals one-hot
    assert "blank" not in result["features"]
    assert {"member", "city=Lyon", "city=Paris", "city=(missing)"} <= set(result["features"])


def test_a_few_words_in_a_numeric_column_keep_it_numeric_and_many_make_it_categorical(tmp_path):
    frame = table(40)
    frame.loc[0, "spend"] = "n/a"  # 1 of 40: unreadable, imputed later
    assert kinds(probe(tmp_path, frame))["spend"] == "numeric"
    frame.loc[:4, "spend"] = "unknown"  # 5 of 40 = 12.5%: not a number column
    result = probe(tmp_path, frame, segmentation_features=["member"])
    assert kinds(result)["spend"] == "categorical"


def test_kinds_can_be_overridden_and_columns_ignored(tmp_path):
    result = probe(
        tmp_path,
        table(),
        customer_column_types={"spend": "categorical", "city": "ignore"},
        segmentation_features=["member"],
    )
    assert kinds(result)["spend"] == "categorical"
    assert kinds(result)["city"] == "ignore"
    assert not any(f.startswith("city=") for f in result["features"])


def test_typed_sql_reads_the_values_it_claims(tmp_path):
    result = probe(tmp_path, table())
    con = duckdb.connect()
    typed = {c["name"]: c["typed_sql"] for c in result["columns"] if c["typed_sql"]}
    row = con.execute(
        f"select {', '.join(f'{sql} as x{i}' for i, sql in enumerate(typed.values()))} "
        f"from {result['reader_sql']} limit 1"
    ).fetchone()
    first = table().iloc[0]
    values = dict(zip(typed, row, strict=True))
    assert values["spend"] == float(first["spend"])
    assert values["member"] == (1.0 if first["member"] == "yes" else 0.0)
    day, month, year = (int(p) for p in first["joined"].split("-"))
    assert (values["joined"].day, values["joined"].month, values["joined"].year) == (day, month, year)


def test_the_id_column_is_found_by_name_or_configured(tmp_path):
    frame = table().rename(columns={"ID": "Customer ID"})
    assert probe(tmp_path, frame)["id_column"] == "Customer ID"
    missing = probe(tmp_path, table().rename(columns={"ID": "ref"}))
    assert not missing["ok"] and "customer_id_column" in missing["error"]
    typo = probe(tmp_path, table(), customer_id_column="id_")
    assert not typo["ok"] and "Did you mean 'ID'" in typo["error"]


def test_an_id_only_file_and_a_one_row_file_are_refused_with_a_reason(tmp_path):
    only_id = probe(tmp_path, "ID\n1\n2\n3\n")
    assert not only_id["ok"] and "no column to segment on" in only_id["error"]
    one_row = probe(tmp_path, "ID,spend\n1,10\n")
    assert not one_row["ok"] and "1 data row" in one_row["error"] and "at least 3" in one_row["error"]


def test_categorical_levels_are_the_top_n_with_missing_and_other(tmp_path):
    frame = pd.DataFrame(
        {
            "ID": range(12),
            "spend": range(12),
            "tier": ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + [None, "d"],
        }
    )
    result = probe(tmp_path, frame, onehot_top_n=3)
    assert result["levels"]["tier"] == ["a", "b", "c"]
    assert result["has_other"]["tier"] is True
    assert "tier=(other)" in result["features"]
    result = probe(tmp_path, frame, onehot_top_n=5)
    # a null is a level of its own; ties are broken by the level's text
    assert result["levels"]["tier"] == ["a", "b", "c", "(missing)", "d"]
    assert result["has_other"]["tier"] is False


def test_a_categorical_with_ten_thousand_levels_becomes_top_n_plus_other(tmp_path):
    n = 10_000
    frame = pd.DataFrame(
        {"ID": range(n), "spend": np.arange(n) % 97, "postcode": [f"P{i:05d}" for i in range(n)]}
    )
    result = probe(tmp_path, frame, onehot_top_n=10)
    assert result["ok"], result
    assert len(result["levels"]["postcode"]) == 10
    assert sum(f.startswith("postcode=") for f in result["features"]) == 11  # 10 levels + (other)


def test_an_expression_that_cannot_be_computed_is_named_before_the_build(tmp_path):
    result = probe(
        tmp_path, table(), engineered_features={"ratio": "spend / member", "broken": "spend + city"}
    )
    assert not result["ok"]
    assert "engineered feature 'broken' cannot be computed" in result["error"]


def test_engineered_features_may_use_earlier_ones_and_become_features(tmp_path):
    result = probe(
        tmp_path,
        table(),
        engineered_features={"double_spend": "spend * 2", "quad_spend": "double_spend * 2"},
        segmentation_features=["quad_spend"],
    )
    assert result["ok"], result
    assert [e["name"] for e in result["engineered"]] == ["double_spend", "quad_spend"]
    assert {"double_spend", "quad_spend"} <= set(result["features"])


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (["city"], "'city' is categorical: name its one-hot columns instead (city=Lyon"),
        (["joined"], "'joined' is a date column"),
        (["blank"], "'blank' is a empty column"),
        (["wealth"], "'wealth' is not a feature"),
        (["flat"], "'flat' has one value for every customer"),
        ([], "(it is empty)"),
    ],
)
def test_segmentation_features_must_be_features_of_the_table(tmp_path, features, message):
    frame = table().assign(flat=7)
    result = probe(tmp_path, frame, segmentation_features=features)
    assert not result["ok"]
    assert message in result["error"]
    assert "Features: spend, member, flat" in result["error"]


def test_bad_customer_table_settings_are_named(tmp_path):
    for options, message in [
        ({"impute_strategy": "mode"}, "impute_strategy must be one of median, mean, zero"),
        ({"outlier_rule": "drop"}, "outlier_rule must be one of clip, quarantine, none"),
        ({"outlier_iqr_factor": 0}, "outlier_iqr_factor must be a number > 0"),
        ({"onehot_top_n": 0}, "onehot_top_n must be a whole number >= 1"),
        ({"customer_column_types": {"spend": "money"}}, "each kind must be one of"),
        ({"segment_value_feature": "wealth"}, "segment_value_feature 'wealth'"),
    ]:
        result = probe(tmp_path, table(), **options)
        assert not result["ok"] and message in result["error"], (options, result)


def test_a_tab_separated_file_and_parquet_read_the_same(tmp_path):
    frame = table()
    tsv = probe(tmp_path, frame, name="c.tsv")
    parquet = probe(tmp_path, frame, name="c.parquet")
    assert tsv["ok"] and parquet["ok"]
    assert kinds(tsv) == kinds(parquet)
    assert tsv["features"] == parquet["features"]


def test_the_as_of_date_is_the_day_after_the_latest_date(tmp_path):
    result = probe(tmp_path, table())
    latest = max(pd.to_datetime(table()["joined"], format="%d-%m-%Y"))
    assert result["as_of_date"] == (latest + pd.Timedelta(days=1)).date().isoformat()
    assert probe(tmp_path, table(), as_of_date="2030-01-01")["as_of_date"] == "2030-01-01"


# -- names beyond RFM ----------------------------------------------------------------------


def _customers() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    n = 300
    cluster = np.repeat([0, 1, 2], n // 3)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "Income": np.where(cluster == 0, 90_000, 40_000) + rng.normal(0, 3_000, n),
            "Children": np.where(cluster == 1, 3, 0.5) + rng.normal(0, 0.2, n),
            "Spend": np.select([cluster == 0, cluster == 1], [2_000, 600], 100) + rng.normal(0, 30, n),
            "Gender=Female": (cluster == 2).astype(float),
        }
    )
    return frame, cluster


def test_clusters_of_a_customer_table_are_named_in_words_by_what_sets_them_apart():
    customers, cluster = _customers()
    features = ("Income", "Children", "Spend", "Gender=Female")
    scores = profile(customers, cluster, 3, features, "Spend", {"Children": "number of children"})
    names = name_clusters(scores, pd.DataFrame())
    # at most two traits, in words: a label where one is given, else the humanised column; the
    # value position leads where it sets the segment apart
    assert names == [
        "Highest spend & high income",
        "High number of children",
        "Lowest spend & Female (gender)",
    ]
    effects = pd.DataFrame(traits.effects(customers, cluster, 3, list(features))[0], columns=list(features))
    labels = {"Children": "number of children"}
    checked = scores.assign(segment_name=names)
    assert naming.false_claims(checked, pd.DataFrame(), effects, labels, "Spend") == []
    # each trait is true: the cluster mean is on the named side of the overall mean
    for j, column in ((0, "Income"), (1, "Children"), (2, "Gender=Female")):
        assert customers.loc[cluster == j, column].mean() > customers[column].mean()
    # ranked by value: the high spenders get the retention action, the lowest the re-activation
    # one, and each action leads with the segment's traits
    actions = scores["recommended_action"].tolist()
    assert actions[0].startswith("Retain") and actions[2].startswith("Re-activate")
    said = names[1][0].lower() + names[1][1:].replace(" & ", ", ")
    assert actions[1] == f"Grow: cross-sell and upsell around what sets them apart ({said})."
    assert scores.loc[0, "description"].startswith(
        "33% of customers. Sets them apart: high income (89,779 vs 56,358"
    )
    # without a value feature: ordered by size, a generic action that names the traits and says
    # how to get ranked ones
    plain = profile(customers, cluster, 3, ("Income", "Children"), "")
    assert plain["recommended_action"].str.contains("segment_value_feature").all()
    assert plain.loc[0, "recommended_action"].startswith(
        "Tailor offers and messages to what sets them apart (high income"
    )


def test_a_name_states_a_trait_only_where_no_other_segment_holds_it_more_strongly():
    """marketing_campaign named its top spender "Low web visits & high income" and called "High
    purchases" the segment with the smallest purchase lead of three above the average. A trait
    in a name must be the segment's more than any other's; a segment distinct only on traits
    others hold more strongly says so against the base ("above-average purchases")."""
    rng = np.random.default_rng(4)
    n = 400
    cluster = np.repeat([0, 1, 2, 3], n // 4)
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "Purchases": np.select([cluster == 0, cluster == 1, cluster == 2], [30, 28, 20], 5)
            + rng.normal(0, 1, n),
            "Spending": np.select([cluster == 0, cluster == 1], [2_000, 900], 300) + rng.normal(0, 20, n),
            "Visits": np.where(cluster == 2, 9, 3) + rng.normal(0, 0.5, n),
        }
    )
    features = ("Purchases", "Visits")
    scores = profile(customers, cluster, 4, features, "Spending", {"Spending": "spending"})
    names = name_clusters(scores, pd.DataFrame())
    assert names[0] == "Highest spending & high purchases"
    assert names[1] == "Above-average purchases"  # held more strongly by segment 0
    assert names[2] == "High visits"
    # segments 0, 1 and 3 visit alike (3 a month), segments 2 and 3 spend alike: none of them
    # claims "low visits" or "lowest spending"
    assert names[3] == "Low purchases"
    effects = pd.DataFrame(traits.effects(customers, cluster, 4, list(features))[0], columns=list(features))
    effects["Spending"] = traits.effects(customers, cluster, 4, ["Spending"])[0][:, 0]
    assert naming.false_claims(scores.assign(segment_name=names), pd.DataFrame(), effects, {"Spending": "spending"},
                               "Spending") == []  # fmt: skip
    # the checker catches the old names: "High purchases" on segment 1, a "Highest" that is not
    wrong = naming.false_claims(
        scores.assign(segment_name=["High visits", "High purchases", names[2], "Highest spending"]),
        pd.DataFrame(), effects, {"Spending": "spending"}, "Spending",
    )  # fmt: skip
    assert [line.split(":")[0] for line in wrong] == ["High visits", "High purchases", "Highest spending"]


def test_a_yes_no_column_named_like_an_answer_is_an_outcome_not_a_trait():
    from custseg.inputs.customer_kinds import looks_like_outcome

    for column in ("AcceptedCmp1", "Response", "Complain", "churned", "campaign_converted"):
        assert looks_like_outcome(column, 2), column
    assert not looks_like_outcome("Response", 5)  # a score with many values is a trait
    assert not looks_like_outcome("Kidhome", 2) and not looks_like_outcome("Income", 2)


def test_column_names_are_humanised_when_no_label_is_given():
    from custseg.segmentation.traits import humanise

    assert humanise("NumWebVisitsMonth") == "num web visits month"
    assert humanise("PURCHASES_TRX") == "purchases trx"
    assert humanise("Total_Spending") == "total spending"
    assert humanise("Membership Type=Gold") == "Gold (membership type)"
    assert humanise("MntWines") == "mnt wines"


def test_a_cluster_close_to_the_average_on_everything_is_called_typical():
    customers, _ = _customers()
    flat = np.zeros(len(customers), dtype=int)
    flat[::2] = 1  # two clusters drawn alike
    scores = profile(customers, flat, 2, ("Income", "Children"), "")
    assert name_clusters(scores, pd.DataFrame()) == ["Typical customers", "Typical customers 2"]
    assert (scores["distinguishing_features"] == "").all()


def test_rfm_clusters_keep_rfm_names_and_show_a_feature_that_sets_them_apart():
    rng = np.random.default_rng(2)
    n = 200
    cluster = np.repeat([0, 1], n // 2)
    customers = pd.DataFrame(
        {
            "recency_days": rng.integers(1, 300, n),
            "order_count": rng.integers(1, 10, n),
            "monetary_value": rng.uniform(10, 1000, n),
            "return_rate": np.where(cluster == 1, 0.46, 0.02) + rng.uniform(0, 0.01, n),
        }
    )
    scores = profile(customers, cluster, 2, ("recency_days", "order_count", "monetary_value"))
    assert scores["proposed_name"].isna().all()  # the RFM prototypes name them
    assert "High return_rate (0.46" in scores.loc[1, "distinguishing_features"]
    assert abs(DISTINCT_EFFECT) > 0 and distinguishing_text([]) == ""


def test_the_classifier_learns_a_customer_tables_numeric_columns_without_a_country():
    customers, _ = _customers()
    customers["source_row_number"] = np.arange(len(customers))
    customers["as_of_date"] = pd.Timestamp("2024-01-01")
    encoder = FeatureEncoder().fit(customers, top=10)
    assert encoder.use_country is False
    assert encoder.columns == ["Income", "Children", "Spend", "Gender=Female"]
    assert encoder.transform(customers).shape == (len(customers), 4)


def test_a_latin1_customer_table_names_the_encoding_and_the_setting_reads_it(tmp_path):
    path = tmp_path / "customers.csv"
    lines = ["ID,City,Spend"] + [f"{i},{'Zürich' if i % 2 else 'Genève'},{i * 10}" for i in range(20)]
    path.write_bytes("\n".join(lines).encode("latin-1"))
    options = {**DEFAULTS, "customers_path": str(path), "segmentation_features": ["Spend"]}
    result = probe_customer_table(options)
    assert not result["ok"]
    assert "is not UTF-8 text" in result["error"] and "{customers_encoding: latin-1}" in result["error"]
    fixed = probe_customer_table({**options, "customers_encoding": "latin-1"})
    assert fixed["ok"], fixed.get("error", "")
    assert set(fixed["levels"]["City"]) == {"Zürich", "Genève"}
    path.write_bytes("\n".join(lines).encode("utf-16"))  # with its byte-order mark
    utf16 = probe_customer_table(options)
    assert (
        not utf16["ok"]
        and "is UTF-16 text" in utf16["error"]
        and "{customers_encoding: utf-16}" in utf16["error"]
    )
    assert probe_customer_table({**options, "customers_encoding": "utf-16"})["ok"]
