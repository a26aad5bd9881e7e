"""Is there something to segment? Asked by the build before the ML layer runs.

The post-hook of ``int_customers__segmentation_input`` (macro ``check_segmentation_input``)
counts the customers the model would learn from and asks :func:`check_segmentation_input`
through the project's checks (DuckDB UDF or Spark adapter method). A problem stops the build
there with the project's own message, saying why and which setting or input fixes it, instead
of a traceback from inside a Python model.
"""

from __future__ import annotations

from typing import Any

from .config import SegmentationConfig

# fewer customers than this cannot be segmented at all
MIN_CUSTOMERS = 10


def check_segmentation_input(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"ok": True}`` or ``{"ok": False, "error": message}``.

    ``payload``: ``customers`` (rows of the ML input), ``training_customers`` (of those, the ones
    first seen before training_cutoff_date; the customers the model is fitted on), ``outcomes``
    (raw lines by outcome) and ``settings`` (the vars, as for the settings check)."""
    customers = int(payload.get("customers") or 0)
    if customers == 0:
        return {"ok": False, "error": no_customers_message(payload.get("outcomes") or {})}
    settings = payload.get("settings") or {}
    training = int(payload.get("training_customers", customers) or 0)
    if training == 0:
        return {
            "ok": False,
            "error": (
                f"No customer was first seen before training_cutoff_date={settings.get('training_cutoff_date')}; "
                "choose a later cutoff"
            ),
        }
    problem = too_few_customers(training, SegmentationConfig.from_vars(settings))
    return {"ok": False, "error": problem} if problem else {"ok": True}


def no_customers_message(outcomes: dict[str, int]) -> str:
    """Why no customer has a clean purchase, from the raw lines by outcome, and what to check."""
    total = sum(int(n) for n in outcomes.values())
    clean = int(outcomes.get("clean", 0))
    parts = ", ".join(f"{int(n):,} {reason}" for reason, n in sorted(outcomes.items(), key=lambda kv: -kv[1]))
    hints = {
        "unparseable_value": "dates or amounts that cannot be read: check date_format and column_map",
        "null_customer": "no customer id: check which column column_map uses for customer_id",
        "cancellation": "only cancellations: the file holds returns, not purchases",
        "implausible_date": "dates outside min_valid_date..max_valid_date",
        "non_positive_price": "zero or negative prices: check the price column",
        "non_positive_quantity": "zero or negative quantities: check the quantity column",
    }
    top = max((r for r in outcomes if r != "clean"), key=lambda r: (outcomes[r], r), default=None)
    why = ""
    if top in hints and total:
        count = int(outcomes[top])
        # "most" only when it is: the hint states the count it is computed from
        lead = "Most lines are" if 2 * count > total else "The largest group of lines is"
        why = f" {lead} {top} ({count:,} of {total:,}, {count / total:.0%}): {hints[top]}."
    if clean:
        # clean purchases exist: the snapshot date is what leaves them out, so that comes first
        why = (
            f" {clean:,} lines are clean purchases, but none falls before as_of_date: choose a later as_of_date "
            "(or leave it unset: the day after the last purchase)." + why
        )
    return (
        f"No customer has a clean purchase, so there is nothing to segment. Of {total:,} raw lines: "
        f"{parts}.{why} {LINES_WHERE}"
    )


# where a stopped build's lines are: nothing was published, so not in the serving copy's marts
LINES_WHERE = (
    "The build stopped, so nothing was published: every line and its reason are in the working database "
    "(CUSTSEG_DB_PATH, default warehouse/build/custseg.duckdb), table intermediate.int_transactions__classified "
    "(column quarantine_reason; null = clean)."
)


def too_few_customers(n: int, config: SegmentationConfig) -> str | None:
    """Why ``n`` customers are too few to segment with these settings (and which vars would
    work), or None. The build asks this before the ML layer runs (segmentation.readiness)."""
    k_values = config.k_values
    if n < MIN_CUSTOMERS:
        return (
            f"Too few customers for clustering: {n} customers with features; segmentation needs at "
            f"least {MIN_CUSTOMERS}. Load more transactions (or check why lines were set aside: {LINES_WHERE})"
        )
    if n < max(k_values) + 1:
        fits = n - 1  # the largest k that n customers allow; >= MIN_CUSTOMERS - 1 >= k_min's floor
        hint = {"k_max": fits}
        if config.k_min > fits:
            hint["k_min"] = 2
        if config.n_clusters is not None and config.n_clusters > fits:
            hint["n_clusters"] = fits
        return (
            f"Too few customers for clustering: {n} customers with features, but k goes up to "
            f"{max(k_values)}. Lower it, e.g. --vars '{{{', '.join(f'{k}: {v}' for k, v in hint.items())}}}' "
            f"(k can be at most {fits} for {n} customers), or load more transactions."
        )
    return None
