"""``custseg upgrade-registry``: carry a model registry written by an earlier release forward.

Until this release the registry stored each row's reports as Arrow IPC bytes, which only
Python could read; now they are JSON that the SQL marts unpack (segmentation/reports.py). A
build refuses a registry of the old kind (it would append text to a column of bytes); this
command converts it in place, keeping every model version, run and signed artifact. It reads
Arrow IPC, which runs no code, and never unpickles.

A registry is a file from elsewhere as far as this command knows, so what it decodes is
bounded before anything is decoded: each stream's messages are read from their headers first,
compressed bodies are refused (no release wrote them, and a few kilobytes of zstd can claim
gigabytes), and a row's reports may hold at most ``MAX_REPORT_BYTES`` of bodies and
``MAX_REPORT_VALUES`` values (the project's own are kilobytes).
"""

from __future__ import annotations

import struct
from pathlib import Path

REGISTRY = "segmentation.ml_model_registry"
MAX_REPORT_BYTES = 16 * 2**20
MAX_REPORT_VALUES = 2_000_000


class LegacyReportRefused(ValueError):
    """A legacy report this command will not decode; the message says why."""


def _fields(buf: bytes, table: int) -> list[int]:
    """A flatbuffer table's field positions (0: absent), read from its vtable."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    size = struct.unpack_from("<H", buf, vtable)[0]
    offsets = struct.unpack_from(f"<{(size - 4) // 2}H", buf, vtable + 4)
    return [table + o if o else 0 for o in offsets]


def _field(fields: list[int], index: int) -> int:
    return fields[index] if index < len(fields) else 0


def _target(buf: bytes, at: int) -> int:
    return at + struct.unpack_from("<I", buf, at)[0]


def _batch_values(buf: bytes, batch: int) -> int:
    """The values a RecordBatch table declares (its field nodes' lengths); refuses compression."""
    fields = _fields(buf, batch)
    if _field(fields, 3):  # RecordBatch.compression
        raise LegacyReportRefused(
            "its reports are compressed Arrow IPC, which no release of this project wrote"
        )
    nodes = _field(fields, 1)
    if not nodes:
        return 0
    vector = _target(buf, nodes)
    count = struct.unpack_from("<I", buf, vector)[0]
    return sum(struct.unpack_from("<q", buf, vector + 4 + 16 * i)[0] for i in range(count))


def checked_stream(payload: bytes) -> None:
    """Read an IPC stream's message headers (no body decoded) and refuse it when a body is
    compressed or the stream would decode to more than the caps."""
    import pyarrow as pa

    if len(payload) > MAX_REPORT_BYTES:
        raise LegacyReportRefused(f"a report is {len(payload):,} bytes, more than a report ever was")
    reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(payload))
    values = 0
    while True:
        try:
            message = reader.read_next_message()
        except StopIteration:
            break
        if message is None:
            break
        buf = message.metadata.to_pybytes()
        header = _field(_fields(buf, struct.unpack_from("<I", buf, 0)[0]), 2)
        if message.type == "record batch":
            values += _batch_values(buf, _target(buf, header))
        elif message.type == "dictionary batch":
            data = _field(_fields(buf, _target(buf, header)), 1)
            values += _batch_values(buf, _target(buf, data)) if data else 0
        elif message.type != "schema":
            raise LegacyReportRefused(
                f"its reports hold an Arrow {message.type} message, which no release wrote"
            )
        if values > MAX_REPORT_VALUES:
            raise LegacyReportRefused(f"a report declares more than {MAX_REPORT_VALUES:,} values")


def legacy_reports_to_json(blob: bytes) -> str:
    """One row's reports, Arrow IPC (a stream of (name, IPC stream of the table)), as JSON;
    :class:`LegacyReportRefused` for a stream this command will not decode."""
    import pyarrow as pa

    from .segmentation.reports import encode_reports

    def table(payload: bytes) -> pa.Table:
        checked_stream(payload)
        try:
            return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
        except (pa.ArrowException, ValueError, OSError) as exc:
            raise LegacyReportRefused(f"its reports are not readable Arrow IPC ({exc})") from None

    outer = table(blob).to_pydict()
    if set(outer) != {"name", "payload"}:
        raise LegacyReportRefused("its reports are not the (name, payload) table earlier releases wrote")
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
    try:
        con = duckdb.connect(str(path), config={"enable_external_access": False, "lock_configuration": True})
    except duckdb.Error as exc:
        raise ValueError(f"cannot open {path} as a DuckDB database: {str(exc).splitlines()[0]}") from None
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
        converted = []
        for model_id, blob in rows:
            try:
                converted.append((model_id, legacy_reports_to_json(bytes(blob)) if blob else "{}"))
            except LegacyReportRefused as exc:
                raise LegacyReportRefused(
                    f"not upgraded: the registry row {model_id!r} of {path} is not one this project wrote: {exc}. "
                    "Nothing was changed; rebuild the registry from your data (dbt build with a new database)."
                ) from None
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
