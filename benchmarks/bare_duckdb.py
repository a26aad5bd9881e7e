"""The physical reference: one hand-written DuckDB query from the raw file to RFM per customer
(the same cleaning as the notebook). Prints one JSON line with the wall time."""

from __future__ import annotations

import json
import sys
import time

import duckdb

QUERY = """
with lines as (
    select
        cast("{customer}" as varchar) as customer_id,
        "{invoice}" as invoice_id,
        cast("InvoiceDate" as timestamp) as invoiced_at,
        "Quantity" * "{price}" as amount
    from {reader}
    where "{customer}" is not null and "Quantity" > 0 and "{price}" > 0 and "{invoice}" not like 'C%'
)
select
    customer_id,
    date_diff('day', max(invoiced_at), (select max(invoiced_at) from lines) + interval 1 day) as recency_days,
    count(distinct invoice_id) as order_count,
    sum(amount) as monetary_value
from lines
group by customer_id
"""


def main(path: str) -> dict:
    t = time.perf_counter()
    con = duckdb.connect()
    reader = f"read_csv('{path}')" if path.endswith(".csv") else f"read_parquet('{path}')"
    cols = {r[0] for r in con.execute(f"describe select * from {reader}").fetchall()}
    spell = {
        "customer": "CustomerID" if "CustomerID" in cols else "Customer ID",
        "invoice": "InvoiceNo" if "InvoiceNo" in cols else "Invoice",
        "price": "UnitPrice" if "UnitPrice" in cols else "Price",
    }
    rows = con.execute(f"create table rfm as {QUERY.format(reader=reader, **spell)}").fetchall()
    customers = con.execute("select count(*) from rfm").fetchone()[0]
    del rows
    return {"customers": customers, "total_s": round(time.perf_counter() - t, 3)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
