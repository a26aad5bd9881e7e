"""Test data for the segmentation tests: customers with planted groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def seed_names() -> pd.DataFrame:
    return pd.read_csv(REPO / "seeds" / "segment_names.csv")


def planted_customers(k: int, per_group: int = 150, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """k well-separated groups on log R/F/M: group 0 is the best (recent, frequent, big spend),
    group k-1 the worst. Returns the customers frame and the planted group of each row."""
    rng = np.random.default_rng(seed)
    frames, groups = [], []
    for g in range(k):
        t = g / max(k - 1, 1)  # 0 = best, 1 = worst
        recency = np.exp(rng.normal(np.log(3 + 300 * t), 0.08, per_group))
        orders = np.exp(rng.normal(np.log(40 - 39 * t), 0.08, per_group))
        money = np.exp(rng.normal(np.log(20_000 * (1 - t) + 80), 0.08, per_group))
        frames.append(pd.DataFrame({"recency_days": recency, "order_count": orders, "monetary_value": money}))
        groups.append(np.full(per_group, g))
    customers = pd.concat(frames, ignore_index=True)
    customers.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(customers))])
    return customers, np.concatenate(groups)


class Payload:
    """Unpickling this runs code: it writes a marker file (for the tests that prove it never runs)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path(self.marker).write_text, ("payload ran",))
