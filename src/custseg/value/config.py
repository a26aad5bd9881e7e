"""Settings of the value models (BG/NBD + Gamma-Gamma), read from the dbt vars clv_*.

dbt_project.yml is the one source of their defaults (each field names its var:
custseg.varconfig). When they fit and when they reuse frozen parameters follows the
segmentation's segmentation_mode and refit_policy (custseg.value.registry.decide)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import StrictFloat, StrictInt, field_validator, model_validator

from ..varconfig import VarConfig, var

TIME_UNITS = {"day": 1, "week": 7}
RETURNS = ("net", "gross")
# clv_model: auto, or one purchase model by name (custseg.value.purchase_models.MODELS)
CLV_MODELS = ("auto", "bgnbd", "mbgnbd", "pareto_nbd")
# the settings a fit depends on (a change refits); the others only change the scoring
FIT_SETTINGS = ("time_unit", "calibration_end", "returns", "model", "penalizer")


class ValueConfig(VarConfig):
    domain = "value"

    time_unit: Literal[tuple(TIME_UNITS)] = var("clv_time_unit")
    # YYYY-MM-DD or None: fit on the purchases before it (the holdout follows)
    calibration_end: str | None = var("clv_calibration_end", optional=True)
    # net: refunds cancel the purchases they match (int_customers__net_purchase_days); gross: not
    returns: Literal[RETURNS] = var("clv_returns")
    model: Literal[CLV_MODELS] = var("clv_model")
    horizons_days: tuple[int, ...] = var("clv_horizons_days")
    horizon_days: StrictInt = var("clv_horizon_days")
    churn_horizon_days: StrictInt = var("clv_churn_horizon_days")
    discount_rate: StrictFloat = var("clv_discount_rate")
    penalizer: StrictFloat = var("clv_penalizer")
    min_history_days: StrictInt = var("clv_min_history_days")

    @field_validator("horizons_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if (
            not isinstance(value, list | tuple)
            or not value
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
        ):
            raise ValueError(
                f"clv_horizons_days must be a list of whole days, e.g. [30, 90, 365], got {value!r}"
            )
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _check(self) -> ValueConfig:
        problems = []
        horizons = (*self.horizons_days, self.horizon_days, self.churn_horizon_days)
        if any(h < 1 or h > 3650 for h in horizons):
            problems.append(
                f"clv_horizons_days, clv_horizon_days and clv_churn_horizon_days must be 1 to 3650 days, got {horizons}"
            )
        if not 0 <= self.discount_rate < 10:
            problems.append(
                f"clv_discount_rate is a yearly rate, 0 or more (0.10 = 10%), got {self.discount_rate}"
            )
        if not 0 <= self.penalizer <= 100:
            problems.append(f"clv_penalizer must be between 0 and 100, got {self.penalizer}")
        if self.min_history_days < 0:
            problems.append(f"clv_min_history_days must be 0 or more, got {self.min_history_days}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def scoring_horizons(self) -> tuple[int, ...]:
        """Every horizon the scoring computes: the list, the CLV horizon and the churn horizon."""
        return tuple(sorted({*self.horizons_days, self.horizon_days, self.churn_horizon_days}))

    def fit_fingerprint(self) -> str:
        """What a fit depends on, hashed: a change means a new version."""
        payload = json.dumps({name: getattr(self, name) for name in FIT_SETTINGS}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def calibration_end_problem(values: dict) -> dict:
    """``{"ok": True}`` or ``{"ok": False, "error": ...}``: whether ``clv_calibration_end`` (the last
    day of the calibration period, included) leaves purchases on both sides, from the input's first and last day (``date_range``, ISO text, as
    the transactions probe reads them, quarantined lines included): before the snapshot
    (``as_of_date``, else the day after the last day) and, when no batch was loaded before
    (``batches_loaded``: stored lines may be older than the input), after the first day. Checked
    before the build; a day the lines only seem to allow is still refused by the value step."""
    from datetime import date, timedelta

    end = date.fromisoformat(values["clv_calibration_end"])
    first, last = (date.fromisoformat(d) for d in values["date_range"])
    as_of = date.fromisoformat(values["as_of_date"]) if values.get("as_of_date") else None
    # the calibration end is the last day of the calibration period; the holdout runs from the
    # next day to the day before the snapshot
    if as_of is not None and end >= as_of - timedelta(days=1):
        problem = (
            f"the holdout starts the day after it and must end before as_of_date ({as_of}), so it must be "
            f"{as_of - timedelta(days=2)} or earlier"
        )
    elif as_of is None and end >= last:
        problem = (
            f"the holdout starts the day after it, and the last purchase date in the input is {last}, "
            "so no holdout period is left"
        )
    elif end < first and not values.get("batches_loaded"):
        problem = f"it is before the first purchase date in the input ({first}), so no customer can be fitted"
    else:
        return {"ok": True}
    example = first + timedelta(days=(last - first).days * 2 // 3)
    return {
        "ok": False,
        "error": (
            f"clv_calibration_end {end} is outside the data: {problem}. The input's dates run from {first} to "
            f"{last}; choose a day between them, e.g. --vars '{{clv_calibration_end: \"{example}\"}}', or leave "
            "it unset."
        ),
    }
