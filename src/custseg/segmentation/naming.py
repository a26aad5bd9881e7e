"""Business names for clusters, from where each cluster sits on recency, frequency and money.

Each cluster gets three scores in [0, 1] (1 = best): the share of all customers that its median
customer beats on recency (more recent), on frequency (more orders) and on monetary value (more
spend); ties count half. Each name in the seed ``segment_names`` has a prototype point in that
space. Names are then assigned so that every cluster gets a different one:

1. every name is a claim about the numbers (:func:`eligibility`): a prototype score at or above
   0.7 claims "above the median" on that axis, at or below 0.3 "below"; ``Champions`` ("buy
   often and spend the most") also claims the best combined score and the highest median spend,
   ``Lost`` ("lowest recency, frequency and spend") the worst combined score, the longest median
   recency and the lowest median spend and frequency, ``Big Spenders`` the highest median spend
   (and not the most frequent buyers). A name goes only to a cluster whose numbers support it;
2. ``Champions`` and ``Lost`` go to the best and worst cluster when their claims hold, else to
   nobody; the other clusters get the remaining names by an optimal one-to-one assignment
   (Hungarian algorithm) on the squared distance to the prototypes, among the names they meet
   (Need Attention, at 0.5 on every axis, claims "middle of the road": every score between 0.3
   and 0.7); a cluster left with none of those gets the nearest name it meets, used or not,
   numbered ("Loyal Customers 2").

This works for any k up to the number of names (11); beyond that, names repeat with a suffix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .traits import (
    RFM,
    distinguishing,
    distinguishing_text,
    is_rfm,
    lower_first,
    said_traits,
    share_beaten,
    table_profile,
)

TOP, BOTTOM = "Champions", "Lost"


def cluster_scores(customers: pd.DataFrame, cluster: np.ndarray, k: int) -> pd.DataFrame:
    """Per cluster: size, medians of R, F, M and their scores in [0, 1] (1 = best)."""
    rows = []
    pop = {c: customers[c].to_numpy(dtype=float) for c in RFM}
    for j in range(k):
        mask = cluster == j
        med = {c: float(np.median(pop[c][mask])) if mask.any() else float("nan") for c in RFM}
        rows.append(
            {
                "cluster_id": j,
                "size": int(mask.sum()),
                "median_recency_days": med["recency_days"],
                "median_order_count": med["order_count"],
                "median_monetary_value": med["monetary_value"],
                # recency: fewer days is better, so the score is the share with MORE days
                "recency_score": 1.0 - share_beaten(pop["recency_days"], med["recency_days"]),
                "frequency_score": share_beaten(pop["order_count"], med["order_count"]),
                "monetary_score": share_beaten(pop["monetary_value"], med["monetary_value"]),
            }
        )
    scores = pd.DataFrame(rows)
    scores["combined_score"] = scores[["recency_score", "frequency_score", "monetary_score"]].mean(axis=1)
    return scores


AXES = ("recency_score", "frequency_score", "monetary_score")
# a prototype score at or above CLAIM_HIGH claims "above the median" on that axis, at or below
# CLAIM_LOW "below the median"; in between it claims nothing
CLAIM_HIGH, CLAIM_LOW = 0.7, 0.3
BIG_SPENDERS = "Big Spenders"
BIG_SPENDERS_MAX_FREQUENCY = 0.7  # "buy only now and then": not among the most frequent


def _superlatives(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per superlative name, which clusters its words fit (the clusters' medians compared):
    Champions "buy often and spend the most": the best combined score, above the median on all
    three axes, the highest median spend; Lost "lowest recency, frequency and spend": the
    worst combined score, below the median on all three, the longest median recency, the
    lowest median spend and frequency; Big Spenders: the highest median spend, not among the
    most frequent buyers."""
    pts = scores[list(AXES)].to_numpy(dtype=float)
    combined = scores["combined_score"].to_numpy(dtype=float)
    recency = scores["median_recency_days"].to_numpy(dtype=float)
    money = scores["median_monetary_value"].to_numpy(dtype=float)
    frequency = pts[:, 1]
    return {
        TOP: (combined >= combined.max()) & (pts > 0.5).all(axis=1) & (money >= money.max()),
        BOTTOM: (len(scores) > 1)
        & (combined <= combined.min())
        & (pts < 0.5).all(axis=1)
        & (recency >= recency.max())
        & (money <= money.min())
        & (frequency <= frequency.min()),
        BIG_SPENDERS: (money >= money.max()) & (frequency < BIG_SPENDERS_MAX_FREQUENCY),
    }


def eligibility(scores: pd.DataFrame, names: pd.DataFrame) -> np.ndarray:
    """clusters x names: whether the name's claims hold for the cluster. A name claims what its
    prototype says clearly (a score >= CLAIM_HIGH: above the median on that axis; <= CLAIM_LOW:
    below it) and, for Champions, Lost and Big Spenders, their superlatives."""
    pts = scores[list(AXES)].to_numpy(dtype=float)
    protos = names[list(AXES)].to_numpy(dtype=float)
    above = np.where(protos >= CLAIM_HIGH, 1, np.where(protos <= CLAIM_LOW, -1, 0))
    side = np.sign(pts - 0.5)
    ok = ((above[None, :, :] == 0) | (side[:, None, :] == above[None, :, :])).all(axis=2)
    # a prototype in the middle on every axis (Need Attention) claims "middle of the road"
    middle = (np.abs(protos - 0.5) <= 0.05).all(axis=1)
    inside = ((pts > CLAIM_LOW) & (pts < CLAIM_HIGH)).all(axis=1)
    ok[:, middle] &= inside[:, None]
    for j, label in enumerate(names["segment_name"]):
        fits = _superlatives(scores).get(label)
        if fits is not None:
            ok[:, j] &= fits
    return ok


def assign_names(scores: pd.DataFrame, names: pd.DataFrame, keep: dict[int, str] | None = None) -> list[str]:
    """A unique name per cluster (row order of ``scores``) from the prototypes in ``names``,
    each true to the cluster's numbers (:func:`eligibility`).

    ``names`` needs columns segment_name, recency_score, frequency_score, monetary_score.
    Champions and Lost go only to the best and worst cluster, and only when their claims hold;
    the other clusters get the remaining names by an optimal one-to-one assignment (Hungarian)
    on the squared distance to the prototypes, among the names whose claims they meet; a
    cluster left with none of those gets the nearest name whose claims it meets, used or not
    (numbered: "Loyal Customers 2").
    """
    k = len(scores)
    pts = scores[list(AXES)].to_numpy(dtype=float)
    protos = names[list(AXES)].to_numpy(dtype=float)
    labels = names["segment_name"].tolist()
    ok = eligibility(scores, names)
    result: list[str | None] = [None] * k
    free_clusters = list(range(k))
    free_names = list(range(len(labels)))
    for cluster, before in sorted((keep or {}).items()):
        base = _base_name(before, labels)
        if base in labels and labels.index(base) in free_names and ok[cluster, labels.index(base)]:
            result[cluster] = base
            free_clusters.remove(cluster)
            free_names.remove(labels.index(base))

    order = np.lexsort((np.arange(k), -scores["combined_score"].to_numpy()))
    for cluster, name in ((int(order[0]), TOP), (int(order[-1]), BOTTOM)):
        if name not in labels:
            continue
        if labels.index(name) not in free_names:
            continue  # kept by a continuing cluster
        if ok[cluster, labels.index(name)] and result[cluster] is None:
            result[cluster] = name
            free_clusters.remove(cluster)
        free_names.remove(labels.index(name))  # never given by the assignment below

    while free_clusters:
        take = free_clusters[: len(free_names)] if free_names else []
        if not take:  # more clusters than names: reuse names with a suffix
            free_names = [n for n in range(len(labels)) if labels[n] not in (TOP, BOTTOM)] or list(
                range(len(labels))
            )
            continue
        cost = ((pts[take][:, None, :] - protos[free_names][None, :, :]) ** 2).sum(axis=2)
        cost = cost + 1e6 * ~ok[np.ix_(take, free_names)]
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            cluster = take[r]
            result[cluster] = labels[free_names[c]]
            if not ok[cluster, free_names[c]]:  # the nearest true name, used or not
                reusable = [
                    n for n in range(len(labels)) if ok[cluster, n] and labels[n] not in (TOP, BOTTOM)
                ]
                if reusable:
                    distance = ((protos[reusable] - pts[cluster]) ** 2).sum(axis=1)
                    result[cluster] = labels[reusable[int(np.argmin(distance))]]
        used_names = {free_names[c] for c in cols}
        free_clusters = [c for c in free_clusters if result[c] is None]
        free_names = [n for n in free_names if n not in used_names]

    return numbered(result)


def with_playbook(scores: pd.DataFrame, names: list[str], playbook: pd.DataFrame) -> pd.DataFrame:
    """Transactions: each cluster's description and action from the seed by its name without a
    repeat number ("Loyal Customers 2" reads as Loyal Customers; the marts join the seed by the
    exact name, so a repeat carries its texts here)."""
    if not scores["proposed_name"].isna().all() or not {"description", "recommended_action"} <= set(playbook):
        return scores
    labels = playbook["segment_name"].tolist()
    texts = playbook.set_index("segment_name")
    scores = scores.copy()
    for column in ("description", "recommended_action"):
        values = [
            texts.loc[_base_name(n, labels), column] if _base_name(n, labels) in texts.index else None
            for n in names
        ]
        scores[column] = pd.Series(values, index=scores.index, dtype="string")
    return scores


def _base_name(name: str, labels: list[str]) -> str:
    """A numbered repeat's name without its number ("Loyal Customers 2" -> "Loyal Customers")."""
    head, _, tail = name.rpartition(" ")
    return head if name not in labels and tail.isdigit() else name


def false_claims(scores: pd.DataFrame, names: pd.DataFrame) -> list[str]:
    """The clusters of ``scores`` (with their ``segment_name``) whose name claims what their
    numbers contradict, as readable lines; empty when every name is true."""
    ok = eligibility(scores, names)
    labels = names["segment_name"].tolist()
    wrong = []
    for i, name in enumerate(scores["segment_name"]):
        base = _base_name(name, labels)
        if base in labels and not ok[i, labels.index(base)]:
            row = scores.iloc[i]
            wrong.append(
                f"{name}: R/F/M position {row['recency_score']:.2f}/{row['frequency_score']:.2f}/"
                f"{row['monetary_score']:.2f}, median spend {row['median_monetary_value']:.0f}"
            )
    return wrong


def numbered(names) -> list[str]:
    """The names with a number on each repeat: ["Lost", "Lost"] -> ["Lost", "Lost 2"]."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return unique


def profile(
    customers: pd.DataFrame,
    cluster: np.ndarray,
    k: int,
    features: tuple[str, ...],
    value_feature: str = "",
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Per cluster: size, the R/F/M scores (transactions; NaN for a customer table), a
    combined score that orders clusters best to worst, and what sets it apart.

    From transactions the combined score is the mean R/F/M score and the names come from the RFM
    prototypes (:func:`assign_names`); ``distinguishing_features`` names the purchase features
    that set a cluster apart beyond RFM (a high return rate shows). From a customer table the
    combined score is the share of customers the cluster's median beats on ``value_feature``
    (its share of customers without one), and each cluster gets a name in words from its (at
    most two) most distinguishing model features ("High income & low web visits per month",
    ``labels`` or humanised column names), a description with the numbers, and an action by
    value rank that leads with those traits."""
    if is_rfm(customers):
        scores = cluster_scores(customers, cluster, k)
        from .config import NUMERIC_FEATURES

        extra = [c for c in NUMERIC_FEATURES if c in customers.columns]
        scores["distinguishing_features"] = [
            distinguishing_text(p) for p in distinguishing(customers, cluster, k, extra)
        ]
        for column in ("proposed_name", "description", "recommended_action"):
            scores[column] = pd.Series([None] * len(scores), dtype="string")  # typed text, even when null
        return scores
    return table_profile(customers, cluster, k, features, value_feature, labels or {})


def name_clusters(scores: pd.DataFrame, names: pd.DataFrame, keep: dict[int, str] | None = None) -> list[str]:
    """A unique name per cluster: RFM prototypes for transactions, else the proposed names
    (a repeated one gets a number). ``keep``: cluster -> the name it had in the version a
    refit replaces; kept where its claims still hold (transactions: :func:`eligibility`; a
    customer table: each of its traits is still one of the cluster's)."""
    keep = keep or {}
    if scores["proposed_name"].isna().all():  # transactions
        return assign_names(scores, names, keep)
    proposed = list(scores["proposed_name"])
    for cluster, before in keep.items():
        traits = {lower_first(t) for t in str(scores.loc[cluster, "traits"]).split("|")}
        if set(said_traits(before)) <= traits:
            proposed[cluster] = before
    return numbered(proposed)


# HDBSCAN's noise group: customers within no cluster's reach
NOISE_NAME = "Unclustered (noise)"
NOISE_DESCRIPTION = (
    "Customers within no cluster's reach (density clustering left them out): unusual combinations "
    "of the features, or too few alike to form a group."
)
NOISE_ACTION = "Review individually; do not target them with a segment campaign."


def mark_noise(scores: pd.DataFrame, names: list[str], noise: int) -> tuple[pd.DataFrame, list[str]]:
    """The noise group's name, description and action in place of those its position gave it."""
    names = list(names)
    names[noise] = NOISE_NAME
    scores = scores.copy()
    row = scores["cluster_id"] == noise
    for column, value in (
        ("proposed_name", NOISE_NAME),
        ("description", NOISE_DESCRIPTION),
        ("recommended_action", NOISE_ACTION),
    ):
        scores[column] = scores[column].astype("string")
        scores.loc[row, column] = value
    return scores, names
