"""Business names for clusters, from where each cluster sits on recency, frequency and money.

Each cluster gets three scores in [0, 1] (1 = best): the share of all customers that its median
customer beats on recency (more recent), on frequency (more orders) and on monetary value (more
spend); ties count half. Each name in the seed ``segment_names`` has a prototype point in that
space. Names are then assigned so that every cluster gets a different one:

1. ``Champions`` goes only to the cluster with the best combined score, and only when that
   cluster is above the population median on all three axes AND has the lowest median recency
   and the highest median monetary value of all clusters; otherwise no cluster is called
   Champions. ``Lost`` mirrors it for the worst cluster (below the median on all three, highest
   median recency, lowest median monetary value). So the top and bottom names never go to a
   cluster the numbers do not support;
2. the other clusters get the remaining names by an optimal one-to-one assignment (Hungarian
   algorithm) that minimises the total squared distance to the prototypes.

This works for any k up to the number of names (11); beyond that, names repeat with a suffix.
"""

from __future__ import annotations

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


def assign_names(scores: pd.DataFrame, names: pd.DataFrame) -> list[str]:
    """A unique name per cluster (row order of ``scores``) from the prototypes in ``names``.

    ``names`` needs columns segment_name, recency_score, frequency_score, monetary_score.
    """
    axes = ["recency_score", "frequency_score", "monetary_score"]
    k = len(scores)
    pts = scores[axes].to_numpy(dtype=float)
    protos = names[axes].to_numpy(dtype=float)
    labels = names["segment_name"].tolist()
    result: list[str | None] = [None] * k
    free_clusters = list(range(k))
    free_names = list(range(len(labels)))

    order = np.lexsort((np.arange(k), -scores["combined_score"].to_numpy()))
    best, worst = int(order[0]), int(order[-1])
    recency = scores["median_recency_days"].to_numpy(dtype=float)
    money = scores["median_monetary_value"].to_numpy(dtype=float)
    top_ok = (pts[best] > 0.5).all() and recency[best] <= recency.min() and money[best] >= money.max()
    bottom_ok = (
        k > 1
        and worst != best
        and (pts[worst] < 0.5).all()
        and recency[worst] >= recency.max()
        and money[worst] <= money.min()
    )
    for anchored, cluster, name in ((top_ok, best, TOP), (bottom_ok, worst, BOTTOM)):
        if name not in labels:
            continue
        if anchored:
            result[cluster] = name
            free_clusters.remove(cluster)
        free_names.remove(labels.index(name))  # never given by the assignment below

    while free_clusters:
        take = free_clusters[: len(free_names)] if free_names else []
        if not take:  # more clusters than names: reuse names with a suffix
            free_names = list(range(len(labels)))
            continue
        cost = ((pts[take][:, None, :] - protos[free_names][None, :, :]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            result[take[r]] = labels[free_names[c]]
        used_names = {free_names[c] for c in cols}
        free_clusters = [c for c in free_clusters if result[c] is None]
        free_names = [n for n in free_names if n not in used_names]

    seen: dict[str, int] = {}
    unique = []
    for name in result:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return unique
