"""The score form: one customer scored by the active model (no refit), with the same checks as
`custseg score` (custseg.scoring.check_numeric)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..segmentation.centroids import centre_distances
from .queries import profiles
from .store import query, serving_path

NOT_ENCODED = "(another value)"


@dataclass(frozen=True)
class ScoreField:
    """One input of the score form: a number (a model feature, its default the base's median) or
    a choice (a categorical column whose levels the model one-hot encodes as "<column>=<level>")."""

    name: str
    kind: str  # number or choice
    default: float = 0.0
    levels: tuple[str, ...] = ()
    min_value: float | None = None  # 0 for days, counts and gross amounts


def score_fields(path: Path | None = None) -> list[ScoreField]:
    """The inputs the active model uses, categorical ones grouped into one choice each."""
    from ..scoring import centroid_model

    model = centroid_model(str(path or serving_path()))
    medians = query(
        "select feature, max(overall_median) as median from marts.fct_segment_feature_profiles group by feature",
        path,
    )
    median = dict(zip(medians["feature"], medians["median"], strict=True))
    fields: list[ScoreField] = []
    choices: dict[str, list[str]] = {}
    for feature in model.features:
        column, equals, level = feature.partition("=")
        if equals:
            if column not in choices:
                choices[column] = []
                fields.append(ScoreField(column, "choice"))
            choices[column].append(level)
        else:
            value = median.get(feature)
            fields.append(
                ScoreField(feature, "number", 0.0 if value is None or pd.isna(value) else float(value))
            )
    # a column's levels the model does not encode (it keeps the top ones): all its columns 0
    from ..segmentation.config import NON_NEGATIVE_FEATURES

    return [
        ScoreField(
            f.name,
            f.kind,
            f.default,
            (*choices[f.name], NOT_ENCODED) if f.kind == "choice" else (),
            0.0 if f.name in NON_NEGATIVE_FEATURES else None,
        )
        for f in fields
    ]


def score_customer(values: dict, path: Path | None = None) -> dict:
    """The active model's segment for one customer (no refit): cluster, name, confidence, the
    segment's action, and why: the distance to every segment's centre (the nearest wins;
    confidence = 1 - own distance / next distance). ``values`` maps each number field to a
    number and each choice field to one of its levels; a value the CLI refuses (not a finite
    number, or negative where no customer can be) raises the CLI's ScoringError."""
    from ..scoring import centroid_model, check_numeric

    model = centroid_model(str(path or serving_path()))
    numbers = [f for f in model.features if "=" not in f]
    checked = check_numeric(pd.DataFrame([{f: values.get(f) for f in numbers}]), numbers).iloc[0]
    row = []
    for feature in model.features:
        column, equals, level = feature.partition("=")
        row.append(float(values.get(column) == level) if equals else float(checked[feature]))
    X = np.array([row], dtype=float)
    assigned = model.assign(X).iloc[0]
    cluster = int(assigned["cluster_id"])
    distances = centre_distances(model.transform(X), model.centroids)[0]
    actions = profiles(path).set_index("cluster_id")
    return {
        "cluster_id": cluster,
        "segment_name": model.names[cluster],
        "confidence": float(assigned["confidence"]),
        "recommended_action": actions.loc[cluster, "recommended_action"] if cluster in actions.index else None,
        "distances": pd.DataFrame({
            "segment_name": [model.names[int(c)] for c in model.cluster_ids], "distance": distances,
        }).sort_values("distance", kind="stable", ignore_index=True),
    }  # fmt: skip
