"""Business names: a fixed rule of the R/F/M positions, checked against the value models, with
descriptions whose words are true of the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.segmentation import naming
from custseg.segmentation.naming import (
    BANDS,
    assign_names,
    cluster_scores,
    description_claims,
    false_claims,
    segment_evidence,
)
from segmentation_helpers import planted_customers, seed_names


def _scores(rows, evidence=None):
    """Clusters from (recency, frequency, monetary) positions; ``evidence``: per cluster
    (mean churn risk, predicted CLV share, holdout buyer share) or None."""
    frame = pd.DataFrame(rows, columns=["recency_score", "frequency_score", "monetary_score"])
    frame.insert(0, "cluster_id", range(len(frame)))
    frame["combined_score"] = frame[["recency_score", "frequency_score", "monetary_score"]].mean(axis=1)
    frame["median_monetary_value"] = 100.0
    columns = list(naming.EVIDENCE)
    values = np.full((len(frame), 3), np.nan) if evidence is None else np.asarray(evidence, dtype=float)
    return frame.join(pd.DataFrame(values, columns=columns))


def _named(scores):
    names = assign_names(scores, seed_names())
    texts = seed_names().set_index("segment_name")["description"]
    return scores.assign(segment_name=names, description=[texts[n.rstrip(" 0123456789")] for n in names])


def _position(b: str) -> float:
    return {"low": 0.2, "mid": 0.5, "high": 0.8}[b]


def test_every_cell_of_the_rule_gets_a_name_whose_description_is_true_of_it():
    """The rule covers every combination of bands (recency x frequency x monetary), with and
    without value evidence, and the description of the name it gives is true of the cluster."""
    rows = [(_position(r), _position(f), _position(m)) for r in BANDS for f in BANDS for m in BANDS]
    for evidence in (None, [(0.9, 0.01, 0.0)] * len(rows), [(0.3, 0.2, 0.5)] * len(rows)):
        named = _named(_scores(rows, evidence))
        assert false_claims(named, seed_names()) == [], named[["segment_name"]]


def test_a_seed_that_leaves_a_cell_out_is_refused_naming_the_cell():
    names = seed_names()
    without = names[names["segment_name"] != "Need Attention"]
    with pytest.raises(
        ValueError, match=r"no rule for a cluster at .*'recency_bands': 'mid'.*'value_bands': 'mid'"
    ):
        assign_names(_scores([(0.5, 0.5, 0.5)]), without)


def test_every_seed_description_states_its_recency_and_value_in_checked_words():
    """Each description uses phrases of naming.DESCRIPTION_CLAIMS (so false_claims reads it), at
    least one about recency or value; no description uses the words that read backwards
    ("lowest recency" is the longest time since the last purchase)."""
    for row in seed_names().itertuples():
        claims = [c[1] for c in description_claims(row.description)]
        assert any("recency" in c or "frequency" in c for c in claims), row.segment_name
        assert "recency" not in row.description.lower(), row.description
        assert "the most" not in row.description.lower(), (
            row.description
        )  # no superlative: a cell holds several


def test_the_same_position_gets_the_same_name_whatever_the_other_clusters():
    """Online Retail's near-identical cluster (to 30 November: R/F/M position 0.77/0.45/0.36;
    whole year: 0.73/0.44/0.35) was "Potential Loyalists" in one build and "Promising" in the
    other: the names depended on the other clusters. Now a name is a function of the position."""
    nov = _scores([(0.86, 0.91, 0.89), (0.46, 0.61, 0.68), (0.77, 0.45, 0.36), (0.19, 0.18, 0.23)])
    year = _scores([(0.87, 0.92, 0.90), (0.48, 0.70, 0.69), (0.73, 0.44, 0.35), (0.19, 0.17, 0.24)])
    assert assign_names(nov, seed_names()) == assign_names(year, seed_names()) == [
        "Champions", "Loyal Customers", "Potential Loyalists", "Lapsing"
    ]  # fmt: skip
    alone = _scores([(0.77, 0.45, 0.36)])
    crowded = _scores([(0.77, 0.45, 0.36), (0.8, 0.5, 0.5), (0.7, 0.3, 0.3), (0.9, 0.9, 0.9)])
    assert assign_names(alone, seed_names())[0] == assign_names(crowded, seed_names())[0].rstrip(
        " 0123456789"
    )


def test_lost_needs_the_value_models_to_agree():
    """Online Retail's worst segment: mean churn risk 0.73 but 9.6% of the predicted CLV. A name
    saying they are gone, with an action dropping them from paid targeting, needs a churn risk of
    2/3 or more, under 5% of the predicted value and (with a backtest) the fewest holdout buyers."""
    base = [(0.87, 0.92, 0.9), (0.48, 0.7, 0.69), (0.19, 0.17, 0.24)]
    cases = [
        ([(0.17, 0.55, 0.99), (0.44, 0.35, 0.80), (0.73, 0.096, np.nan)], "Lapsing"),  # material value
        ([(0.17, 0.55, 0.99), (0.44, 0.42, 0.80), (0.55, 0.03, np.nan)], "Lapsing"),  # most expected back
        (
            [(0.17, 0.55, 0.99), (0.44, 0.42, 0.05), (0.80, 0.03, 0.60)],
            "Lapsing",
        ),  # holdout buyers not lowest
        ([(0.17, 0.55, 0.99), (0.44, 0.42, 0.80), (0.80, 0.03, 0.05)], "Lost"),
        ([(0.17, 0.55, np.nan), (0.44, 0.42, np.nan), (0.80, 0.03, np.nan)], "Lost"),  # no calibration end
    ]
    for evidence, name in cases:
        scores = _scores(base, evidence)
        named = _named(scores)
        assert named["segment_name"].iloc[2] == name, evidence
        assert false_claims(named, seed_names()) == []
    # the checker reads the evidence: Lost where the value models disagree is two false claims
    wrong = false_claims(
        _scores(base, cases[0][0]).assign(
            segment_name=["Champions", "Loyal Customers", "Lost"],
            description=[None, None, seed_names().set_index("segment_name").loc["Lost", "description"]],
        ),
        seed_names(),
    )
    assert len(wrong) == 3 and all(line.startswith("Lost: ") for line in wrong), wrong
    assert "predicted clv share 0.10" in wrong[0] and "little revenue from them" in wrong[2]


def test_false_claims_reads_positions_and_description_words():
    scores = _scores([(0.3, 0.8, 0.7), (0.8, 0.9, 0.9), (0.5, 0.5, 0.5)])
    wrong = false_claims(
        scores.assign(
            segment_name=["Champions", "Champions 2", "Need Attention"],
            description=["Bought recently", "Bought recently", "Long since the last purchase"],
        ),
        seed_names(),
    )
    assert [line.split(":")[0] for line in wrong] == ["Champions", "Champions", "Need Attention"], wrong
    assert "the description says 'bought recently'" in wrong[1]


@pytest.mark.parametrize("k", range(2, 9))
def test_ordered_groups_get_true_names_best_first(k):
    """Planted groups from best to worst: every name true, the best group Champions, the worst
    Lost when the value models say so (else Lapsing), repeats numbered best first."""
    customers, groups = planted_customers(k)
    scores = cluster_scores(customers, groups, k)
    churn = np.linspace(0.1, 0.9, k)
    evidence = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "churn_risk": churn[groups],
            "predicted_clv": np.linspace(100, 0.5, k)[groups],
            "bought_in_holdout": pd.array([None] * len(groups), dtype="boolean"),
        }
    )
    scores = scores.merge(segment_evidence(customers, groups, k, evidence), on="cluster_id")
    names = assign_names(scores, seed_names())
    assert len(set(names)) == k and names[0] == "Champions"
    assert names[-1].rstrip(" 0123456789") == "Lost"
    assert false_claims(scores.assign(segment_name=names), seed_names()) == []
    means = customers.assign(name=np.asarray(names)[groups]).groupby("name")["recency_days"].mean()
    assert means.idxmin() == "Champions" and means.idxmax().startswith("Lost")


def test_segment_evidence_aggregates_the_customers_of_each_cluster():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"]})
    evidence = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "e"],  # d has no value (refunded in full); e is not a customer
            "churn_risk": [0.2, 0.4, 0.9, 0.5],
            "predicted_clv": [30.0, 10.0, 60.0, 1000.0],
            "bought_in_holdout": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    out = segment_evidence(customers, np.array([0, 0, 1, 1]), 2, evidence)
    assert out["mean_churn_risk"].tolist() == pytest.approx([0.3, 0.9])
    assert out["predicted_clv_share"].tolist() == pytest.approx([0.4, 0.6])
    assert out["holdout_buyer_share"].tolist() == pytest.approx([1.0, 0.0])
    assert (
        segment_evidence(customers, np.array([0, 0, 1, 1]), 2, None)[list(naming.EVIDENCE)].isna().all().all()
    )


def test_scores_use_population_shares():
    customers = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "recency_days": [1, 2, 3, 4],
            "order_count": [4, 3, 2, 1],
            "monetary_value": [40, 30, 20, 10],
        }
    )
    scores = cluster_scores(customers, np.array([0, 0, 1, 1]), 2)
    # cluster 0: median recency 1.5 days; 3 of 4 customers have more days -> 0.75
    assert scores.loc[0, "recency_score"] == pytest.approx(0.75)
    assert scores.loc[1, "recency_score"] == pytest.approx(0.25)
    # median orders 3.5 beats 3 of 4; median spend 35 beats 3 of 4
    assert scores.loc[0, "frequency_score"] == pytest.approx(0.75)
    assert scores.loc[0, "monetary_score"] == pytest.approx(0.75)
    assert scores.loc[0, "size"] == 2
