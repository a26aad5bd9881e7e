"""Business names: unique, and in agreement with the numbers, for every k in the range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.segmentation.naming import assign_names, cluster_scores, false_claims
from segmentation_helpers import planted_customers, seed_names


@pytest.mark.parametrize("k", range(2, 11))
def test_ordered_groups_get_unique_sensible_names(k):
    customers, groups = planted_customers(k)
    scores = cluster_scores(customers, groups, k)
    names = assign_names(scores, seed_names())
    assert len(set(names)) == k, names
    if k <= 8:  # no suffixes; beyond, an ordered gradient has more clusters above the median on
        # every axis than names that claim so (Loyal, Potential Loyalists, Need Attention): a true
        # name repeats, numbered ("Loyal Customers 2"), rather than a false one being used
        assert all(n in set(seed_names()["segment_name"]) for n in names), names
    assert names[0] == "Champions"
    assert names[-1] == "Lost"
    assert false_claims(scores.assign(segment_name=names), seed_names()) == []
    # the names agree with the numbers: Champions has the lowest recency and highest spend
    means = (
        customers.assign(name=np.asarray(names)[groups])
        .groupby("name")[["recency_days", "monetary_value"]]
        .mean()
    )
    assert means["recency_days"].idxmin() == "Champions"
    assert means["monetary_value"].idxmax() == "Champions"
    assert means["recency_days"].idxmax() == "Lost"
    assert means["monetary_value"].idxmin() == "Lost"


def _scores(rows):
    frame = pd.DataFrame(
        rows,
        columns=[
            "recency_score",
            "frequency_score",
            "monetary_score",
            "median_recency_days",
            "median_monetary_value",
        ],
    )
    frame.insert(0, "cluster_id", range(len(frame)))
    frame["combined_score"] = frame[["recency_score", "frequency_score", "monetary_score"]].mean(axis=1)
    return frame


def test_champions_is_the_best_segment_when_it_spends_the_most():
    # cluster 0 ranks first and spends the most; cluster 1 is more recent: 0 is still Champions
    scores = _scores([(0.85, 0.95, 0.95, 20, 9000), (0.95, 0.2, 0.3, 5, 300), (0.1, 0.1, 0.1, 300, 50)])
    assert assign_names(scores, seed_names())[0] == "Champions"
    # the best segment does not spend the most: nobody is Champions, the big spender is named so
    scores = _scores([(0.9, 0.95, 0.8, 5, 900), (0.45, 0.4, 0.97, 40, 5000), (0.1, 0.1, 0.1, 300, 50)])
    names = assign_names(scores, seed_names())
    assert "Champions" not in names and names[1] == "Big Spenders" and names[2] == "Lost"
    assert false_claims(scores.assign(segment_name=names), seed_names()) == []


def test_big_spenders_spends_the_most_and_need_attention_is_the_middle():
    # a middle cluster nearest to Big Spenders' prototype, but another spends more: not Big Spenders
    scores = _scores([(0.9, 0.9, 0.9, 5, 9000), (0.55, 0.55, 0.9, 30, 2000), (0.5, 0.5, 0.5, 60, 400),
                      (0.1, 0.1, 0.1, 300, 20)])  # fmt: skip
    names = assign_names(scores, seed_names())
    assert "Big Spenders" not in names and names[2] == "Need Attention"
    assert false_claims(scores.assign(segment_name=names), seed_names()) == []


def test_false_claims_names_what_the_numbers_contradict():
    scores = _scores([(0.6, 0.8, 0.7, 10, 600), (0.8, 0.9, 0.9, 3, 2000), (0.4, 0.6, 0.3, 90, 100)])
    wrong = false_claims(scores.assign(segment_name=["Big Spenders", "Champions", "Lost"]), seed_names())
    assert len(wrong) == 2 and wrong[0].startswith("Big Spenders: ") and wrong[1].startswith("Lost: ")


def test_lost_needs_the_worst_position_on_all_axes():
    # the worst cluster still spends more than the middle one: not Lost
    scores = _scores([(0.9, 0.9, 0.9, 5, 9000), (0.4, 0.45, 0.2, 100, 100), (0.2, 0.3, 0.4, 250, 400)])
    names = assign_names(scores, seed_names())
    assert names[0] == "Champions"
    assert "Lost" not in names


def test_prototypes_decide_the_middle_names():
    scores = _scores(
        [
            (0.9, 0.9, 0.9, 5, 9000),  # Champions
            (0.1, 0.85, 0.85, 200, 5000),  # gone quiet but was great
            (0.92, 0.12, 0.2, 6, 80),  # just arrived
            (0.05, 0.05, 0.05, 330, 20),  # Lost
        ]
    )
    assert assign_names(scores, seed_names()) == ["Champions", "Can't Lose Them", "New Customers", "Lost"]


def test_more_clusters_than_names_get_suffixes():
    names = seed_names().head(3)
    scores = _scores([(0.5, 0.5, 0.5, 50, 100)] * 5)
    result = assign_names(scores, names)
    assert len(set(result)) == 5
    assert sum(" 2" in n for n in result) >= 1


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
