"""Business names for clusters, from where each cluster sits on recency, frequency and money,
checked against what the value models expect of its customers.

Each cluster gets three positions in [0, 1] (1 = best): the share of all customers that its
median customer beats on recency (more recent), on frequency (more orders) and on monetary value
(more spend); ties count half. Each position falls in a band: ``low`` below 0.4, ``high`` from
0.6, ``mid`` between (within a tenth of the median customer); the value band is that of the
better of frequency and spend. A name follows from the bands alone, by the rules of the seed
``segment_names`` (like the RFM map's cells): the first rule, in ``rule_order``, whose bands hold
and whose evidence claims hold names the cluster. So two builds whose clusters have near-identical
profiles name them alike, whatever the other clusters are.

Some names claim more than a position (the seed's flags), and the value models must agree:

- ``claims_gone`` (Lost): the segment's mean churn risk (P(no purchase) over the churn horizon)
  is at least GONE_MIN_CHURN_RISK and, when a calibration end is set, its share of calibration
  customers who bought in the holdout is among the lowest third of the segments';
- ``drops_from_targeting`` (Lost: "leave out of paid targeting"): the segment holds less than
  MATERIAL_VALUE_SHARE of the predicted CLV.

Without value evidence (a fit outside a build, a customer table) those claims cannot hold, and
the next rule of the same cell names the cluster (Lapsing: "not gone"). Two clusters with the
same name are numbered, the better combined position first ("Champions 2").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .traits import (
    RFM,
    distinguishing,
    distinguishing_text,
    is_rfm,
    lower_first,
    said_traits,
    share_beaten,
    table_profile,
    trait_claim_errors,
)

AXES = ("recency_score", "frequency_score", "monetary_score")
# a position below BAND_LOW is low, from BAND_HIGH high, mid between
BAND_LOW, BAND_HIGH = 0.4, 0.6
BANDS = ("low", "mid", "high")
# a name saying the customers are gone needs a mean churn risk of at least this
GONE_MIN_CHURN_RISK = 2 / 3
# an action that drops a segment from targeting needs it to hold less of the predicted CLV
MATERIAL_VALUE_SHARE = 0.05
# the evidence columns a cluster's scores carry (NaN without value models)
EVIDENCE = ("mean_churn_risk", "predicted_clv_share", "holdout_buyer_share")


def band(position):
    """'low', 'mid' or 'high' for positions in [0, 1] (an array in, an array out)."""
    position = np.asarray(position, dtype=float)
    return np.where(position < BAND_LOW, "low", np.where(position >= BAND_HIGH, "high", "mid"))


def cluster_scores(customers: pd.DataFrame, cluster: np.ndarray, k: int) -> pd.DataFrame:
    """Per cluster: size, medians of R, F, M and their positions in [0, 1] (1 = best)."""
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
    scores["combined_score"] = scores[list(AXES)].mean(axis=1)
    return scores


def segment_evidence(customers: pd.DataFrame, cluster: np.ndarray, k: int, evidence: pd.DataFrame | None):
    """Per cluster, what the value models say of its customers (columns EVIDENCE; NaN without
    ``evidence`` or where none of its customers has a value): the mean churn risk, the share of
    the predicted CLV, the share of calibration customers who bought in the holdout.
    ``evidence``: customer_id, churn_risk, predicted_clv, bought_in_holdout (model
    ml_segment_evidence)."""
    out = pd.DataFrame({"cluster_id": np.arange(k)})
    for column in EVIDENCE:
        out[column] = np.nan
    if evidence is None or evidence.empty:
        return out
    ids = customers["customer_id"].astype(str).to_numpy()
    found = evidence.assign(customer_id=evidence["customer_id"].astype(str)).set_index("customer_id")
    found = found.reindex(ids).assign(cluster_id=cluster)
    grouped = found.groupby("cluster_id")
    out["mean_churn_risk"] = grouped["churn_risk"].mean().reindex(range(k)).to_numpy(dtype=float)
    clv = grouped["predicted_clv"].sum(min_count=1).reindex(range(k)).to_numpy(dtype=float)
    total = np.nansum(clv)
    out["predicted_clv_share"] = clv / total if total > 0 else np.nan
    holdout = found["bought_in_holdout"].astype("float")
    if holdout.notna().any():
        out["holdout_buyer_share"] = (
            holdout.groupby(found["cluster_id"]).mean().reindex(range(k)).to_numpy(dtype=float)
        )
    return out


def _bands_of(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    value = np.maximum(scores["frequency_score"], scores["monetary_score"])
    return {
        "recency_bands": band(scores["recency_score"]),
        "frequency_bands": band(scores["frequency_score"]),
        "monetary_bands": band(scores["monetary_score"]),
        "value_bands": band(value),
    }


def _flag(names: pd.DataFrame, column: str) -> np.ndarray:
    if column not in names:
        return np.zeros(len(names), dtype=bool)
    return names[column].astype(str).str.lower().isin(("true", "1")).to_numpy()


def gone_holds(scores: pd.DataFrame) -> np.ndarray:
    """Per cluster: whether the value models agree its customers are gone (a mean churn risk of
    GONE_MIN_CHURN_RISK or more and, with a backtest, a holdout buyer share among the lowest
    third of the segments'). False without value evidence."""
    churn = scores.get("mean_churn_risk", pd.Series(np.nan, index=scores.index)).to_numpy(dtype=float)
    ok = churn >= GONE_MIN_CHURN_RISK
    holdout = scores.get("holdout_buyer_share", pd.Series(np.nan, index=scores.index)).to_numpy(dtype=float)
    if np.isfinite(holdout).any():
        lowest = np.sort(holdout[np.isfinite(holdout)])
        cutoff = lowest[max(0, (len(lowest) - 1) // 3)]
        ok &= np.isfinite(holdout) & (holdout <= cutoff)
    return ok


def drop_holds(scores: pd.DataFrame) -> np.ndarray:
    """Per cluster: whether it holds less than MATERIAL_VALUE_SHARE of the predicted CLV (False
    without value evidence)."""
    share = scores.get("predicted_clv_share", pd.Series(np.nan, index=scores.index))
    return share.to_numpy(dtype=float) < MATERIAL_VALUE_SHARE


def eligibility(scores: pd.DataFrame, names: pd.DataFrame) -> np.ndarray:
    """clusters x names: whether each name's rule holds for the cluster: its bands (a rule lists
    the bands it takes; empty takes any) and the evidence its flags claim."""
    mine = _bands_of(scores)
    ok = np.ones((len(scores), len(names)), dtype=bool)
    for column, have in mine.items():
        rules = names[column].fillna("").astype(str).str.split().tolist() if column in names else []
        for j, allowed in enumerate(rules):
            if allowed:
                ok[:, j] &= np.isin(have, allowed)
    ok[:, _flag(names, "claims_gone")] &= gone_holds(scores)[:, None]
    ok[:, _flag(names, "drops_from_targeting")] &= drop_holds(scores)[:, None]
    return ok


def assign_names(scores: pd.DataFrame, names: pd.DataFrame) -> list[str]:
    """A name per cluster (row order of ``scores``): the first rule of ``names`` (by
    ``rule_order``) that holds (:func:`eligibility`); a name given twice is numbered, the better
    combined position first. A cluster no rule takes (an edited seed that leaves a cell out) is
    an error that names the cell."""
    ok = eligibility(scores, names)
    order = (
        np.argsort(names["rule_order"].to_numpy(), kind="stable")
        if "rule_order" in names
        else np.arange(len(names))
    )
    labels = names["segment_name"].tolist()
    result = []
    for i in range(len(scores)):
        hits = [j for j in order if ok[i, j]]
        if not hits:
            cell = {column: str(bands[i]) for column, bands in _bands_of(scores).items()}
            raise ValueError(
                f"seeds/segment_names.csv has no rule for a cluster at {cell} (value evidence: "
                f"{scores.iloc[i].reindex(list(EVIDENCE)).to_dict()}): add a row whose bands take it"
            )
        result.append(labels[hits[0]])
    best_first = np.lexsort((scores["cluster_id"].to_numpy(), -scores["combined_score"].to_numpy()))
    numbered_best_first = numbered([result[i] for i in best_first])
    final = [""] * len(result)
    for i, name in zip(best_first, numbered_best_first, strict=True):
        final[i] = name
    return final


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


def _value_position(row) -> float:
    return max(float(row["frequency_score"]), float(row["monetary_score"]))


# what the words of a description claim, and the test of each claim on a cluster's scores: a
# description may only use phrases whose claims its rule guarantees (test_segmentation_naming
# reads every seed description against its rule; false_claims reads them against the numbers)
DESCRIPTION_CLAIMS: tuple[tuple[str, str, object], ...] = (
    ("bought recently", "recency position 0.6 or more", lambda r: r["recency_score"] >= BAND_HIGH),
    ("long since the last purchase", "recency position below 0.4", lambda r: r["recency_score"] < BAND_LOW),
    ("neither recent nor long ago", "recency position in [0.4, 0.6)",
     lambda r: BAND_LOW <= r["recency_score"] < BAND_HIGH),
    ("not recently", "recency position below 0.6", lambda r: r["recency_score"] < BAND_HIGH),
    ("bought not long ago", "recency position 0.4 or more", lambda r: r["recency_score"] >= BAND_LOW),
    ("more often or spend", "frequency or spend position 0.6 or more", lambda r: _value_position(r) >= BAND_HIGH),
    ("more often or spent", "frequency or spend position 0.6 or more", lambda r: _value_position(r) >= BAND_HIGH),
    ("about average on orders and spend", "best of frequency and spend positions in [0.4, 0.6)",
     lambda r: BAND_LOW <= _value_position(r) < BAND_HIGH),
    ("about average orders and spend", "best of frequency and spend positions in [0.4, 0.6)",
     lambda r: BAND_LOW <= _value_position(r) < BAND_HIGH),
    ("few orders and little spend", "frequency and spend positions below 0.4",
     lambda r: _value_position(r) < BAND_LOW),
    ("middle of the road", "recency and best of frequency and spend positions in [0.4, 0.6)",
     lambda r: BAND_LOW <= r["recency_score"] < BAND_HIGH and BAND_LOW <= _value_position(r) < BAND_HIGH),
    ("spend more than most customers in only a few orders", "spend position 0.6 or more, frequency below 0.4",
     lambda r: r["monetary_score"] >= BAND_HIGH and r["frequency_score"] < BAND_LOW),
    ("expect most of them not to buy again", "mean churn risk 2/3 or more (and the lowest holdout buyers)",
     lambda r: bool(r["gone_holds"])),
    ("little revenue from them", "under 5% of the predicted CLV", lambda r: bool(r["drop_holds"])),
    ("not gone", "mean churn risk under 2/3, or 5% or more of the predicted CLV",
     lambda r: not (bool(r["gone_holds"]) and bool(r["drop_holds"]))),
)  # fmt: skip


def description_claims(description: str) -> list[tuple[str, str, object]]:
    """The claims of DESCRIPTION_CLAIMS whose phrase the description uses (case-insensitive)."""
    text = str(description).lower()
    return [claim for claim in DESCRIPTION_CLAIMS if claim[0] in text]


def false_claims(
    scores: pd.DataFrame,
    names: pd.DataFrame,
    effects: pd.DataFrame | None = None,
    labels: dict[str, str] | None = None,
    value_feature: str = "",
) -> list[str]:
    """The clusters of ``scores`` (with their ``segment_name``, and ``description`` where it has
    one) whose name or description claims what their numbers contradict, as readable lines;
    empty when every claim is true. A name's claims are its rule's bands and evidence flags
    (:func:`eligibility`); a description's, the phrases of DESCRIPTION_CLAIMS it uses. A
    customer table's segments (``effects``: cluster_id x column standardised mean differences,
    with the ``labels`` and ``value_feature`` the names were worded with): each trait of a name
    (traits.trait_claim_errors)."""
    if effects is not None:
        return [
            line
            for j, name in zip(scores["cluster_id"], scores["segment_name"], strict=True)
            for line in trait_claim_errors(name, effects, labels or {}, value_feature, int(j))
        ]
    ok = eligibility(scores, names)
    labels = names["segment_name"].tolist()
    checked = scores.assign(gone_holds=gone_holds(scores), drop_holds=drop_holds(scores))
    wrong = []
    for i, name in enumerate(scores["segment_name"]):
        row = checked.iloc[i]
        base = _base_name(name, labels)
        numbers = (
            f"R/F/M position {row['recency_score']:.2f}/{row['frequency_score']:.2f}/{row['monetary_score']:.2f}"
            + "".join(
                f", {column.replace('_', ' ')} {row[column]:.2f}"
                for column in EVIDENCE
                if column in row and pd.notna(row[column])
            )
        )
        if base in labels and not ok[i, labels.index(base)]:
            wrong.append(f"{name}: {numbers}")
        description = row.get("description")
        if description is None or pd.isna(description):
            continue
        for phrase, claim, holds in description_claims(description):
            if not holds(row):
                wrong.append(f"{name}: the description says '{phrase}' ({claim}), but {numbers}")
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
    evidence: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per cluster: size, the R/F/M scores (transactions; NaN for a customer table), a
    combined score that orders clusters best to worst, and what sets it apart.

    From transactions the combined score is the mean R/F/M score, the value models' ``evidence``
    (:func:`segment_evidence`) rides along and the names come from the seed's rules
    (:func:`assign_names`); ``distinguishing_features`` names the purchase features that set a
    cluster apart beyond RFM (a high return rate shows). From a customer table the
    combined score is the share of customers the cluster's median beats on ``value_feature``
    (its share of customers without one), and each cluster gets a name in words from its (at
    most two) most distinguishing model features ("High income & low web visits per month",
    ``labels`` or humanised column names), a description with the numbers, and an action by
    value rank that leads with those traits."""
    if is_rfm(customers):
        scores = cluster_scores(customers, cluster, k).merge(
            segment_evidence(customers, cluster, k, evidence), on="cluster_id"
        )
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
    """A unique name per cluster: by the seed's rules for transactions (:func:`assign_names`:
    the same position gets the same name, refit or not), else the proposed names (a repeated
    one gets a number). ``keep`` (a customer table): cluster -> the name it had in the version a
    refit replaces, kept where each of its traits is still one of the cluster's."""
    if scores["proposed_name"].isna().all():  # transactions
        return assign_names(scores, names)
    proposed = list(scores["proposed_name"])
    for cluster, before in (keep or {}).items():
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
