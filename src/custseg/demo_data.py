"""Deterministic generator of Online-Retail-shaped transactions.

The data is built so that segmentation has something to find: customers are drawn from
archetypes with clearly different recency, frequency and spend, and the file carries every
kind of dirt the real UCI Online Retail file has (guest rows, cancellations that return
earlier purchases, postage and manual lines, ``A``/``B`` bad-debt adjustments, zero prices,
negative quantities outside cancellations, exact duplicate lines, several countries).

Generation is vectorised with NumPy and written chunk by chunk with Arrow writers, so memory
is bounded by ``chunk_rows`` whatever the total row count. The output depends only on the
parameters (seed, rows, customers, dates, chunk_rows): every chunk draws from its own
``numpy.random.Generator`` seeded with ``(seed, chunk_index)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Column spellings of the two public UCI files.
SPELLINGS: dict[str, dict[str, str]] = {
    "online_retail": {
        "invoice": "InvoiceNo",
        "stock_code": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "invoice_date": "InvoiceDate",
        "unit_price": "UnitPrice",
        "customer_id": "CustomerID",
        "country": "Country",
    },
    "online_retail_ii": {
        "invoice": "Invoice",
        "stock_code": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "invoice_date": "InvoiceDate",
        "unit_price": "Price",
        "customer_id": "Customer ID",
        "country": "Country",
    },
}


@dataclass(frozen=True)
class Archetype:
    """A kind of customer: where its last purchase falls, how long it has bought, how much."""

    name: str
    share: float
    recency_days: tuple[int, int]
    tenure_days: tuple[int, int]
    activity: float  # relative number of lines
    lines_per_order: float
    quantity_scale: float


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("champion", 0.10, (0, 15), (260, 370), 60.0, 15.0, 12.0),
    Archetype("loyal", 0.14, (5, 60), (180, 370), 24.0, 14.0, 8.0),
    Archetype("new", 0.12, (0, 30), (0, 25), 3.0, 14.0, 6.0),
    Archetype("big_spender", 0.08, (10, 90), (60, 300), 10.0, 28.0, 45.0),
    Archetype("at_risk", 0.16, (100, 200), (120, 300), 16.0, 16.0, 8.0),
    Archetype("hibernating", 0.20, (120, 300), (0, 120), 3.0, 10.0, 5.0),
    Archetype("lost", 0.20, (260, 370), (0, 20), 1.5, 8.0, 4.0),
)

COUNTRIES = (
    "United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands",
    "Belgium", "Switzerland", "Portugal", "Australia", "Norway", "Italy",
)  # fmt: skip
COUNTRY_WEIGHTS = np.array([0.84, 0.025, 0.022, 0.02, 0.015, 0.012, 0.012, 0.01, 0.01, 0.012, 0.01, 0.012])

# Non-product lines as they appear in Online Retail: code, description, price range, share.
NON_PRODUCT_LINES = (
    ("POST", "POSTAGE", (15.0, 40.0), 0.45),
    ("DOT", "DOTCOM POSTAGE", (10.0, 300.0), 0.15),
    ("M", "Manual", (0.5, 60.0), 0.15),
    ("C2", "CARRIAGE", (25.0, 50.0), 0.08),
    ("BANK CHARGES", "Bank Charges", (15.0, 15.0), 0.05),
    ("AMAZONFEE", "AMAZON FEE", (5.0, 200.0), 0.02),
    ("D", "Discount", (1.0, 40.0), 0.10),  # always a cancellation line, as in the UCI file
)
ADJECTIVES = (
    "WHITE", "RED", "PINK", "BLUE", "VINTAGE", "REGENCY", "JUMBO", "LARGE", "SMALL", "RETRO",
    "HEART", "STAR", "PAISLEY", "SPOTTY", "GLASS", "WOODEN", "METAL", "PAPER", "LACE", "ZINC",
)  # fmt: skip
NOUNS = (
    "T-LIGHT HOLDER", "LANTERN", "CAKE CASES", "BAG", "MUG", "BUNTING", "CLOCK", "TEACUP",
    "DOORMAT", "CANDLE", "NAPKINS", "LUNCH BOX", "PHOTO FRAME", "TIN", "SIGN", "CUSHION COVER",
    "HOT WATER BOTTLE", "PURSE", "NOTEBOOK", "BOWL",
)  # fmt: skip
DAMAGE_NOTES = ("damaged", "lost", "check", "?", "wet damaged", "smashed")

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of one generated file. The same config always gives the same rows."""

    rows: int = 120_000
    customers: int = 2_000
    seed: int = 42
    start: str = "2010-12-01"
    end: str = "2011-12-09"
    chunk_rows: int = 2_000_000
    guest_row_share: float = 0.20
    spelling: str = "online_retail"
    products: int = 3_800
    # a later batch: customer ids and invoice numbers start here (new customers, new invoices)
    first_customer_id: int = 12_346
    first_invoice: int = 536_365
    # every product's price times this (a shifted population for drift tests: spend x 5)
    spend_multiplier: float = 1.0

    def validate(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.rows < 4 * self.customers or self.rows < 200:
            raise ValueError(
                f"rows ({self.rows}) must be at least 200 and at least 4 x customers "
                f"({4 * self.customers}) so that every customer can buy something"
            )
        if self.spelling not in SPELLINGS:
            raise ValueError(f"spelling must be one of {sorted(SPELLINGS)}, got {self.spelling!r}")
        if self.chunk_rows < 10_000:
            raise ValueError("chunk_rows must be at least 10,000")
        if not 0 <= self.guest_row_share < 0.9:
            raise ValueError("guest_row_share must be in [0, 0.9)")
        if not self.spend_multiplier > 0:
            raise ValueError("spend_multiplier must be positive")
        if self._span_days() < 30:
            raise ValueError("the date range must cover at least 30 days")

    def _span_days(self) -> int:
        return (datetime.fromisoformat(self.end) - datetime.fromisoformat(self.start)).days


@dataclass(frozen=True)
class _Catalogue:
    codes: pa.Array
    descriptions: pa.Array
    prices: np.ndarray
    popularity: np.ndarray


def _catalogue(config: GeneratorConfig) -> _Catalogue:
    rng = np.random.default_rng([config.seed, 7_777_777])
    numbers = rng.choice(np.arange(10_002, 90_000), size=config.products, replace=False)
    suffix = rng.random(config.products) < 0.25
    letters = np.array(list("ABCDEFGHJKLMNPRSTW"))[rng.integers(0, 18, config.products)]
    codes = [f"{n}{s if f else ''}" for n, s, f in zip(numbers, letters, suffix, strict=True)]
    adjectives = rng.integers(0, len(ADJECTIVES), (config.products, 2))
    nouns = rng.integers(0, len(NOUNS), config.products)
    descriptions = [
        f"{ADJECTIVES[a]} {ADJECTIVES[b]} {NOUNS[n]}" if a != b else f"{ADJECTIVES[a]} {NOUNS[n]}"
        for (a, b), n in zip(adjectives, nouns, strict=True)
    ]
    prices = np.round(np.exp(rng.normal(np.log(2.1), 0.75, config.products)), 2).clip(0.06, 650)
    prices = np.round(prices * config.spend_multiplier, 2)
    ranks = np.arange(1, config.products + 1)
    popularity = 1.0 / ranks**0.8
    rng.shuffle(popularity)
    return _Catalogue(
        codes=pa.array(codes, pa.string()),
        descriptions=pa.array(descriptions, pa.string()),
        prices=prices,
        popularity=popularity / popularity.sum(),
    )


@dataclass
class _Purchases:
    """The purchase lines of a chunk, which the other kinds of lines copy from."""

    n_customers: int
    row_cust: np.ndarray
    row_order: np.ndarray
    order_invoice: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    price: np.ndarray
    ts: np.ndarray
    customer_ids: np.ndarray
    country: np.ndarray
    total_orders: int


class _Chunk:
    """Columns of one chunk as NumPy arrays, concatenated from parts."""

    names = ("invoice_no", "invoice_prefix", "product", "quantity", "ts", "price", "customer", "country")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in self.names}
        self.extra_codes: list[np.ndarray] = []  # -1 = catalogue product, else NON_PRODUCT index
        self.notes: list[np.ndarray] = []  # -1 = normal description, else DAMAGE_NOTES index

    def add(self, *, non_product: np.ndarray | None = None, note: np.ndarray | None = None, **cols):
        n = len(cols["quantity"])
        for name in self.names:
            self.parts[name].append(np.asarray(cols[name]))
        self.extra_codes.append(non_product if non_product is not None else np.full(n, -1, np.int8))
        self.notes.append(note if note is not None else np.full(n, -1, np.int8))

    def concat(self) -> dict[str, np.ndarray]:
        out = {n: np.concatenate(self.parts[n]) for n in self.names}
        out["non_product"] = np.concatenate(self.extra_codes)
        out["note"] = np.concatenate(self.notes)
        return out


def _split(total: int, parts: int) -> np.ndarray:
    base = np.full(parts, total // parts, dtype=np.int64)
    base[: total % parts] += 1
    return base


def _customer_frame(rng, n: int, span: int):
    arche = rng.choice(len(ARCHETYPES), size=n, p=[a.share for a in ARCHETYPES])
    rec_lo = np.array([a.recency_days[0] for a in ARCHETYPES])[arche]
    rec_hi = np.array([a.recency_days[1] for a in ARCHETYPES])[arche]
    ten_lo = np.array([a.tenure_days[0] for a in ARCHETYPES])[arche]
    ten_hi = np.array([a.tenure_days[1] for a in ARCHETYPES])[arche]
    recency = np.minimum(rng.integers(rec_lo, rec_hi + 1), span)
    last_day = span - recency
    tenure = rng.integers(ten_lo, ten_hi + 1)
    first_day = np.maximum(0, last_day - tenure)
    activity = np.array([a.activity for a in ARCHETYPES])[arche] * rng.lognormal(0, 0.5, n)
    lines_per_order = np.array([a.lines_per_order for a in ARCHETYPES])[arche]
    qscale = np.array([a.quantity_scale for a in ARCHETYPES])[arche] * rng.lognormal(0, 0.3, n)
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    return first_day, last_day, activity, lines_per_order, qscale, country


class TransactionGenerator:
    """Yields Arrow tables (one per chunk) of transactions in the Online Retail schema."""

    def __init__(self, config: GeneratorConfig) -> None:
        config.validate()
        self.config = config
        self.catalogue = _catalogue(config)
        self.start = np.datetime64(config.start, "s")
        self.span = config._span_days()
        self.columns = SPELLINGS[config.spelling]

    def schema(self) -> pa.Schema:
        c = self.columns
        return pa.schema(
            [
                (c["invoice"], pa.string()),
                (c["stock_code"], pa.string()),
                (c["description"], pa.string()),
                (c["quantity"], pa.int64()),
                (c["invoice_date"], pa.timestamp("us")),
                (c["unit_price"], pa.float64()),
                (c["customer_id"], pa.float64()),
                (c["country"], pa.string()),
            ]
        )

    def chunks(self) -> Iterator[pa.Table]:
        cfg = self.config
        n_chunks = max(1, math.ceil(cfg.rows / cfg.chunk_rows))
        n_chunks = min(n_chunks, cfg.customers)
        rows = _split(cfg.rows, n_chunks)
        customers = _split(cfg.customers, n_chunks)
        next_customer = cfg.first_customer_id
        next_invoice = cfg.first_invoice
        for i in range(n_chunks):
            table, used_invoices = self._chunk(
                i, int(rows[i]), int(customers[i]), next_customer, next_invoice
            )
            next_customer += int(customers[i])
            next_invoice += used_invoices
            yield table

    # -- one chunk -----------------------------------------------------------------------
    def _chunk(self, index: int, n_rows: int, n_customers: int, first_id: int, first_invoice: int):
        """One chunk of lines: purchases, then cancellations, non-product lines, bad-debt
        adjustments, stock write-offs and exact duplicates, each drawn from the chunk's own
        random stream in this order (the order is part of the output: same seed, same file)."""
        rng = np.random.default_rng([self.config.seed, index])
        n_dup = int(round(n_rows * 0.01))
        n_cancel = int(round(n_rows * 0.02))
        n_nonprod = int(round(n_rows * 0.006))
        n_adjust = max(1, int(round(n_rows * 0.00003)))
        n_negative = int(round(n_rows * 0.002))
        n_purchase = n_rows - n_dup - n_cancel - n_nonprod - n_adjust - n_negative
        chunk = _Chunk()
        bought = self._purchases(rng, chunk, n_purchase, n_customers, first_id, first_invoice)
        cursor = first_invoice + bought.total_orders
        cursor = self._cancellations(rng, chunk, bought, n_cancel, cursor)
        cursor = self._non_product_lines(rng, chunk, bought, n_nonprod, cursor)
        cursor = self._adjustments(rng, chunk, n_adjust, cursor)
        cursor = self._write_offs(rng, chunk, bought, n_negative, cursor)
        cols = chunk.concat()
        # Exact duplicate lines: copies of existing lines, as double-scanned items are.
        dup = rng.choice(len(cols["quantity"]), size=n_dup)
        cols = {k: np.concatenate([v, v[dup]]) for k, v in cols.items()}
        order = np.lexsort((cols["invoice_no"], cols["ts"]))
        cols = {k: v[order] for k, v in cols.items()}
        return self._to_arrow(cols), cursor - first_invoice

    def _orders(self, rng, lines, lpo, first_day, last_day, first_invoice):
        """Each customer's lines cut into consecutive orders spread over its active span: the
        order of every line, and every order's time and invoice number."""
        n_all = len(lines)
        orders = np.clip(np.rint(lines / lpo), 1, np.maximum(lines, 1)).astype(np.int64)
        orders[lines == 0] = 0
        order_offset = np.concatenate([[0], np.cumsum(orders)[:-1]])
        total_orders = int(orders.sum())
        row_cust = np.repeat(np.arange(n_all), lines)
        row_pos = np.arange(len(row_cust)) - np.repeat(np.cumsum(lines) - lines, lines)
        row_k = (row_pos * orders[row_cust]) // np.maximum(lines[row_cust], 1)
        row_order = order_offset[row_cust] + row_k

        order_cust = np.repeat(np.arange(n_all), orders)
        order_k = np.arange(total_orders) - np.repeat(order_offset, orders)
        denom = np.maximum(orders[order_cust] - 1, 1)
        span = (last_day - first_day)[order_cust]
        order_day = first_day[order_cust] + np.where(
            orders[order_cust] > 1, np.rint(span * order_k / denom), 0
        ).astype(np.int64)
        order_day = np.where(orders[order_cust] == 1, last_day[order_cust], order_day)
        order_secs = order_day * SECONDS_PER_DAY + rng.integers(7 * 3600, 20 * 3600, total_orders) // 60 * 60
        # Invoice numbers follow time, as in the real file.
        invoice_rank = np.empty(total_orders, np.int64)
        invoice_rank[np.argsort(order_secs, kind="stable")] = np.arange(total_orders)
        return row_cust, row_order, order_secs, first_invoice + invoice_rank, total_orders

    def _purchases(self, rng, chunk, n_purchase, n_customers, first_id, first_invoice) -> _Purchases:
        cfg = self.config
        n_guests = max(1, int(round(n_customers * 0.3)))
        n_all = n_customers + n_guests
        first_day, last_day, activity, lpo, qscale, country = _customer_frame(rng, n_all, self.span)
        real_w = activity[:n_customers] / activity[:n_customers].sum() * (1 - cfg.guest_row_share)
        guest_w = activity[n_customers:] / activity[n_customers:].sum() * cfg.guest_row_share
        weights = np.concatenate([real_w, guest_w])
        # Every real customer buys at least one line; the rest is spread by activity.
        floor = np.concatenate([np.ones(n_customers, np.int64), np.zeros(n_guests, np.int64)])
        lines = floor + rng.multinomial(n_purchase - n_customers, weights / weights.sum())
        customer_ids = np.concatenate(
            [np.arange(first_id, first_id + n_customers, dtype=np.float64), np.full(n_guests, np.nan)]
        )
        row_cust, row_order, order_secs, order_invoice, total_orders = self._orders(
            rng, lines, lpo, first_day, last_day, first_invoice
        )
        cat = self.catalogue
        product = rng.choice(len(cat.prices), size=len(row_cust), p=cat.popularity)
        quantity = np.maximum(1, np.rint(rng.lognormal(np.log(qscale[row_cust]), 0.7))).astype(np.int64)
        price = cat.prices[product].copy()
        zero_price = rng.random(len(price)) < 0.0015
        price[zero_price] = 0.0
        ts = order_secs[row_order]
        chunk.add(
            invoice_no=order_invoice[row_order],
            invoice_prefix=np.zeros(len(row_cust), np.int8),
            product=product,
            quantity=quantity,
            ts=ts,
            price=price,
            customer=customer_ids[row_cust],
            country=country[row_cust],
        )
        return _Purchases(
            n_customers, row_cust, row_order, order_invoice, product, quantity, price, ts,
            customer_ids, country, total_orders,
        )  # fmt: skip

    def _cancellations(self, rng, chunk, p: _Purchases, n_cancel: int, cursor: int) -> int:
        """Cancellations: return part of an earlier purchase of a known customer, days later."""
        known = np.flatnonzero(p.row_cust < p.n_customers)
        src = rng.choice(known, size=n_cancel, replace=True)
        delay = rng.integers(0, 21 * SECONDS_PER_DAY, n_cancel)
        cancel_ts = np.minimum(p.ts[src] + delay, self.span * SECONDS_PER_DAY + 20 * 3600)
        chunk.add(
            invoice_no=cursor + np.arange(n_cancel),
            invoice_prefix=np.ones(n_cancel, np.int8),
            product=p.product[src],
            quantity=-rng.integers(1, p.quantity[src] + 1),
            ts=cancel_ts,
            price=np.where(p.price[src] > 0, p.price[src], self.catalogue.prices[p.product[src]]),
            customer=p.customer_ids[p.row_cust[src]],
            country=p.country[p.row_cust[src]],
        )
        return cursor + n_cancel

    def _non_product_lines(self, rng, chunk, p: _Purchases, n_nonprod: int, cursor: int) -> int:
        """Non-product lines ride on existing orders (postage, manual, bank charges, discounts)."""
        kinds = rng.choice(
            len(NON_PRODUCT_LINES), size=n_nonprod, p=[x[3] for x in NON_PRODUCT_LINES]
        ).astype(np.int8)
        host = rng.choice(len(p.row_cust), size=n_nonprod)
        lo = np.array([x[2][0] for x in NON_PRODUCT_LINES])[kinds]
        hi = np.array([x[2][1] for x in NON_PRODUCT_LINES])[kinds]
        is_discount = kinds == len(NON_PRODUCT_LINES) - 1
        manual_cancel = (kinds == 2) & (rng.random(n_nonprod) < 0.2)
        as_cancel = is_discount | manual_cancel
        np_qty = np.where(as_cancel, -1, rng.integers(1, 4, n_nonprod))
        chunk.add(
            invoice_no=np.where(as_cancel, cursor + np.arange(n_nonprod), p.order_invoice[p.row_order[host]]),
            invoice_prefix=as_cancel.astype(np.int8),
            product=np.zeros(n_nonprod, np.int64),
            quantity=np_qty,
            ts=p.ts[host],
            price=np.round(rng.uniform(lo, hi), 2),
            customer=p.customer_ids[p.row_cust[host]],
            country=p.country[p.row_cust[host]],
            non_product=kinds,
        )
        return cursor + n_nonprod

    def _adjustments(self, rng, chunk, n_adjust: int, cursor: int) -> int:
        """ "Adjust bad debt": A/B invoices with stock code B, no customer, price may be negative."""
        chunk.add(
            invoice_no=cursor + np.arange(n_adjust),
            invoice_prefix=np.full(n_adjust, 2, np.int8),
            product=np.zeros(n_adjust, np.int64),
            quantity=np.ones(n_adjust, np.int64),
            ts=rng.integers(0, self.span * SECONDS_PER_DAY, n_adjust) // 60 * 60,
            price=np.round(
                np.where(rng.random(n_adjust) < 0.6, -1, 1) * rng.uniform(100, 12_000, n_adjust), 2
            ),
            customer=np.full(n_adjust, np.nan),
            country=np.zeros(n_adjust, np.int64),
            non_product=np.full(n_adjust, len(NON_PRODUCT_LINES), np.int8),
        )
        return cursor + n_adjust

    def _write_offs(self, rng, chunk, p: _Purchases, n_negative: int, cursor: int) -> int:
        """Stock write-offs: negative quantity outside a cancellation, zero price, no customer."""
        neg_src = rng.choice(len(p.row_cust), size=n_negative)
        chunk.add(
            invoice_no=cursor + np.arange(n_negative),
            invoice_prefix=np.zeros(n_negative, np.int8),
            product=p.product[neg_src],
            quantity=-rng.integers(1, 200, n_negative),
            ts=p.ts[neg_src],
            price=np.zeros(n_negative),
            customer=np.full(n_negative, np.nan),
            country=np.zeros(n_negative, np.int64),
            note=rng.integers(0, len(DAMAGE_NOTES), n_negative).astype(np.int8),
        )
        return cursor + n_negative

    def _to_arrow(self, cols: dict[str, np.ndarray]) -> pa.Table:
        cat = self.catalogue
        n = len(cols["quantity"])
        invoice = pc.cast(pa.array(cols["invoice_no"]), pa.string())
        prefix = pa.array(np.array(["", "C", "A"])[cols["invoice_prefix"]])
        invoice = pc.binary_join_element_wise(prefix, invoice, "")

        np_codes = pa.array([x[0] for x in NON_PRODUCT_LINES] + ["B"])
        np_desc = pa.array([x[1] for x in NON_PRODUCT_LINES] + ["Adjust bad debt"])
        is_np = cols["non_product"] >= 0
        np_idx = pa.array(np.where(is_np, cols["non_product"], 0))
        code = pc.if_else(
            pa.array(is_np), pc.take(np_codes, np_idx), pc.take(cat.codes, pa.array(cols["product"]))
        )
        desc = pc.if_else(
            pa.array(is_np), pc.take(np_desc, np_idx), pc.take(cat.descriptions, pa.array(cols["product"]))
        )
        has_note = cols["note"] >= 0
        notes = pc.take(pa.array(DAMAGE_NOTES), pa.array(np.where(has_note, cols["note"], 0)))
        desc = pc.if_else(pa.array(has_note), notes, desc)
        # A few product lines have no description, as in the UCI file.
        missing_desc = (cols["price"] == 0) & ~is_np & ~has_note
        desc = pc.if_else(pa.array(missing_desc), pa.nulls(n, pa.string()), desc)

        ts = (self.start + cols["ts"].astype("timedelta64[s]")).astype("datetime64[us]")
        customer = pa.array(cols["customer"], pa.float64(), mask=np.isnan(cols["customer"]))
        country = pc.take(pa.array(COUNTRIES), pa.array(cols["country"]))
        return pa.Table.from_arrays(
            [invoice, code, desc, pa.array(cols["quantity"], pa.int64()), pa.array(ts), pa.array(cols["price"]),
             customer, country],
            schema=self.schema(),
        )  # fmt: skip


def write_transactions(path: str | Path, config: GeneratorConfig, fmt: str | None = None) -> dict:
    """Write generated transactions to ``path`` (Parquet or CSV, from the extension).

    Returns a summary with the row and chunk counts. Memory stays bounded by one chunk.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in {"parquet", "csv"}:
        raise ValueError(f"cannot write {path.name!r}: use a .parquet or .csv file name (or --format)")
    path.parent.mkdir(parents=True, exist_ok=True)
    gen = TransactionGenerator(config)
    tmp = path.with_name(path.name + ".partial")
    rows = chunks = 0
    writer = None
    try:
        for table in gen.chunks():
            if fmt == "parquet":
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=500_000)
            else:
                date_col = gen.columns["invoice_date"]
                idx = table.schema.get_field_index(date_col)
                table = table.set_column(
                    idx, date_col, pc.strftime(table[date_col].cast(pa.timestamp("s")), "%Y-%m-%d %H:%M:%S")
                )
                if writer is None:
                    writer = pacsv.CSVWriter(tmp, table.schema)
                writer.write_table(table)
            rows += table.num_rows
            chunks += 1
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return {"path": str(path), "rows": rows, "chunks": chunks, "format": fmt}


def generate_table(config: GeneratorConfig) -> pa.Table:
    """All generated rows as one Arrow table (for tests and small files)."""
    return pa.concat_tables(TransactionGenerator(config).chunks())
