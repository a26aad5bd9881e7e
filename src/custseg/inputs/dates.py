"""The one rule for text dates, for both input kinds (a transactions file's purchase date and a
customer table's date columns): the same column reads the same way as either.

Text that is not ISO is read with one family of formats per column, never value by value: the
month-first family (the UCI exports, US systems) or the day-first one, whichever reads more of
the column's distinct values. Slashes and dashes belong to both families' spellings
(``12/01/2011``, ``12-01-2011``); ``Y/m/d`` and dotted ``d.m.Y`` dates are unambiguous and in
both. A column whose every slash or dash date reads both ways (no day above 12) is read
month-first, and the note says so and which setting reads it day-first; a column that mixes
orders is read in the majority order, and the others do not read (the build quarantines such a
transaction line as ``unparseable_value``; a customer table counts them as unreadable). A
configured format (``date_format``, ``customer_date_format``) wins.
"""

from __future__ import annotations

from .quoting import sql_list

MONTH_FIRST = (
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y", "%m/%d/%y",
    "%m-%d-%Y %H:%M", "%m-%d-%Y %H:%M:%S", "%m-%d-%Y",
)  # fmt: skip
DAY_FIRST = (
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y", "%d/%m/%y",
    "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y",
)  # fmt: skip
UNAMBIGUOUS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y",
)  # fmt: skip
FAMILIES = {"month_first": MONTH_FIRST + UNAMBIGUOUS, "day_first": DAY_FIRST + UNAMBIGUOUS}


def timestamp_sql(text: str, formats: list[str] | tuple[str, ...]) -> str:
    """The timestamp of the SQL text expression ``text``: ISO first, then the formats (DuckDB;
    the transactions' dbt macro parse_timestamp writes the same for each engine)."""
    if not formats:
        return f"try_cast({text} as timestamp)"
    return f"coalesce(try_cast({text} as timestamp), try_strptime({text}, {sql_list(list(formats))}))"


def date_order(con, reader: str, text: str, configured: str = "", setting: str = "date_format") -> dict:
    """How the text dates of one column read: ``{"date_formats", "date_order", "date_note",
    "distinct_dates"}``. ``text`` is the column as trimmed SQL text over ``reader``;
    ``configured`` the format a setting gives (it wins); ``setting`` names that setting in the
    note."""
    if configured:
        return {
            "date_formats": [configured],
            "date_order": "configured",
            "date_note": "",
            "distinct_dates": None,
        }
    month, day = list(FAMILIES["month_first"]), list(FAMILIES["day_first"])
    n, iso, by_month, by_day, only_month, only_day = con.execute(
        f"""
        with distinct_values as (
            select distinct {text} as value from {reader} where {text} is not null
        ),
        parsed as (
            select
                try_cast(value as timestamp) is not null as is_iso,
                try_strptime(value, {sql_list(month)}) is not null as by_month,
                try_strptime(value, {sql_list(day)}) is not null as by_day
            from distinct_values
        )
        select count(*), count(*) filter (is_iso),
            count(*) filter (is_iso or by_month), count(*) filter (is_iso or by_day),
            count(*) filter (not is_iso and by_month and not by_day),
            count(*) filter (not is_iso and by_day and not by_month)
        from parsed
        """
    ).fetchone()
    order = "day_first" if by_day > by_month else "month_first"
    note = ""
    if max(by_month, by_day) - iso and not only_month and not only_day:
        note = (
            "every text date reads both month-first and day-first (no day above 12): read month-first; set "
            f"--vars '{{{setting}: \"%d/%m/%Y %H:%M\"}}' if the dates are day-first"
        )
    elif only_month and only_day:
        note = (
            f"{only_day} distinct dates read only day-first and {only_month} only month-first: the column mixes "
            f"orders; read {order.replace('_', '-')}, the others do not read"
        )
    return {
        "date_formats": list(FAMILIES[order]),
        "date_order": order,
        "date_note": note,
        "distinct_dates": n,
    }
