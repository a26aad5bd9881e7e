"""Checks every dbt var that is not the input file itself, before any SQL runs.

The on-run-start hook ``preflight()`` passes the vars as one JSON object to
``custseg_check_settings`` (dbt plugin), which calls :func:`check_settings`. A bad value stops
the build within seconds, naming the var, what it must be and an example; nothing reaches SQL
unchecked (dates are also escaped where they are used). Each domain's settings are checked by
its pydantic model (custseg.varconfig), the one declaration of its vars.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .ml_lifecycle import LifecycleConfig
from .segmentation.config import NUMERIC_FEATURES, ClassifierConfig, SegmentationConfig
from .value.config import ValueConfig

DATE_VARS = ("as_of_date", "training_cutoff_date", "min_valid_date", "max_valid_date", "clv_calibration_end")
# numeric columns of marts.dim_customers a model can use (a test keeps this list equal to the mart)
CUSTOMER_FEATURES = (
    *NUMERIC_FEATURES,
    "mean_days_between_orders",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "fm_score",
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_date(name: str, value: Any) -> str | None:
    """A problem with a YYYY-MM-DD var, or None (empty and null mean "not set")."""
    if value is None or value == "":
        return None
    text = str(value)
    if not isinstance(value, str | date) or not _ISO_DATE.fullmatch(text):
        return f"{name} must be a date written YYYY-MM-DD, e.g. --vars '{{{name}: \"2011-09-01\"}}', got {value!r}"
    try:
        date.fromisoformat(text)
    except ValueError:
        return f"{name} {text!r} is not a calendar date"
    return None


def check_settings(values: dict[str, Any]) -> dict[str, Any]:
    """``{"ok": True}`` or ``{"ok": False, "error": "..."}`` for the vars in ``values``."""
    problems = [p for p in (check_date(name, values.get(name)) for name in DATE_VARS) if p]
    low, high = values.get("min_valid_date"), values.get("max_valid_date")
    if low and high and not problems and str(low) >= str(high):
        problems.append(f"min_valid_date ({low}) must be before max_valid_date ({high})")
    if not isinstance(values.get("publish", True), bool):
        problems.append(f"publish must be true or false, got {values.get('publish')!r}")
    customer_table = bool(values.get("customers_path"))
    features = values.get("segmentation_features") or ()
    if not isinstance(features, list | tuple) or not all(isinstance(f, str) for f in features):
        problems.append(f"segmentation_features must be a list of column names, got {features!r}")
    elif customer_table:
        # the customer-table probe checks them against the table's own features
        if values.get("clv_calibration_end"):
            problems.append(
                "clv_calibration_end needs transactions (the value models read purchases); a customer table "
                "has none: leave it unset"
            )
        if values.get("training_cutoff_date"):
            problems.append(
                "training_cutoff_date needs transactions (first purchase dates); a customer table has "
                "none: leave it unset"
            )
    else:
        if values.get("segment_value_feature"):
            problems.append(
                "segment_value_feature applies to a customer table (customers_path); transactions rank "
                "segments by recency, frequency and monetary value: leave it unset"
            )
        unknown = [f for f in features if f not in CUSTOMER_FEATURES]
        if unknown:
            problems.append(
                f"segmentation_features {unknown} are not customer features; choose from "
                f"{', '.join(CUSTOMER_FEATURES)}"
            )
    # each domain's settings (custseg.varconfig): types and rules, every problem of each together
    # (a var already named above is not named twice)
    named = {p.split(" ", 1)[0] for p in problems}
    for config in (SegmentationConfig, ClassifierConfig, LifecycleConfig, ValueConfig):
        try:
            config.from_vars(values)
        except ValueError as exc:
            said = str(exc).split(" settings: ", 1)[-1].split("; ")
            problems += [p for p in said if p.split(" ", 1)[0] not in named]
    if problems:
        return {"ok": False, "error": "; ".join(problems)}
    return {"ok": True}
