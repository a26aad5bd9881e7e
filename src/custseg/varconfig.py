"""Settings declared once: each domain's settings are a pydantic model (custseg.segmentation.config,
custseg.value.config) whose fields name their dbt var and take its default from dbt_project.yml.

- :func:`var` declares a field: its var (the field's alias: the JSON the Python models and the
  pre-flight get is keyed by var names) and its default, read from dbt_project.yml
  (custseg.project), so the project file is the one place a default is written; ``optional``
  keeps an explicit null (``n_clusters: null`` = choose k), any other field treats a null or
  empty var as "not set" and takes the project's value;
- :meth:`VarConfig.from_vars` builds a model from the vars, and says every problem of the domain
  together, in the project's words (``k_min must be a whole number, got 'two'``), as a
  ``ValueError`` that starts ``Invalid <domain> settings:``;
- :meth:`VarConfig.var_names` lists the vars a domain reads: the lists the dbt side keeps (the
  Python models' YAML blocks, the pre-flight's ``settings_options()``) are checked against it
  (tests/unit/test_settings.py).

Adding a setting: its default in dbt_project.yml, one field here, and its name in those lists
(the test says which).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .project import project_var


def var(name: str, *, optional: bool = False) -> Any:
    """A field whose value is the dbt var ``name``, by default that var in dbt_project.yml."""
    return Field(
        default_factory=lambda: project_var(name),
        validation_alias=name,
        json_schema_extra={"var": name, "optional": optional},
    )


def settings_dict(settings: dict[str, Any] | str | None) -> dict[str, Any]:
    """The dbt vars as passed to the Python models (a JSON object, or its text)."""
    return json.loads(settings or "{}") if isinstance(settings, str | None) else dict(settings)


def is_unset(value: Any) -> bool:
    """Null and empty vars mean "not set"."""
    return value is None or value == ""


# pydantic's error types, in the project's words (a var's name leads every message)
_WORDS = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "too_short": "has too few values",
    "too_long": "has too many values",
}


class VarConfig(BaseModel):
    """A domain's settings; subclasses set ``domain`` (the messages' "Invalid <domain> settings")."""

    model_config = ConfigDict(
        frozen=True, validate_by_name=True, validate_by_alias=True, validate_default=True
    )
    domain: ClassVar[str] = "project"

    @field_validator("*", mode="before")
    @classmethod
    def _unset_is_none(cls, value: Any, info: ValidationInfo) -> Any:
        """An optional var left empty (dbt_project.yml's "" or null) is None."""
        extra = cls.model_fields[info.field_name].json_schema_extra
        if isinstance(extra, dict) and extra.get("optional") and is_unset(value):
            return None
        return value

    @classmethod
    def var_names(cls) -> list[str]:
        return [f.validation_alias for f in cls.model_fields.values() if isinstance(f.validation_alias, str)]

    @classmethod
    def _optional(cls) -> set[str]:
        return {
            f.validation_alias
            for f in cls.model_fields.values()
            if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("optional")
        }

    @classmethod
    def from_vars(cls, settings: dict[str, Any] | str | None = None, **fixed: Any):
        """The model from the vars JSON: each field from its var, the rest from dbt_project.yml;
        ``fixed`` sets fields by name."""
        given = settings_dict(settings)
        optional = cls._optional()
        values = {
            name: (None if is_unset(given[name]) else given[name])
            for name in cls.var_names()
            if name in given and (name in optional or not is_unset(given[name]))
        }
        values.update(fixed)
        return cls(**values)

    def __init__(self, **values: Any) -> None:
        """Validated as every construction is: a problem is a ValueError in the project's words,
        and the fields that are fine are still checked by the domain's rules, so one message says
        every problem (``segmentation_algorithm must be one of …; need 2 <= k_min <= k_max …``)."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            said = self._said(exc)
            wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"] and e["type"] != "value_error"}
            rest = {k: v for k, v in values.items() if k not in wrong and self._name_of(k) not in wrong}
            if wrong and len(rest) < len(values):
                try:
                    type(self).model_validate(rest)
                except ValidationError as again:
                    said += [s for s in self._said(again) if s not in said]
            raise ValueError(f"Invalid {self.domain} settings: " + "; ".join(said)) from None

    @classmethod
    def _name_of(cls, key: str) -> str:
        """The field a var or field name sets."""
        return next((n for n, f in cls.model_fields.items() if key in (n, f.validation_alias)), key)

    @classmethod
    def _said(cls, exc: ValidationError) -> list[str]:
        by_field = {name: f.validation_alias or name for name, f in cls.model_fields.items()}
        said = []
        for error in exc.errors(include_url=False):
            if error["type"] == "value_error":
                said += (
                    str(error["ctx"]["error"]).removeprefix(f"Invalid {cls.domain} settings: ").split("; ")
                )
                continue
            name = str(error["loc"][0]) if error["loc"] else cls.domain
            name = by_field.get(name, name)
            if error["type"] == "literal_error":
                said.append(f"{name} must be one of {error['ctx']['expected']}, got {error['input']!r}")
            else:
                said.append(
                    f"{name} {_WORDS.get(error['type'], error['msg'].lower())}, got {error['input']!r}"
                )
        return said

    # Pickled inside the model artifacts: the state must be the same bytes for the same settings
    # in every process (pydantic keeps the set fields as a set of names, whose order follows the
    # process's string hashing), and an artifact pickled before the settings were pydantic models
    # (a dataclass: its state is the fields themselves) must still load.
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["__pydantic_fields_set__"] = sorted(state.get("__pydantic_fields_set__") or ())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "__dict__" not in state:  # a dataclass's state: the fields
            state = {"__dict__": dict(state), "__pydantic_fields_set__": set(state)}
        state = {**state, "__pydantic_fields_set__": set(state.get("__pydantic_fields_set__") or ())}
        state.setdefault("__pydantic_extra__", None)
        state.setdefault("__pydantic_private__", None)
        super().__setstate__(state)

    def replaced(self, **changes: Any):
        """A copy with some fields changed, checked again."""
        return type(self)(**{**self.model_dump(), **changes})
