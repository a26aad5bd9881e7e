"""Names beyond RFM: what sets each cluster apart, in words (a customer table's segments, and the
distinguishing features of transaction segments). Each cluster's traits are the model features
whose standardised difference from the whole base is at least DISTINCT_EFFECT; a customer
table's cluster is named by its (at most two) strongest, ranked by its value feature."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# the three purchase features every transactions customer has
RFM = ("recency_days", "order_count", "monetary_value")


def share_beaten(population: np.ndarray, value: float) -> float:
    """Share of the population strictly below ``value``, plus half the ties."""
    below = np.count_nonzero(population < value)
    ties = np.count_nonzero(population == value)
    return (below + 0.5 * ties) / len(population)


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


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def said_traits(name: str) -> list[str]:
    """The traits a customer-table segment name states ("Low web visits & high income" ->
    ["low web visits", "high income"]), first letters lowered as :func:`trait` words them
    (compare with :func:`_lower_first` of each trait: a label may start with a capital)."""
    return [lower_first(part) for part in name.split(" & ")]


def effects(customers: pd.DataFrame, cluster: np.ndarray, k: int, columns: list[str]):
    """Per cluster and column, the standardised mean difference (cluster mean - mean) / std (0
    for a constant column), k x columns; with the cluster means (k x columns) and the
    population means."""
    X = customers[columns].to_numpy(dtype=float, na_value=np.nan)
    pop, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    std = np.where(std > 0, std, np.inf)
    means = np.vstack(
        [np.nanmean(X[cluster == j], axis=0) if (cluster == j).any() else pop for j in range(k)]
    )
    return np.nan_to_num((means - pop) / std), means, pop


def distinguishing(
    customers: pd.DataFrame, cluster: np.ndarray, k: int, columns: list[str], top: int = 3, measured=None
) -> list[list[tuple[str, float, float, float]]]:
    """Per cluster, up to ``top`` features that set it apart most: those whose standardised mean
    difference (:func:`effects`, or ``measured``, its result for these columns) is at least
    DISTINCT_EFFECT in size; as (feature, effect, cluster mean, population mean), strongest
    first (ties: column order)."""
    eff, means, pop = measured if measured is not None else effects(customers, cluster, k, columns)
    result = []
    for j in range(k):
        order = np.lexsort((np.arange(len(columns)), -np.abs(eff[j])))
        chosen = [i for i in order if abs(eff[j, i]) >= DISTINCT_EFFECT][:top]
        result.append([(columns[i], float(eff[j, i]), float(means[j, i]), float(pop[i])) for i in chosen])
    return result


# a trait is a cluster's own when its effect leads every other cluster's by at least this many
# standard deviations (clusters alike on a column, within noise of each other, share it: none
# of them is named for it)
TRAIT_LEAD = 0.1


def is_extreme(eff: np.ndarray, j: int, i: int) -> bool:
    """Whether cluster ``j`` sets itself apart on column ``i`` more than any other cluster in the
    same direction: its effect is at least DISTINCT_EFFECT in size and beyond every other
    cluster's by TRAIT_LEAD (the largest above the mean, or the smallest below)."""
    e = eff[j, i]
    if abs(e) < DISTINCT_EFFECT:
        return False
    column = eff[:, i] if e > 0 else -eff[:, i]
    others = np.delete(column, j)
    return not len(others) or column[j] >= others.max() + TRAIT_LEAD


def _level_words(column: str, effect: float, labels: dict[str, str]) -> str:
    """A trait below the others' on a column: "above-average income", "more Gold (membership
    type) than average"."""
    label = labels.get(column) or humanise(column)
    if "=" in column:
        return f"{'more' if effect > 0 else 'fewer'} {label} than average"
    return f"{'above' if effect > 0 else 'below'}-average {label}"


def name_traits(eff, columns, j, labels, value=None) -> list[str]:
    """The traits cluster ``j``'s name may state, strongest first: its value position when it
    sets it apart (``value``: (value label, value effects per cluster); "highest spending",
    "lowest spending"), then the columns it holds more strongly than every other cluster
    (:func:`is_extreme`: "high income"); a cluster with none of those but a distinct column gets
    its strongest as a level against the base ("above-average income"); else none."""
    said = []
    skip = set()
    if value is not None:
        label, value_eff, column = value
        skip.add(column)
        ve = value_eff[:, None]
        if is_extreme(ve, j, 0):
            said.append(f"{'highest' if ve[j, 0] > 0 else 'lowest'} {label}")
    order = np.lexsort((np.arange(len(columns)), -np.abs(eff[j])))
    said += [
        trait(columns[i], eff[j, i], labels)
        for i in order
        if columns[i] not in skip and is_extreme(eff, j, i)
    ]
    if not said:
        distinct = [i for i in order if abs(eff[j, i]) >= DISTINCT_EFFECT and columns[i] not in skip]
        said = [_level_words(columns[distinct[0]], eff[j, distinct[0]], labels)] if distinct else []
    return said


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


def trait_claim_errors(
    name: str, eff: pd.DataFrame, labels: dict[str, str], value_feature: str, j: int
) -> list[str]:
    """What the traits of customer-table segment ``j``'s ``name`` claim that the effects
    contradict (``eff``: clusters x columns of standardised mean differences). "highest X" /
    "lowest X" (the value feature) and "high X" / "low X" / a one-hot level claim the cluster
    holds the trait more strongly than every other (:func:`is_extreme`); "above-average X" and
    "more X than average" claim only the side of the base; "Typical customers" that nothing is
    distinct. A phrase naming no column of ``eff`` is not checked."""
    words = {(labels.get(c) or humanise(c)).lower(): c for c in eff.columns}
    values = eff.to_numpy(dtype=float)
    index = {c: i for i, c in enumerate(eff.columns)}
    if name.rstrip(" 0123456789") == "Typical customers":
        strong = [c for c in eff.columns if abs(eff.loc[j, c]) >= DISTINCT_EFFECT]
        return [f"'{name}' but distinct on {strong}"] if strong else []
    wrong = []
    for said in said_traits(name.rstrip(" 0123456789")):
        text = said.lower()
        for prefix, side, extreme in (
            ("highest ", 1, True), ("lowest ", -1, True), ("high ", 1, True), ("low ", -1, True),
            ("above-average ", 1, False), ("below-average ", -1, False), ("more ", 1, False),
            ("fewer ", -1, False), ("few ", -1, True), ("", 1, True),
        ):  # fmt: skip
            rest = text[len(prefix) :].removesuffix(" than average") if text.startswith(prefix) else None
            if rest in words:
                column = words[rest]
                e = float(eff.loc[j, column])
                ok = (is_extreme(values, j, index[column]) and e * side > 0) if extreme else e * side > 0
                if prefix in ("highest ", "lowest ") and column != value_feature:
                    ok = False
                if not ok:
                    held = ", ".join(
                        f"{eff.index[i]}: {values[i, index[column]]:+.2f}" for i in range(len(values))
                    )
                    wrong.append(f"{name}: '{said}' (effects by segment {held})")
                break
    return wrong


MAX_NAME_TRAITS = 2


def table_profile(customers, cluster, k, features, value_feature, labels) -> pd.DataFrame:
    """:func:`profile` of a customer table: value rank, traits in words, names, actions."""
    if value_feature and value_feature not in customers.columns:
        raise ValueError(f"segment_value_feature '{value_feature}' is not a column of the customer features")
    sizes = np.bincount(cluster, minlength=k)
    if value_feature:
        values = customers[value_feature].to_numpy(dtype=float)
        combined = [
            share_beaten(values, float(np.median(values[cluster == j]))) if sizes[j] else 0.0
            for j in range(k)
        ]
    else:
        combined = list(sizes / max(1, sizes.sum()))
    measured = effects(customers, cluster, k, list(features))
    parts = distinguishing(customers, cluster, k, list(features), measured=measured)
    eff = measured[0]
    value = None
    if value_feature:
        value_eff, _, _ = effects(customers, cluster, k, [value_feature])
        value = (labels.get(value_feature) or humanise(value_feature), value_eff[:, 0], value_feature)
    traits = [name_traits(eff, list(features), j, labels, value) for j in range(k)]
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
