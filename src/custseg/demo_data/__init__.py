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

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .generator import TransactionGenerator
from .settings import GeneratorConfig

__all__ = ["GeneratorConfig", "TransactionGenerator", "generate_table", "write_transactions"]


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
