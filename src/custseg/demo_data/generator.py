"""The generator itself: chunk by chunk, each from its own ``numpy.random.Generator`` seeded with
``(seed, chunk_index)``, the purchases of each customer's archetype and every kind of dirt of the
real file, as Arrow tables."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .settings import (
    ADJECTIVES,
    ARCHETYPES,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DAMAGE_NOTES,
    NON_PRODUCT_LINES,
    NOUNS,
    SECONDS_PER_DAY,
    SPELLINGS,
    GeneratorConfig,
)


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
