"""Pulls: what a build reads from a database table, kept as a pull file (docs/database.md).

A build that names ``transactions_table`` pulls the table's rows into a *pull file*, a Parquet
file the project writes beside the working warehouse (``<warehouse>.pulls/``), and from there
reads it as it reads any Parquet input: the same column spellings, ``column_map``, quarantine
and batches. The pull files are the local record of what was read; the line store records which
of them it loaded.

- With ``transactions_key_columns`` and ``transactions_updated_at_column`` a pull reads only the
  rows whose change stamp is after the greatest stamp loaded so far (``changes`` mode). A row
  whose key is already loaded *replaces* its earlier version: the build then rebuilds the line
  store and the customer tables from the current version of every row (``reload``), so the marts
  equal a fresh build of the table as it now stands.
- Without a change stamp the table is read whole (``snapshot`` mode); when its content differs
  from the last snapshot loaded, it replaces it (a reload from the new snapshot alone), else
  nothing new is built. A key, when named, is checked (present, never null, never repeated).

Rows stream from the driver (Arrow record batches) into the Parquet writer, never all in
memory; a pull is written to a ``.partial`` file and renamed only when complete and checked, so
a connection that drops mid-pull leaves no half batch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import SourceError
from .database import (
    DatabaseURL,
    begin_read_only,
    quote_identifier,
    read_problem,
    resolve_table,
    source_url,
    table_columns,
)

PULL_META_KEY = b"custseg_pull"


def stamp_to_json(value: Any) -> dict | None:
    """A change stamp as JSON that keeps its type (it is bound again as a parameter)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat(sep=" ")}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SourceError(
            f"The change stamp column holds {type(value).__name__} values; use a timestamp, a date, a number "
            "or ISO text that grows with every change."
        )
    return {"type": type(value).__name__, "value": value}


def stamp_from_json(stamp: dict | None) -> Any:
    if stamp is None:
        return None
    if stamp["type"] == "datetime":
        return dt.datetime.fromisoformat(stamp["value"])
    if stamp["type"] == "date":
        return dt.date.fromisoformat(stamp["value"])
    return stamp["value"]


def stamp_text(stamp: dict | None) -> str:
    return "" if stamp is None else str(stamp["value"])


class PullOptions:
    """The database options of a build (vars), checked."""

    def __init__(self, options: dict) -> None:
        self.table = options.get("transactions_table") or ""
        keys = options.get("transactions_key_columns") or []
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise SourceError(
                f"transactions_key_columns must be a list of column names, e.g. [line_id], got {keys!r}."
            )
        self.keys: list[str] = keys
        self.stamp: str = options.get("transactions_updated_at_column") or ""
        if not isinstance(self.stamp, str):
            raise SourceError(f"transactions_updated_at_column must be a column name, got {self.stamp!r}.")
        if self.stamp and not self.keys:
            raise SourceError(
                "transactions_updated_at_column needs transactions_key_columns: a changed row can only "
                "replace its earlier version when the build knows the row's identity. Set both "
                "(e.g. --vars '{transactions_key_columns: [line_id], transactions_updated_at_column: "
                "updated_at}'), or neither to read the table whole every build."
            )
        self.mode = "changes" if self.stamp else "snapshot"


def _check_columns(opts: PullOptions, columns: list[str], table: str) -> None:
    for var, names in (("transactions_key_columns", opts.keys), ("transactions_updated_at_column",
                                                                 [opts.stamp] if opts.stamp else [])):  # fmt: skip
        missing = [n for n in names if n not in columns]
        if missing:
            raise SourceError(
                f"{var} names {', '.join(missing)}, which {table} does not have; its columns: {', '.join(columns)}."
            )


def _stream_to_parquet(reader, path: Path, metadata: dict) -> tuple[int, str]:
    """Write the driver's record batches to ``path`` as they arrive; the row count and a digest
    of the rows (SHA-256 of their Arrow encoding, in pull order), recorded in the file's metadata
    with ``metadata``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    digest = hashlib.sha256()
    # the driver's per-field metadata (e.g. PostgreSQL type names) is not part of the data
    schema = pa.schema([pa.field(f.name, f.type, f.nullable) for f in reader.schema])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in reader:
            if batch.num_rows:
                batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
                writer.write_batch(batch)
                digest.update(batch.serialize())
                rows += batch.num_rows
        meta = {**metadata, "rows": rows, "content": digest.hexdigest()}
        writer.add_key_value_metadata({PULL_META_KEY: json.dumps(meta, sort_keys=True).encode()})
    return rows, digest.hexdigest()


def read_pull_metadata(path: str) -> dict:
    """The metadata the project wrote into a pull file."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path).metadata or {}
    if PULL_META_KEY not in meta:
        raise SourceError(
            f"{path} is not a pull file this project wrote (no {PULL_META_KEY.decode()} metadata)."
        )
    return json.loads(meta[PULL_META_KEY])


def _check_keys(con, reader: str, keys: list[str], table: str) -> None:
    """Every key present and unique within the pull."""
    cols = ", ".join(quote_identifier(k) for k in keys)
    any_null = " or ".join(f"{quote_identifier(k)} is null" for k in keys)
    nulls = con.execute(f"select count(*) from {reader} where {any_null}").fetchone()[0]
    if nulls:
        raise SourceError(
            f"{nulls} row(s) of {table} have no value in the key column(s) {', '.join(keys)}; a row without "
            "an identity cannot be replaced later. Fill the key, or name other key columns."
        )
    repeated = con.execute(
        f"select {cols}, count(*) from {reader} group by {cols} having count(*) > 1 order by 1 limit 3"
    ).fetchall()
    if repeated:
        shown = "; ".join(", ".join(str(v) for v in row[:-1]) + f" ({row[-1]} rows)" for row in repeated)
        raise SourceError(
            f"The key {', '.join(keys)} repeats within one pull of {table} ({shown}): a key names one row. "
            "Name the columns that identify a row in transactions_key_columns."
        )


def pull(
    options: dict,
    pull_dir: str,
    loaded_pulls: list[str],
    full_refresh: bool = False,
    env: dict[str, str] | None = None,
) -> dict:
    """Pull what changed in ``transactions_table`` into a new pull file in ``pull_dir``.

    ``loaded_pulls``: the pull files the line store holds, oldest first. Returns ``files`` (the
    pull files this build reads: the new one, or on a reload every current one; when nothing
    changed, the last loaded file, which the batch plan then skips), ``reload`` (the line store
    and the customer tables are rebuilt), ``new_file`` (or None), ``rows`` (pulled),
    ``replaced`` (loaded keys the pull replaces), ``window`` ([after, through] change stamps as
    text), ``mode``, ``key_columns`` and ``pulled`` (True; :func:`last_pull`'s answer has False).
    Raises SourceError for every input problem.
    """
    opts = PullOptions(options)
    url = source_url(env)
    folder = Path(pull_dir)
    loaded, last = _loaded_pulls(loaded_pulls, opts, folder)
    after = stamp_from_json(last.get("stamp_max")) if (last and opts.mode == "changes") else None
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"pull-{os.getpid()}.parquet.partial"
    try:
        meta = _read_table(url, opts, after, last, partial)
        answer, new_file = _settle(opts, meta, partial, loaded, last)
    except BaseException:
        partial.unlink(missing_ok=True)  # a pull that failed leaves nothing behind
        raise
    # a reload rebuilds the line store from the current rows: every pull file of a changes-mode
    # table (the newest version of each key wins), the newest snapshot of a snapshot-mode one
    snapshot_changed = opts.mode == "snapshot" and new_file is not None and bool(loaded)
    reload = full_refresh or answer["replaced"] > 0 or snapshot_changed
    if opts.mode == "changes" and reload:
        files = loaded + ([str(new_file)] if new_file else [])
    else:
        files = [str(new_file) if new_file else loaded[-1]]
    return {**answer, "files": files, "reload": bool(reload), "pulled": True}


def last_pull(options: dict, pull_dir: str, loaded_pulls: list[str]) -> dict:
    """What a command that loads nothing (``dbt compile``, ``dbt docs generate``, ``dbt show``)
    reads from a database source: the last pull the warehouse loaded, as a pull that found no
    change would answer, without connecting to the database. Raises SourceError when nothing
    has been pulled yet."""
    opts = PullOptions(options)
    loaded, _ = _loaded_pulls(loaded_pulls, opts, Path(pull_dir))
    if not loaded:
        raise SourceError(
            f"Nothing has been pulled from {opts.table} yet: only dbt build (or dbt run) pulls a database "
            "source; this command reads what the last build pulled. Run dbt build first."
        )
    return {**_answer(opts, 0, ["", ""]), "files": [loaded[-1]], "reload": False, "pulled": False}


def _answer(opts: PullOptions, rows: int, window: list[str]) -> dict:
    """The part of a pull's answer every pull has (:func:`pull`, :func:`last_pull`): the pre-flight's
    message (macro pull_log) reads it."""
    return {"mode": opts.mode, "key_columns": opts.keys, "rows": rows, "replaced": 0, "new_file": None,
            "window": window}  # fmt: skip


def _loaded_pulls(loaded_pulls: list[str], opts: PullOptions, folder: Path) -> tuple[list[str], dict | None]:
    """The loaded pull files (each must still be there, in the pull folder: the store names no
    other file the pull may open) and the last one's metadata, whose settings must be this build's."""
    loaded = [str(p) for p in loaded_pulls]
    for path in loaded:
        if Path(path).resolve().parent != folder.resolve():
            raise SourceError(
                f"The warehouse's line store names {path} as a loaded pull, outside the pull folder {folder}: it was "
                "loaded from files, not from transactions_table. Start over (delete the warehouse file), or keep "
                "reading files."
            )
        if not Path(path).is_file():
            raise SourceError(
                f"The pull file {path}, loaded by an earlier build, is missing: the warehouse needs the rows it "
                "read. Restore the folder, or start over: delete the warehouse file and build again."
            )
    last = read_pull_metadata(loaded[-1]) if loaded else None
    if last is not None and (last.get("mode"), last.get("key_columns")) != (opts.mode, opts.keys):
        raise SourceError(
            f"The warehouse was loaded from {last.get('table')} in {last.get('mode')} mode with key "
            f"{last.get('key_columns') or 'none'}; this build asks for {opts.mode} mode with key "
            f"{opts.keys or 'none'}. Keep the settings, or start over (delete the warehouse file)."
        )
    return loaded, last


def _read_table(url: DatabaseURL, opts: PullOptions, after: Any, last: dict | None, partial: Path) -> dict:
    """Check the table and stream the rows to pull into ``partial``, in one read-only
    transaction; the pull's metadata (with ``rows`` and ``content``)."""
    conn = url.connect(read_only=True)
    try:
        begin_read_only(conn, url.kind)
        qualified = resolve_table(conn, url.kind, opts.table)
        columns = table_columns(conn, qualified)
        _check_columns(opts, columns, opts.table)
        stamp_max = _check_stamps(conn, qualified, opts, after, last) if opts.stamp else None
        select = f"select * from {qualified}"
        if after is not None:
            select += f" where {quote_identifier(opts.stamp)} > {'$1' if url.kind == 'postgresql' else '?'}"
        order = [quote_identifier(k) for k in opts.keys] or [str(i + 1) for i in range(len(columns))]
        meta = {"table": opts.table, "mode": opts.mode, "key_columns": opts.keys, "stamp_column": opts.stamp,
                "stamp_after": stamp_to_json(after), "stamp_max": stamp_to_json(stamp_max)}  # fmt: skip
        cur = conn.cursor()
        try:
            cur.execute(
                select + " order by " + ", ".join(order), parameters=(after,) if after is not None else None
            )
            rows, digest = _stream_to_parquet(cur.fetch_record_batch(), partial, meta)
        finally:
            cur.close()
        return {**meta, "rows": rows, "content": digest}
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(read_problem(url, exc, opts.table)) from None
    finally:
        with contextlib.suppress(Exception):
            conn.rollback()
        conn.close()


def _check_stamps(conn, qualified: str, opts: PullOptions, after: Any, last: dict | None) -> Any:
    """The greatest change stamp, after checking that every row has one and that they did not
    move backwards since the last pull."""
    col = quote_identifier(opts.stamp)
    cur = conn.cursor()
    try:
        cur.execute(f"select max({col}), sum(case when {col} is null then 1 else 0 end) from {qualified}")
        stamp_max, nulls = cur.fetchall()[0]
    finally:
        cur.close()
    if nulls:
        raise SourceError(
            f"{int(nulls)} row(s) of {opts.table} have no change stamp ({opts.stamp} is null): such rows would "
            "never be pulled. Fill the stamp (e.g. with the row's creation time)."
        )
    if after is not None and stamp_max is not None:
        try:
            backwards = stamp_max < after
        except TypeError:  # another type than the stamps loaded so far
            backwards = True
        if backwards:
            raise SourceError(
                f"The change stamps of {opts.table} moved backwards: the greatest {opts.stamp} is now {stamp_max}, "
                f"and rows up to {stamp_text(last['stamp_max'])} were loaded. Was the table restored from an "
                "older copy? Start over (delete the warehouse file) to load it as it is."
            )
    return stamp_max


def _settle(opts: PullOptions, meta: dict, partial: Path, loaded: list[str], last: dict | None):
    """Keep the pulled rows as a pull file, or drop them when nothing changed; the answer and
    the new file (or None)."""
    answer = _answer(opts, meta["rows"], [stamp_text(meta["stamp_after"]), stamp_text(meta["stamp_max"])])
    unchanged = opts.mode == "snapshot" and last is not None and last.get("content") == meta["content"]
    if meta["rows"] == 0 or unchanged:
        partial.unlink()  # nothing changed: the last loaded file stands (the batch plan skips it)
        if not loaded:
            raise SourceError(f"{opts.table} has no rows: there is nothing to segment yet.")
        return {**answer, "rows": 0}, None
    if opts.keys:
        import duckdb

        with duckdb.connect() as con:
            _check_keys(con, f"read_parquet({_sql_string(str(partial))})", opts.keys, opts.table)
            if opts.mode == "changes" and loaded:
                answer["replaced"] = _replaced_keys(con, str(partial), loaded, opts.keys)
    new_file = (
        partial.parent
        / f"pull-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{meta['content'][:12]}.parquet"
    )
    partial.replace(new_file)
    return {**answer, "new_file": str(new_file)}, new_file


def _replaced_keys(con, new: str, loaded: list[str], keys: list[str]) -> int:
    """How many keys of the new pull the loaded pull files already hold."""
    cols = ", ".join(quote_identifier(k) for k in keys)
    return int(
        con.execute(
            f"select count(*) from (select {cols} from read_parquet({_sql_string(new)})) as pulled "
            f"semi join (select distinct {cols} from read_parquet({_sql_list(loaded)}, union_by_name = true)) "
            f"as stored using ({cols})"
        ).fetchone()[0]
    )


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(_sql_string(v) for v in values) + "]"


def reader_sql(files: list[str], keys: list[str]) -> str:
    """The DuckDB relation over pull files: with several files (a reload), each key's newest
    version only (the file later in the list wins); file_index and file_row_number as the
    Parquet reader of files gives them."""
    from .files import files_sql

    base = f"read_parquet({files_sql(files)}, union_by_name = true)"
    if len(files) <= 1 or not keys:
        return base
    cols = ", ".join(quote_identifier(k) for k in keys)
    return (
        f"(select * exclude (custseg_version) from (select *, file_index, file_row_number, "
        f"row_number() over (partition by {cols} order by file_index desc) as custseg_version "
        f"from {base}) where custseg_version = 1)"
    )
