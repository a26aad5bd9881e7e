"""When a build fits a new model version and when it scores with the active one: the settings
both ML domains share (segmentation_mode, refit_policy; the segmentation's drift thresholds and
pinned version ride along, as the vars they are). custseg.segmentation and custseg.value read it
from here; neither reaches into the other for it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictInt, field_validator, model_validator

from .project import project_var
from .varconfig import VarConfig, var

SEGMENTATION_MODES = ("auto", "refit", "score")
REFIT_POLICIES = ("on_drift", "never", "always")
# the drift measures; their (warn at, refit recommended at) thresholds are the var
# drift_thresholds (docs/segments-over-time.md)
DRIFT_MEASURES = (
    "feature_psi",
    "tail_shift",
    "outlier_share",
    "segment_outlier_share",
    "segment_share_psi",
    "distance_ratio",
    "silhouette_drop",
)


class LifecycleConfig(VarConfig):
    """When the build fits a new model version and when it scores with the active one."""

    domain = "segmentation"

    mode: Literal[SEGMENTATION_MODES] = var("segmentation_mode")
    refit_policy: Literal[REFIT_POLICIES] = var("refit_policy")
    # score with this version (no fitting) instead of the latest
    pinned_version: StrictInt | None = var("segmentation_model_version", optional=True)
    # (measure, warn at, refit recommended at), the var drift_thresholds: a mapping of the
    # measures given; the others keep dbt_project.yml's values (dbt replaces a dict var whole)
    drift_thresholds: tuple[tuple[str, float, float], ...] = var("drift_thresholds")

    @field_validator("drift_thresholds", mode="before")
    @classmethod
    def _thresholds(cls, given: Any) -> Any:
        if isinstance(given, tuple | list):
            return given  # already (measure, warn, refit) triples (a copy of a config)
        if not isinstance(given, dict):
            raise ValueError(
                "drift_thresholds must map a measure to [warn, refit], e.g. {feature_psi: [0.1, 0.25]}, "
                f"got {given!r}"
            )
        thresholds = {} if set(DRIFT_MEASURES) <= set(given) else dict(project_var("drift_thresholds"))
        thresholds.update(given)
        triples = []
        for name, pair in thresholds.items():
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
            ):
                raise ValueError(f"drift_thresholds.{name} must be [warn, refit], got {pair!r}")
            triples.append((name, float(pair[0]), float(pair[1])))
        return tuple(triples)

    @model_validator(mode="after")
    def _check(self) -> LifecycleConfig:
        problems = []
        if self.pinned_version is not None and self.mode == "refit":
            problems.append(
                f"segmentation_model_version pins version {self.pinned_version}, so nothing is fitted: "
                "use segmentation_mode: score (or auto), or unset the pin to refit"
            )
        if self.pinned_version is not None and self.pinned_version < 1:
            problems.append(f"segmentation_model_version must be 1 or more, got {self.pinned_version}")
        for name, warn, refit in self.drift_thresholds:
            if name not in DRIFT_MEASURES:
                problems.append(
                    f"drift_thresholds has an unknown measure {name!r}; measures: {list(DRIFT_MEASURES)}"
                )
            elif not warn <= refit:
                problems.append(f"drift_thresholds.{name}: warn ({warn}) must not exceed refit ({refit})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def thresholds(self) -> dict[str, tuple[float, float]]:
        return {name: (warn, refit) for name, warn, refit in self.drift_thresholds}
