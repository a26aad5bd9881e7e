"""A customer table's columns: the id column, each column's kind (numeric, boolean, date,
categorical, empty) inferred from all of its values, and the SQL that types it. Dates follow the
one rule of custseg.inputs.dates."""

from __future__ import annotations

from . import SourceError
from .columns import NUMBER_TYPES, TIME_TYPES, name_key
from .dates import date_order, timestamp_sql
from .quoting import sql_identifier, sql_string

ID_NAMES = ("customerid", "custid", "clientid", "memberid", "userid", "id")

TRUE_WORDS = ("true", "t", "yes", "y")

FALSE_WORDS = ("false", "f", "no", "n")

MISSING, OTHER = "(missing)", "(other)"

# share of the non-empty values that must read as a number / date for that kind
TYPE_SHARE = 0.95


# words in a column's name that say it records how a customer answered (a campaign accepted, a
# response, a complaint, churn): an outcome to measure segments against, not a trait to segment on
OUTCOME_WORDS = ("accept", "respon", "complain", "churn", "convert", "campaign", "cmp", "outcome", "target")


def named_like_outcome(column: str) -> bool:
    """Whether a column's name has one of OUTCOME_WORDS (AcceptedCmp1, Response, Complain)."""
    return any(word in name_key(column) for word in OUTCOME_WORDS)


def looks_like_outcome(column: str, distinct_values: int) -> bool:
    """Whether a column looks like an outcome rather than a trait: two values at most (a yes/no
    or 0/1 flag) and named like one (:func:`named_like_outcome`)."""
    return distinct_values <= 2 and named_like_outcome(column)


def find_id_column(columns: list[str], configured: str) -> str:
    """The configured id column, else the first column named like a customer id."""
    if configured:
        if configured in columns:
            return configured
        close = [c for c in columns if name_key(c) == name_key(configured)]
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise SourceError(
            f"customer_id_column '{configured}' is not a column of the customer table.{hint} "
            f"Columns: {', '.join(columns)}."
        )
    for wanted in ID_NAMES:
        for column in columns:
            if name_key(column) == wanted:
                return column
    raise SourceError(
        "The customer table needs an id column and none is named like one (ID, customer_id, ...). "
        f"Name it with --vars '{{customer_id_column: <column>}}'. Columns: {', '.join(columns)}."
    )


def text_sql(column: str) -> str:
    """The column as trimmed text, empty text as null (how every kind is read)."""
    return f"nullif(trim(cast({sql_identifier(column)} as varchar)), '')"


def _number_sql(column: str, native: str) -> str:
    if _is_number_type(native):
        return f"cast({sql_identifier(column)} as double)"
    return f"try_cast({text_sql(column)} as double)"


def _boolean_sql(column: str, native: str) -> str:
    if native == "BOOLEAN":
        return f"cast({sql_identifier(column)} as double)"
    text = f"lower({text_sql(column)})"
    trues = ", ".join(sql_string(w) for w in (*TRUE_WORDS, "1"))
    falses = ", ".join(sql_string(w) for w in (*FALSE_WORDS, "0"))
    return f"cast(case when {text} in ({trues}) then 1 when {text} in ({falses}) then 0 end as double)"


def _date_sql(column: str, native: str, reading: dict) -> str:
    if native in TIME_TYPES:
        return f"cast({sql_identifier(column)} as date)"
    return f"cast({timestamp_sql(text_sql(column), reading['date_formats'])} as date)"


def date_reading(con, reader: str, column: str, native: str, configured: str) -> tuple[dict, int]:
    """How a date column reads (native, or text by the one rule of custseg.inputs.dates, the
    var customer_date_format winning) and how many of its values read that way."""
    if native in TIME_TYPES:
        reading = {"date_formats": [], "date_order": "native", "date_note": ""}
    else:
        reading = date_order(con, reader, text_sql(column), configured, "customer_date_format")
    count = con.execute(f"select count({_date_sql(column, native, reading)}) from {reader}").fetchone()[0]
    return reading, count


def _is_number_type(native: str) -> bool:
    return native.split("(")[0] in NUMBER_TYPES  # DECIMAL(18,3) is a DECIMAL


def infer_kind(con, reader: str, column: str, native: str, date_format: str) -> tuple[str, dict | None]:
    """(kind, how its dates read: :func:`date_reading`, for a date column) of one column, from
    all of its values."""
    if _is_number_type(native):
        return "numeric", None
    if native == "BOOLEAN":
        return "boolean", None
    if native in TIME_TYPES:
        return "date", date_reading(con, reader, column, native, date_format)[0]
    text = text_sql(column)
    words = ", ".join(sql_string(w) for w in (*TRUE_WORDS, *FALSE_WORDS))
    present, numbers, booleans = con.execute(
        f"select count({text}), count(try_cast({text} as double)), "
        f"count(case when lower({text}) in ({words}) then 1 end) from {reader}"
    ).fetchone()
    if present == 0:
        return "empty", None
    if booleans == present:
        return "boolean", None
    if numbers >= TYPE_SHARE * present:
        return "numeric", None
    reading, read = date_reading(con, reader, column, native, date_format)
    if read and read >= TYPE_SHARE * present:
        return "date", reading
    return "categorical", None


def typed_sql(column: str, kind: str, native: str, reading: dict | None = None) -> str:
    if kind == "numeric":
        return _number_sql(column, native)
    if kind == "boolean":
        return _boolean_sql(column, native)
    if kind == "date":
        return _date_sql(column, native, reading)
    return text_sql(column)
