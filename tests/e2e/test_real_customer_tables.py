"""The three customer-level datasets of the seed projects, each built with its example config
(configs/*.yml; skipped with a reason when ../shared/data is absent), checked against pandas and
scikit-learn computations on the same files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import REPO, run_script

pytestmark = [pytest.mark.e2e, pytest.mark.realdata]

RFM_NAMES = {"Champions", "Loyal Customers", "At Risk", "Lost", "Hibernating", "Promising"}


def build(shared_data, tmp_path_factory, name: str, file: str):
    """The documented command, `bash scripts/customer_table.sh configs/<name>.yml <file>`."""
    config = yaml.safe_load((REPO / "configs" / f"{name}.yml").read_text())
    assert config["customers_path"] == f"data/customer_tables/{file}"  # where the docs say to put it
    config["customers_path"] = str(shared_data / file)
    run = run_script(tmp_path_factory.mktemp(name), "scripts/customer_table.sh", f"configs/{name}.yml",
                     str(shared_data / file))  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    return run, config


@pytest.fixture(scope="module")
def marketing(shared_data, tmp_path_factory):
    return build(shared_data, tmp_path_factory, "marketing_campaign", "marketing_campaign.csv")


@pytest.fixture(scope="module")
def cc_general(shared_data, tmp_path_factory):
    return build(shared_data, tmp_path_factory, "cc_general", "cc_general.csv")


@pytest.fixture(scope="module")
def ecommerce(shared_data, tmp_path_factory):
    return build(
        shared_data, tmp_path_factory, "ecommerce_customer_behavior", "ecommerce_customer_behavior.csv"
    )


def check_segments(run, rows: int, config: dict) -> dict:
    """Every row kept and segmented once, k chosen by the sweep, names from the features, each with
    an action; the classifier replicates the clusters; names true to the feature profiles. Returns
    the figures docs/customer-tables.md reports."""
    assert run.scalar("select count(*) from marts.dim_customer_attributes") == rows
    assert run.scalar("select count(*) from marts.fct_customer_table_quarantine") == 0
    assert run.scalar("select count(*) from marts.dim_customer_segments") == rows
    k, silhouette = run.query("select k, silhouette from marts.fct_segmentation_k_selection where is_chosen")[
        0
    ]
    assert run.scalar("select count(*) from marts.fct_segment_profiles") == k
    names = [
        r[0] for r in run.query("select segment_name from marts.fct_segment_profiles order by cluster_id")
    ]
    assert len(set(names)) == k and not set(names) & RFM_NAMES
    assert run.scalar("select count(*) from marts.fct_segment_profiles where recommended_action is null") == 0
    accuracy = run.scalar("select value from marts.fct_classifier_metrics where metric = 'accuracy'")
    assert accuracy >= 0.85
    variance = run.scalar(
        "select cumulative_explained_variance_ratio from marts.fct_segmentation_pca_variance "
        "where component = 2 order by purpose limit 1"
    )
    check_names_are_true(run, config, k)
    return {"k": k, "silhouette": silhouette, "accuracy": accuracy, "pc1_pc2": variance, "names": names}


def check_names_are_true(run, config: dict, k: int) -> None:
    """A person's words, each a claim the numbers support (naming.false_claims, read against
    marts.fct_segment_feature_profiles, which has every model feature's standardised difference
    for every segment): at most two traits per name, in the config's labels (no raw column name
    where a label is given); a "high X" / "low X" a segment holds more strongly than any other;
    with segment_value_feature, every segment has its value share and the segment that spends
    most leads its name with it ("Highest spending"); the action names the same traits."""
    from custseg.segmentation import naming
    from custseg.segmentation.traits import humanise, said_traits

    labels = config.get("column_labels", {})
    value_feature = config.get("segment_value_feature", "")
    features = list(config["segmentation_features"])
    if value_feature not in features:
        features.append(value_feature)
    profiles = pd.DataFrame(
        run.query(
            "select cluster_id, feature, segment_mean, segment_median, standardised_difference "
            "from marts.fct_segment_feature_profiles"
        ),
        columns=["cluster_id", "feature", "mean", "median", "d"],
    )
    assert len(profiles) == k * len(features) and set(profiles["feature"]) == set(features)
    assert profiles[["mean", "median"]].notna().all().all()
    effects = profiles.pivot(index="cluster_id", columns="feature", values="d").sort_index()
    segments = pd.DataFrame(
        run.query(
            "select cluster_id, segment_name, recommended_action, revenue_share from marts.fct_segment_profiles "
            "order by cluster_id"
        ),
        columns=["cluster_id", "segment_name", "recommended_action", "revenue_share"],
    )
    assert naming.false_claims(segments, pd.DataFrame(), effects, labels, value_feature) == []
    for name, action in zip(segments["segment_name"], segments["recommended_action"], strict=True):
        if name == "Typical customers":
            continue
        said = said_traits(name.rstrip(" 0123456789"))  # "... 2": a repeated name
        assert 1 <= len(said) <= 2, name
        assert f"({', '.join(said)})".lower() in action.lower(), (name, action)
        assert not [f for f in labels if f in name and labels[f] != f], name  # labels, not column names
    if value_feature:
        assert segments["revenue_share"].notna().all() and segments["revenue_share"].sum() == pytest.approx(1)
        top = int(effects[value_feature].idxmax())
        label = labels.get(value_feature) or humanise(value_feature)
        assert segments.loc[top, "segment_name"].lower().startswith(f"highest {label.lower()}"), segments


def test_marketing_campaign_builds_with_the_seed_projects_features(marketing, shared_data):
    run, config = marketing
    raw = pd.read_csv(shared_data / "marketing_campaign.csv", sep="\t")
    figures = check_segments(run, len(raw), config)
    attributes = pd.DataFrame(
        run.query("select * from marts.dim_customer_attributes order by source_row_number"),
        columns=[c[0] for c in run.query("describe marts.dim_customer_attributes")],
    )
    as_of = pd.Timestamp(run.scalar("select max(as_of_date) from marts.dim_customer_attributes"))
    joined = pd.to_datetime(raw["Dt_Customer"], format="%d-%m-%Y")
    assert as_of == joined.max() + pd.Timedelta(days=1)  # the day after the latest date
    assert (attributes["Customer_For_Days"] == (as_of - joined).dt.days).all()
    # Age from the clipped birth year (three birth years before 1900 are outliers)
    assert (attributes["Age"] == as_of.year - attributes["Year_Birth"]).all()
    assert (
        run.scalar("select count(*) from marts.fct_customer_table_outliers where column_name = 'Year_Birth'")
        == (raw["Year_Birth"] < 1905).sum()
    )
    spend = [
        "MntWines",
        "MntFruits",
        "MntMeatProducts",
        "MntFishProducts",
        "MntSweetProducts",
        "MntGoldProds",
    ]
    assert np.allclose(attributes["Total_Spending"], attributes[spend].sum(axis=1))
    married = attributes["Marital_Status"].isin(["Married", "Together"])
    assert (
        attributes["Family_Size"] == attributes["Kidhome"] + attributes["Teenhome"] + np.where(married, 2, 1)
    ).all()
    # Income: 24 missing values imputed with the median of the others; the 666,666 clipped
    imputed, impute_value = run.query(
        "select imputed_count, impute_value from marts.fct_customer_table_columns where column_name = 'Income'"
    )[0]
    assert imputed == raw["Income"].isna().sum() == 24
    assert impute_value == pytest.approx(raw["Income"].median())
    assert attributes["Income"].max() < 666_666
    # PCA: the explained variance equals scikit-learn's on the same preprocessing of the mart
    from sklearn.decomposition import PCA

    X = np.array(attributes[config["segmentation_features"]].to_numpy(dtype=float), copy=True)
    for i, feature in enumerate(config["segmentation_features"]):
        if feature in config["segmentation_log_features"]:
            X[:, i] = np.log1p(X[:, i])
    X = np.clip(X, np.quantile(X, 0.01, axis=0), np.quantile(X, 0.99, axis=0))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    expected = PCA(n_components=2).fit(X).explained_variance_ratio_.sum()
    assert figures["pc1_pc2"] == pytest.approx(expected, abs=1e-9)
    assert config["segmentation_pca_components"] == 2
    assert run.scalar("select count(distinct dimension) from marts.dim_segment_centroids") == 2


def test_cc_general_imputes_the_missing_payments_and_clips_the_skewed_columns(cc_general, shared_data):
    run, config = cc_general
    raw = pd.read_csv(shared_data / "cc_general.csv")
    check_segments(run, len(raw), config)
    imputed = dict(
        run.query(
            "select column_name, imputed_count from marts.fct_customer_table_columns "
            "where column_name in ('MINIMUM_PAYMENTS', 'CREDIT_LIMIT')"
        )
    )
    assert imputed == {"MINIMUM_PAYMENTS": raw["MINIMUM_PAYMENTS"].isna().sum(), "CREDIT_LIMIT": 1}
    # every recorded outlier lies beyond its column's fences and was clipped to them
    bad = run.scalar(
        "select count(*) from marts.fct_customer_table_outliers "
        "where not (original_value < lower_bound or original_value > upper_bound) or action <> 'clipped'"
    )
    assert bad == 0
    clipped = dict(run.query("select column_name, outlier_count from marts.fct_customer_table_columns"))
    balance = raw["BALANCE"]
    q1, q3 = balance.quantile([0.25, 0.75])
    assert clipped["BALANCE"] == ((balance > q3 + 3 * (q3 - q1)) | (balance < q1 - 3 * (q3 - q1))).sum()


def test_ecommerce_behaviour_encodes_categories_and_flags(ecommerce, shared_data):
    run, config = ecommerce
    raw = pd.read_csv(shared_data / "ecommerce_customer_behavior.csv")
    check_segments(run, len(raw), config)
    kinds = dict(run.query("select column_name, column_kind from marts.fct_customer_table_columns"))
    assert kinds["Discount Applied"] == "boolean" and kinds["Satisfaction Level"] == "categorical"
    missing = run.scalar('select sum("Satisfaction Level=(missing)") from marts.dim_customer_attributes')
    assert missing == raw["Satisfaction Level"].isna().sum() > 0
    flags = dict(run.query('select customer_id, "Discount Applied" from marts.dim_customer_attributes'))
    assert flags == {
        str(i): float(d) for i, d in zip(raw["Customer ID"], raw["Discount Applied"], strict=True)
    }
