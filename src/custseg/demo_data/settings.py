"""What the demo generator draws from: the customer archetypes, countries, product words, the
non-product lines of the real file, and the generator's settings (GeneratorConfig)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

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
