"""A transactions file's columns: the accepted spellings of each field, the column map, and
the column types each field can be read from."""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import SourceError

# Canonical field -> accepted spellings (compared after lower-casing and dropping everything
# that is not a letter or digit, so "Customer ID", "customer_id" and "CustomerID" are one).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "invoice_id": ("InvoiceNo", "Invoice", "invoice_id", "invoice_number", "order_id", "OrderNo"),
    "stock_code": ("StockCode", "stock_code", "sku", "product_id", "ProductCode"),
    "description": ("Description", "product_name", "item_description"),
    "quantity": ("Quantity", "qty", "units"),
    "invoiced_at": ("InvoiceDate", "invoice_date", "order_date", "invoiced_at", "transaction_date", "date"),
    "unit_price": ("UnitPrice", "Price", "unit_price"),
    "line_amount": ("line_amount", "amount", "Sales", "line_total", "revenue", "TotalPrice"),
    "customer_id": ("CustomerID", "Customer ID", "customer_id", "client_id"),
    "country": ("Country", "country_name"),
}

REQUIRED_ALWAYS = ("customer_id", "invoiced_at")

# Which DuckDB column types each field can be read from (text is parsed, and quarantined where
# it cannot be). Anything else (BLOB, BOOLEAN, LIST, STRUCT, ...) is an input error naming it.
NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
           "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip

_TEXT = ("VARCHAR",)

TIME_TYPES = ("TIMESTAMP", "DATE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")

FIELD_TYPES = {
    "invoice_id": _TEXT + NUMBER_TYPES,
    "stock_code": _TEXT + NUMBER_TYPES,
    "customer_id": _TEXT + NUMBER_TYPES,
    "description": _TEXT + NUMBER_TYPES,
    "country": _TEXT + NUMBER_TYPES,
    "quantity": _TEXT + NUMBER_TYPES,
    "unit_price": _TEXT + NUMBER_TYPES,
    "line_amount": _TEXT + NUMBER_TYPES,
    "invoiced_at": _TEXT + TIME_TYPES,
}

# each field as a sentence names it ("cannot hold a purchase date")
FIELD_NAMES = {
    "invoice_id": "an invoice id",
    "stock_code": "a stock code",
    "customer_id": "a customer id",
    "description": "a description",
    "country": "a country",
    "quantity": "a quantity",
    "unit_price": "a unit price",
    "line_amount": "a line amount",
    "invoiced_at": "a purchase date and time",
}


def name_key(name: str) -> str:
    """A column name compared the way people mean it: case, spaces, underscores and punctuation
    ignored ("Customer ID" = "customer_id" = "CustomerID")."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def resolve_columns(columns: Iterable[str], column_map: dict[str, str] | None = None) -> dict:
    """Map the file's column names to canonical fields.

    ``column_map`` (from the dbt var ``column_map``) names the source column for any field and
    wins over the built-in spellings. Returns ``{field: source_column or None}`` for every
    canonical field. Raises :class:`SourceError` naming what is missing.
    """
    columns = list(columns)
    column_map = dict(column_map or {})
    unknown_fields = sorted(set(column_map) - set(SPELLINGS))
    if unknown_fields:
        raise SourceError(
            f"column_map names unknown field(s) {unknown_fields}; the fields are {sorted(SPELLINGS)}."
        )
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(name_key(col), col)
    resolved: dict[str, str | None] = {}
    for field, spellings in SPELLINGS.items():
        if field in column_map:
            wanted = column_map[field]
            if wanted not in columns:
                raise SourceError(
                    f"column_map maps '{field}' to column '{wanted}', which the file does not have. "
                    f"The file's columns are: {', '.join(columns)}."
                )
            resolved[field] = wanted
            continue
        match = next((by_norm[name_key(s)] for s in spellings if name_key(s) in by_norm), None)
        resolved[field] = match

    def missing(field: str) -> str:
        return (
            f"The transactions file has no column for required field '{field}'. "
            f"Accepted spellings (case, spaces and underscores ignored): {', '.join(SPELLINGS[field])}. "
            f"The file's columns are: {', '.join(columns)}. Rename the column, or map it with "
            f"--vars '{{column_map: {{{field}: \"Your Column\"}}}}'."
        )

    for field in REQUIRED_ALWAYS:
        if resolved[field] is None:
            raise SourceError(missing(field))
    if resolved["line_amount"] is None:
        for field in ("quantity", "unit_price"):
            if resolved[field] is None:
                raise SourceError(
                    missing(field) + " A money amount is required: either a line amount column "
                    f"({', '.join(SPELLINGS['line_amount'])}) or both quantity and unit price."
                )
    return resolved


def check_types(mapping: dict, types: dict, files: list[str]) -> None:
    for field, column in mapping.items():
        if column is None:
            continue
        base = types[column].split("(")[0]
        if base not in FIELD_TYPES[field]:
            raise SourceError(
                f"Column '{column}' ({field}) in {', '.join(files)} has type {types[column]}, which "
                f"cannot hold {FIELD_NAMES[field]}: expected "
                f"{'a timestamp, a date or text' if field == 'invoiced_at' else 'a number or text'}. "
                "Convert the column, or map another one with column_map."
            )


def one_column_hint(columns: list[str], fmt: str) -> str:
    if fmt != "csv" or len(columns) != 1:
        return ""
    return (
        f" The file was read as a single column named '{columns[0]}': its delimiter is not a comma, "
        "semicolon, tab or pipe (a whitespace-aligned text export?). Save it as CSV with one of those "
        "delimiters."
    )
