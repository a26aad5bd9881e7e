"""The demo-data generator: exact sizes, determinism, bounded chunks and realistic dirt."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from custseg.demo_data import GeneratorConfig, TransactionGenerator, generate_table, write_transactions
from custseg.demo_data.settings import SPELLINGS

SMALL = GeneratorConfig(rows=60_000, customers=800, seed=7)


@pytest.fixture(scope="module")
def small_table():
    return generate_table(SMALL)


def _sql(table, query: str):
    con = duckdb.connect()
    con.register("t", table)
    return con.execute(query).fetchall()


def test_exact_row_and_customer_counts(small_table):
    assert small_table.num_rows == SMALL.rows
    assert _sql(small_table, 'select count(distinct "CustomerID") from t')[0][0] == SMALL.customers


def test_same_seed_same_rows_other_seed_other_rows(small_table):
    again = generate_table(SMALL)
    assert again.equals(small_table)
    other = generate_table(GeneratorConfig(rows=SMALL.rows, customers=SMALL.customers, seed=8))
    assert not other.equals(small_table)


def test_dirt_proportions(small_table):
    (guest, cancel, adjust, nonprod, zero_price, neg_qty, dups) = _sql(
        small_table,
        """
        select
            avg(("CustomerID" is null)::int),
            avg(("InvoiceNo" like 'C%')::int),
            sum(("InvoiceNo" like 'A%')::int),
            avg(("StockCode" in ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'AMAZONFEE', 'D'))::int),
            avg(("UnitPrice" = 0 and "Quantity" > 0)::int),
            sum(("Quantity" <= 0 and "InvoiceNo" not like 'C%')::int),
            count(*) - (select count(*) from (select distinct * from t))
        from t
        """,
    )[0]
    assert 0.15 < guest < 0.27
    assert 0.018 < cancel < 0.026
    assert adjust >= 1
    assert 0.004 < nonprod < 0.008
    assert 0.0005 < zero_price < 0.004
    assert neg_qty > 0.001 * SMALL.rows
    # ~1% of lines are copies; a copy of a copy or a pre-existing identical line adds a few more
    assert 0.009 * SMALL.rows < dups < 0.013 * SMALL.rows


def test_cancellations_return_earlier_purchases_of_known_customers(small_table):
    orphans, guest_cancels = _sql(
        small_table,
        """
        with c as (select * from t where "InvoiceNo" like 'C%' and "StockCode" not in ('D', 'M'))
        select
            count(*) filter (where not exists (
                select 1 from t p
                where p."CustomerID" = c."CustomerID" and p."StockCode" = c."StockCode"
                  and p."InvoiceNo" not like 'C%' and p."InvoiceDate" <= c."InvoiceDate")),
            count(*) filter (where c."CustomerID" is null)
        from c
        """,
    )[0]
    assert orphans == 0
    assert guest_cancels == 0


def test_archetypes_make_distinct_customer_groups(small_table):
    """Segments exist: recent frequent big buyers and long-gone one-off buyers both appear."""
    champions, lost, n = _sql(
        small_table,
        """
        with c as (
            select "CustomerID" as id,
                   date_diff('day', max("InvoiceDate"), timestamp '2011-12-10') as recency,
                   count(distinct "InvoiceNo") as orders
            from t where "CustomerID" is not null and "InvoiceNo" not like 'C%' group by 1)
        select count(*) filter (where recency <= 20 and orders >= 10),
               count(*) filter (where recency >= 250 and orders <= 2),
               count(*) from c
        """,
    )[0]
    assert champions / n > 0.05
    assert lost / n > 0.10


def test_chunks_are_bounded_and_customers_do_not_repeat_across_chunks():
    config = GeneratorConfig(rows=55_000, customers=600, seed=3, chunk_rows=10_000)
    chunks = list(TransactionGenerator(config).chunks())
    assert len(chunks) == 6
    assert all(c.num_rows <= 10_000 for c in chunks)
    assert sum(c.num_rows for c in chunks) == 55_000
    ids = [set(c.column("CustomerID").drop_null().to_pylist()) for c in chunks]
    assert sum(len(s) for s in ids) == len(set().union(*ids)) == 600
    invoices = [set(c.column("InvoiceNo").to_pylist()) for c in chunks]
    assert sum(len(s) for s in invoices) == len(set().union(*invoices))


def test_write_parquet_and_csv_with_both_spellings(tmp_path):
    config = GeneratorConfig(rows=5_000, customers=100, seed=1, spelling="online_retail_ii")
    pq_path = write_transactions(tmp_path / "t.parquet", config)["path"]
    csv_path = write_transactions(tmp_path / "t.csv", config)["path"]
    assert pq.read_schema(pq_path).names == list(SPELLINGS["online_retail_ii"].values())
    con = duckdb.connect()
    from_csv = con.execute(
        f'select count(*), sum("Quantity"), min("InvoiceDate") from read_csv(\'{csv_path}\')'
    ).fetchone()
    from_pq = con.execute(
        f'select count(*), sum("Quantity"), min("InvoiceDate") from \'{pq_path}\''
    ).fetchone()
    assert from_csv == from_pq
    assert from_csv[0] == 5_000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": 100, "customers": 10}, "at least 200"),
        ({"rows": 1_000, "customers": 500}, "4 x customers"),
        ({"spelling": "nope"}, "spelling must be one of"),
        ({"start": "2011-01-01", "end": "2011-01-10"}, "at least 30 days"),
    ],
)
def test_bad_parameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**kwargs).validate()


def test_write_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        write_transactions(tmp_path / "t.json", GeneratorConfig(rows=1_000, customers=10))


def test_prices_and_dates_in_range(small_table):
    lo, hi, min_price = _sql(
        small_table,
        'select min("InvoiceDate"), max("InvoiceDate"), min("UnitPrice") filter (where "StockCode" <> \'B\') from t',
    )[0]
    assert str(lo) >= "2010-12-01" and str(hi) < "2011-12-10"
    assert min_price >= 0
    assert np.isfinite(min_price)
