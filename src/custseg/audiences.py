"""Audiences: a list of customers written to the sync target as a table of its own
(``audience_<name>``, docs/database.md), with a reproducible hold-out to measure a campaign; the
dashboard's explorer sends its filtered list here. The target, its tables and its transaction
are :mod:`custseg.sync`'s.
"""

from __future__ import annotations

import hashlib
import re

from .inputs.database import quote_identifier
from .sync import (
    CUSTOMER_COLUMNS,
    LOG_COLUMNS,
    TARGET_TYPES,
    SyncError,
    TableSync,
    connect_target,
    customer_segments_sql,
    ensure_table,
    existing_columns,
    in_transaction,
    log_syncs,
    open_published,
    stage,
    target_name,
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
    table = f"audience_{name}"
    columns = (*CUSTOMER_COLUMNS, ("is_control", "s.is_control", "boolean"))

    def work(cur) -> TableSync:
        if url.kind == "postgresql":
            cur.execute(f"create schema if not exists {quote_identifier(schema)}")
        ensure_table(cur, url, schema, "sync_log", LOG_COLUMNS, None)
        existing = existing_columns(cur, url, schema, table)
        removed = 0
        if existing is not None:
            cur.execute(f"select count(*) from {target_name(url, schema, table)}")
            removed = int(cur.fetchall()[0][0])
            cur.execute(f"drop table {target_name(url, schema, table)}")
        ensure_table(cur, url, schema, table, columns, "customer_id")
        stage(cur, f"custseg_stage_{table}", data)
        types = TARGET_TYPES[url.kind]
        select = ", ".join(f"cast({quote_identifier(c[0])} as {types[c[2]]})" for c in columns)
        cur.execute(f"insert into {target_name(url, schema, table)} select {select} from "
                    f"{quote_identifier(f'custseg_stage_{table}')}")  # fmt: skip
        cur.execute(f"drop table {quote_identifier(f'custseg_stage_{table}')}")
        done = TableSync(table, len(rows), 0, removed, len(rows))
        log_syncs(cur, url, schema, "audience", [done])
        return done

    return in_transaction(url, schema, work)
