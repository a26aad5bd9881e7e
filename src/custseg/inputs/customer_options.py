"""A customer table's settings (the customers_* vars and those the probe reads), with their
defaults from dbt_project.yml and their types checked."""

from __future__ import annotations

from typing import Any

from ..project import project_var
from . import SourceError
from .readers import csv_encoding

OPTIONS = (
    "customers_path",
    "customers_format",
    "customer_id_column",
    "customer_column_types",
    "customer_date_format",
    "engineered_features",
    "onehot_top_n",
    "impute_strategy",
    "outlier_rule",
    "outlier_iqr_factor",
    "as_of_date",
    "segmentation_features",
    "segmentation_log_features",
    "k_min",
    "segment_value_feature",
    "customer_table_max_columns",
    "customers_encoding",
)

KINDS = ("numeric", "boolean", "date", "categorical", "ignore")

HOW_TO_POINT = (
    "Point the build at your customer table with --vars '{customers_path: path/to/customers.csv, "
    "customer_id_column: ID}' (CSV, Parquet or XLSX)."
)

IMPUTE = ("median", "mean", "zero")

OUTLIER_RULES = ("clip", "quarantine", "none")


def validate_options(options: dict[str, Any]) -> dict[str, Any]:
    """The customer-table options with their types checked (the defaults live in dbt_project.yml)."""
    o = {name: options.get(name) for name in OPTIONS}
    for name in ("customers_path", "customers_format", "customer_id_column", "customer_date_format",
                 "customers_encoding"):  # fmt: skip
        if o[name] is None:
            o[name] = ""
        if not isinstance(o[name], str):
            raise SourceError(f"{name} must be text, got {o[name]!r}")
    for name in ("customer_column_types", "engineered_features"):
        o[name] = o[name] or {}
        if not isinstance(o[name], dict) or not all(isinstance(v, str) for v in o[name].values()):
            raise SourceError(
                f"{name} must map column names to text, e.g. {{Income: numeric}}, got {o[name]!r}"
            )
    bad = {c: k for c, k in o["customer_column_types"].items() if k not in KINDS}
    if bad:
        raise SourceError(f"customer_column_types {bad}: each kind must be one of {', '.join(KINDS)}")
    top = o["onehot_top_n"]
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise SourceError(f"onehot_top_n must be a whole number >= 1, got {top!r}")
    if o["impute_strategy"] not in IMPUTE:
        raise SourceError(f"impute_strategy must be one of {', '.join(IMPUTE)}, got {o['impute_strategy']!r}")
    if o["outlier_rule"] not in OUTLIER_RULES:
        raise SourceError(
            f"outlier_rule must be one of {', '.join(OUTLIER_RULES)}, got {o['outlier_rule']!r}"
        )
    o["customers_encoding"] = csv_encoding(o["customers_encoding"], "customers_encoding")
    widest = o["customer_table_max_columns"]
    if widest is None:  # a caller outside dbt (the CLI, a test): the project's default
        o["customer_table_max_columns"] = widest = project_var("customer_table_max_columns")
    if isinstance(widest, bool) or not isinstance(widest, int) or widest < 2:
        raise SourceError(f"customer_table_max_columns must be a whole number >= 2, got {widest!r}")
    factor = o["outlier_iqr_factor"]
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        raise SourceError(f"outlier_iqr_factor must be a number > 0, got {factor!r}")
    for name in ("segmentation_features", "segmentation_log_features"):
        o[name] = list(o[name] or [])
    return o
