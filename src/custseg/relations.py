"""What a dbt Python model reads, as pandas: a DuckDB relation, a Spark DataFrame (the
custseg_spark adapter) or an Arrow object, moved through Arrow."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def to_pandas(relation) -> pd.DataFrame:
    if hasattr(relation, "to_arrow_table"):
        table = relation.to_arrow_table()
    elif hasattr(relation, "fetch_arrow_table"):
        table = relation.fetch_arrow_table()
    elif hasattr(relation, "toArrow"):
        table = relation.toArrow()
    else:
        table = relation
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    return table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)
