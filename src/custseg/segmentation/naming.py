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

import re

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

RFM = ("recency_days", "order_count", "monetary_value")
TOP, BOTTOM = "Champions", "Lost"


def _beats(population: np.ndarray, value: float) -> float:
    """Share of the population strictly below ``value``, plus half the ties."""
    below = np.count_nonzero(population < value)
    ties = np.count_nonzero(population == value)
    return (below + 0.5 * ties) / len(population)


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
                "recency_score": 1.0 - _beats(pop["recency_days"], med["recency_days"]),
                "frequency_score": _beats(pop["order_count"], med["order_count"]),
                "monetary_score": _beats(pop["monetary_value"], med["monetary_value"]),
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


# -- names beyond RFM: what sets each cluster apart ---------------------------------------------

# a feature sets a cluster apart when its cluster mean is at least this many population standard
# deviations from the population mean
DISTINCT_EFFECT = 0.5
ACTIONS = (
    "Retain and reward: loyalty perks, early access and personal service built around what sets "
    "them apart ({traits}); watch them for churn.",
    "Grow: cross-sell and upsell around what sets them apart ({traits}).",
    "Develop: targeted offers on what sets them apart ({traits}) to raise spend and frequency.",
    "Re-activate at low cost: win-back offers that speak to what sets them apart ({traits}), through "
    "cheap channels; stop costly contact if they stay silent.",
)
NO_VALUE_ACTION = (
    "Tailor offers and messages to what sets them apart ({traits}), and measure the response "
    "against the other segments (set segment_value_feature to rank segments by value)."
)
# the traits of a segment that stands out on nothing
NO_TRAITS = "nothing: close to the average customer"


def _action_index(rank: int, k: int) -> int:
    """The best segment is retained, the worst re-activated, those between grown then developed."""
    if rank == 0:
        return 0
    if rank == k - 1:
        return len(ACTIONS) - 1
    return 1 + min(1, (rank - 1) * 2 // max(1, k - 2))


def is_rfm(customers: pd.DataFrame) -> bool:
    """Whether the customers come from transactions (they have R, F and M)."""
    return all(c in customers.columns for c in RFM)


def _phrase(column: str, effect: float) -> str:
    if "=" in column:  # one-hot "Gender=Female"
        name, level = column.split("=", 1)
        return f"{name} {level}" if effect > 0 else f"few {name} {level}"
    return f"{'High' if effect > 0 else 'Low'} {column}"


def humanise(column: str) -> str:
    """A column name as words: "NumWebVisitsMonth" -> "num web visits month", "PURCHASES_TRX"
    -> "purchases trx", "Membership Type=Gold" -> "Gold (membership type)"."""
    if "=" in column:
        name, level = column.split("=", 1)
        return f"{level} ({humanise(name)})"
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", column.replace("_", " "))
    return " ".join(spaced.split()).lower()


def trait(column: str, effect: float, labels: dict[str, str]) -> str:
    """How a person says a cluster differs on one column: "high income", "low web visits per
    month"; a one-hot level: "Gold (membership type)", "few Gold (membership type)"."""
    label = labels.get(column) or humanise(column)
    if "=" in column:
        return label if effect > 0 else f"few {label}"
    return f"{'high' if effect > 0 else 'low'} {label}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def said_traits(name: str) -> list[str]:
    """The traits a customer-table segment name states ("Low web visits & high income" ->
    ["low web visits", "high income"]), first letters lowered as :func:`trait` words them
    (compare with :func:`_lower_first` of each trait: a label may start with a capital)."""
    return [_lower_first(part) for part in name.split(" & ")]


def distinguishing(
    customers: pd.DataFrame, cluster: np.ndarray, k: int, columns: list[str], top: int = 3
) -> list[list[tuple[str, float, float, float]]]:
    """Per cluster, up to ``top`` features that set it apart most: those whose standardised mean
    difference, (cluster mean - mean) / std (0 for a constant column), is at least DISTINCT_EFFECT
    in size; as (feature, effect, cluster mean, population mean), strongest first (ties: column
    order)."""
    X = customers[columns].to_numpy(dtype=float, na_value=np.nan)
    pop, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    std = np.where(std > 0, std, np.inf)
    result = []
    for j in range(k):
        mask = cluster == j
        means = np.nanmean(X[mask], axis=0) if mask.any() else pop
        eff = np.nan_to_num((means - pop) / std)
        order = np.lexsort((np.arange(len(columns)), -np.abs(eff)))
        chosen = [i for i in order if abs(eff[i]) >= DISTINCT_EFFECT][:top]
        result.append([(columns[i], float(eff[i]), float(means[i]), float(pop[i])) for i in chosen])
    return result


def _number(x: float) -> str:
    """82300.4 -> '82,300'; 2.614 -> '2.61'; 0.0312 -> '0.0312'."""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


def distinguishing_text(parts: list[tuple[str, float, float, float]], phrase=_phrase) -> str:
    """'High Income (82,300 vs 51,600 overall); Low Family_Size (1.6 vs 2.6 overall)'; '' when none.
    ``phrase(column, effect)`` words each feature (a customer table's: :func:`trait`)."""
    return "; ".join(f"{phrase(c, e)} ({_number(m)} vs {_number(p)} overall)" for c, e, m, p in parts)


MAX_NAME_TRAITS = 2


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
    return _table_profile(customers, cluster, k, features, value_feature, labels or {})


def _table_profile(customers, cluster, k, features, value_feature, labels) -> pd.DataFrame:
    """:func:`profile` of a customer table: value rank, traits in words, names, actions."""
    if value_feature and value_feature not in customers.columns:
        raise ValueError(f"segment_value_feature '{value_feature}' is not a column of the customer features")
    sizes = np.bincount(cluster, minlength=k)
    if value_feature:
        values = customers[value_feature].to_numpy(dtype=float)
        combined = [
            _beats(values, float(np.median(values[cluster == j]))) if sizes[j] else 0.0 for j in range(k)
        ]
    else:
        combined = list(sizes / max(1, sizes.sum()))
    parts = distinguishing(customers, cluster, k, list(features))
    traits = [[trait(c, e, labels) for c, e, _, _ in p] for p in parts]
    names = [_sentence(" & ".join(t[:MAX_NAME_TRAITS])) if t else "Typical customers" for t in traits]
    rank = np.argsort(np.lexsort((np.arange(k), -np.asarray(combined))))  # 0 = best
    text = [distinguishing_text(p, lambda c, e: trait(c, e, labels)) for p in parts]
    actions = [
        (ACTIONS[_action_index(int(rank[j]), k)] if value_feature else NO_VALUE_ACTION).format(
            traits=", ".join(traits[j][:MAX_NAME_TRAITS]) or NO_TRAITS
        )
        for j in range(k)
    ]
    return pd.DataFrame(
        {
            "cluster_id": np.arange(k),
            "size": sizes.astype(int),
            "median_recency_days": np.nan,
            "median_order_count": np.nan,
            "median_monetary_value": np.nan,
            "recency_score": np.nan,
            "frequency_score": np.nan,
            "monetary_score": np.nan,
            "combined_score": np.asarray(combined, dtype=float),
            "distinguishing_features": text,
            "traits": ["|".join(t) for t in traits],
            "proposed_name": names,
            "description": [
                f"{sizes[j] / max(1, sizes.sum()):.0%} of customers. "
                + (f"Sets them apart: {text[j]}." if text[j] else "Close to the average on every feature.")
                for j in range(k)
            ],
            "recommended_action": actions,
        }
    )


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
        traits = {_lower_first(t) for t in str(scores.loc[cluster, "traits"]).split("|")}
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
