"""``custseg upgrade-registry``: carry a model registry written by an earlier release forward.

Until this release the registry stored each row's reports as Arrow IPC bytes, which only
Python could read; now they are JSON that the SQL marts unpack (segmentation/reports.py). A
build refuses a registry of the old kind (it would append text to a column of bytes); this
command converts it in place, keeping every model version, run and signed artifact. It reads
Arrow IPC, which runs no code, and never unpickles.
"""

from __future__ import annotations

from pathlib import Path

REGISTRY = "segmentation.ml_model_registry"


def legacy_reports_to_json(blob: bytes) -> str:
    """One row's reports, Arrow IPC (a stream of (name, IPC stream of the table)), as JSON."""
    import pyarrow as pa

    from .segmentation.reports import encode_reports

    def table(payload: bytes) -> pa.Table:
        return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()

    outer = table(blob).to_pydict()
    return encode_reports(
        {
            name: table(payload).to_pandas()
            for name, payload in zip(outer["name"], outer["payload"], strict=True)
        }
    )


def upgrade_registry(db_path: str | Path) -> dict:
    """Convert the registry of the working database ``db_path`` (the one dbt writes, not the
    published copy) in place. Returns what was done; a registry already in the current form is
    left as it is."""
    import duckdb

    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is not a file: give the working database dbt writes (CUSTSEG_DB_PATH)"
        )
    # the file can read nothing outside itself, and no setting can be changed back
    con = duckdb.connect(str(path), config={"enable_external_access": False, "lock_configuration": True})
    try:
        found = con.execute(
            "select c.data_type from information_schema.columns as c join information_schema.tables as t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            "where c.table_schema = 'segmentation' and c.table_name = 'ml_model_registry' "
            "and c.column_name = 'reports' and t.table_type = 'BASE TABLE'"
        ).fetchone()
        if found is None:
            raise ValueError(f"{path} has no model registry ({REGISTRY}); nothing to upgrade")
        if found[0] != "BLOB":
            return {"upgraded_rows": 0, "note": "the registry already stores its reports as JSON"}
        rows = con.execute(f"select model_id, reports from {REGISTRY}").fetchall()
        converted = [
            (model_id, legacy_reports_to_json(bytes(blob)) if blob else "{}") for model_id, blob in rows
        ]
        con.execute("begin")
        con.execute("create temp table upgraded (model_id varchar primary key, reports varchar)")
        con.executemany("insert into upgraded values (?, ?)", converted)
        con.execute(
            f"create or replace table {REGISTRY} as select registry.* replace (upgraded.reports as reports) "
            f"from {REGISTRY} as registry inner join upgraded using (model_id)"
        )
        con.execute("commit")
        return {"upgraded_rows": len(converted)}
    finally:
        con.close()
