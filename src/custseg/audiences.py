"""Audiences: a list of customers written to the sync target as a table of its own
(``audience_<name>``, docs/database.md), with a reproducible hold-out to measure a campaign; the
dashboard's explorer sends its filtered list here. The target, its tables and its transaction
are :mod:`custseg.sync.target`'s.
"""

from __future__ import annotations

import hashlib
import re

from .sync.published import CUSTOMER_COLUMNS, customer_segments_sql, open_published
from .sync.target import (
    SyncError,
    TableSync,
    connect_target,
    in_transaction,
    log_syncs,
    prepare_target,
    replace,
)

AUDIENCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def control_group(customer_ids, share: float, seed: int):
    """A reproducible hold-out for measuring a campaign: True for round(share x n) of the
    customers (a pandas Series of ids), those whose SHA-256 of "<seed>:<customer id>" sorts
    first. The same seed and list give the same control group, in any row order."""
    import pandas as pd

    if not 0 <= share < 1:
        raise ValueError(f"the control share must be at least 0 and below 1, got {share}")
    draws = customer_ids.astype(str).map(lambda c: hashlib.sha256(f"{seed}:{c}".encode()).hexdigest())
    chosen = set(draws.sort_values(kind="stable").index[: round(share * len(draws))])
    return pd.Series([i in chosen for i in customer_ids.index], index=customer_ids.index)


def write_audience(
    serving_path: str,
    name: str,
    customer_ids,
    control_share: float = 0.0,
    control_seed: int = 1,
    schema: str = "custseg",
    env: dict[str, str] | None = None,
) -> TableSync:
    """The customers ``customer_ids`` (a list from the explorer) as the table ``audience_<name>``
    of the sync target: the columns of customer_segments plus ``is_control`` (control_group),
    replaced whole in one transaction, and a line in sync_log."""
    import pandas as pd
    import pyarrow as pa

    if not AUDIENCE_NAME.fullmatch(name or ""):
        raise SyncError(
            f"The audience name {name!r} must be lower-case letters, digits and '_', starting with a letter."
        )
    url = connect_target(env, schema)
    ids = pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype="string")})
    with open_published(str(serving_path)) as con:
        con.register("audience_ids", ids)
        rows = con.sql(customer_segments_sql(con) + " where s.customer_id in (select customer_id from audience_ids)"
                       " order by 1").df()  # fmt: skip
    rows["is_control"] = control_group(rows["customer_id"], control_share, control_seed).to_numpy(dtype=bool)
    data = pa.Table.from_pandas(rows, preserve_index=False)
    columns = (*CUSTOMER_COLUMNS, ("is_control", "s.is_control", "boolean"))

    def work(cur) -> TableSync:
        prepare_target(cur, url, schema, ())
        done = replace(cur, url, schema, f"audience_{name}", columns, "customer_id", data)
        log_syncs(cur, url, schema, "audience", [done])
        return done

    return in_transaction(url, schema, work)
