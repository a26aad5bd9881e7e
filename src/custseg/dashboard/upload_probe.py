"""What the dashboard's "Try your own file" page reads from an upload before the build: the kind
it looks like, its id column, and the numeric columns worth proposing. A file a person uploads is
hostile input to a server every session shares, so:

- it is read in a child process (:func:`upload_columns`), with bounded memory (an address-space
  limit and DuckDB's own), one thread and a time limit: a crash or a runaway read ends the child,
  never the Streamlit server, and the page says what happened;
- a table wider than ``customer_table_max_columns`` is refused from its header, before any
  statistic, with the build's own message (``customer_probe.check_width``);
- the statistics run on a copy in memory, per column for the kinds and in chunks of columns for
  the constant check (``customer_probe.STATS_CHUNK``), never as one query over every column.

``python -m custseg.dashboard.upload_probe FILE`` prints :func:`probe_upload`'s answer as JSON (the child).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# the child's limits: the page's read of a file the build would take at most takes seconds
PROBE_SECONDS = 60
PROBE_MEMORY_BYTES = 3 * 2**30
PROBE_DUCKDB_MEMORY = "1GB"


class UploadError(ValueError):
    """An upload the dashboard refuses, or a build that stopped; the message is for the user."""


@dataclass(frozen=True)
class UploadColumns:
    """What the header of an upload says: the kind it looks like, its id column, the numeric
    columns a customer table could be segmented on (not the id, not constant), and those of them
    that look like outcomes (customer_kinds.looks_like_outcome: campaign answers, complaints),
    which the page does not propose."""

    kind: str
    id_column: str | None
    numeric: tuple[str, ...]
    outcomes: tuple[str, ...] = ()

    @property
    def proposed(self) -> tuple[str, ...]:
        """The columns the page proposes: the traits (numeric, not an outcome)."""
        return tuple(c for c in self.numeric if c not in self.outcomes)


def reader_sql(path: Path) -> str:
    from ..inputs.quoting import sql_string

    if path.suffix.lower() in (".parquet", ".pq"):
        return f"read_parquet({sql_string(str(path))})"
    return f"read_csv({sql_string(str(path))}, sample_size = 20000)"


def probe_upload(path: Path, max_columns: int) -> dict:
    """The answer for one uploaded file (run in the child): ``{"kind", "id_column", "numeric",
    "outcomes"}`` or ``{"error": message}``. Transactions when the project's column spellings find the required
    fields, or when no column looks like a customer id; else a customer table."""
    import duckdb

    from ..inputs import SourceError
    from ..inputs.columns import resolve_columns
    from ..inputs.customer_kinds import find_id_column, infer_kind
    from ..inputs.customer_probe import check_width

    transactions = {"kind": "transactions", "id_column": None, "numeric": [], "outcomes": []}
    con = duckdb.connect(config={"threads": 1, "memory_limit": PROBE_DUCKDB_MEMORY})
    try:
        reader = reader_sql(path)
        try:
            described = con.execute(f"describe select * from {reader}").fetchall()
        except duckdb.Error as exc:
            return {"error": f"{path.name} cannot be read: {str(exc).splitlines()[0]}"}
        columns = [row[0] for row in described]
        try:
            resolve_columns(columns)
            return transactions
        except ValueError:
            pass
        try:
            check_width(described, [path.name], max_columns)
            id_column = find_id_column(columns, "")
        except SourceError as exc:
            if "columns; a customer table may have at most" in str(exc):
                return {"error": str(exc)}
            # no id column either: most likely transactions whose columns need a column_map,
            # and the transactions build says which field it did not find
            return transactions
        con.execute(f"create temp table upload as select * from {reader}")
        # the build's own rule for a column's kind (numbers written as text are numbers too)
        kinds = {
            c: infer_kind(con, "upload", c, native, "")[0] for c, native, *_ in described if c != id_column
        }
        numeric = [c for c, kind in kinds.items() if kind in ("numeric", "boolean")]

        kept, outcomes = _traits_and_outcomes(con, numeric, kinds)
        return {"kind": "customers", "id_column": id_column, "numeric": kept, "outcomes": outcomes}
    finally:
        con.close()


def _traits_and_outcomes(con, numeric: list[str], kinds: dict[str, str]) -> tuple[list[str], list[str]]:
    """The numeric columns of the table ``upload`` that are not constant, and those of them that
    look like outcomes (customer_kinds.looks_like_outcome), in chunks of STATS_CHUNK columns."""
    from ..inputs.customer_kinds import looks_like_outcome, named_like_outcome, text_sql
    from ..inputs.customer_probe import STATS_CHUNK
    from ..inputs.quoting import sql_identifier

    def typed(c: str) -> str:
        return (
            f"try_cast({sql_identifier(c)} as double)" if kinds[c] == "numeric" else f"lower({text_sql(c)})"
        )

    constant: set[str] = set()
    for start in range(0, len(numeric), STATS_CHUNK):
        chunk = numeric[start : start + STATS_CHUNK]
        flags = con.execute(
            "select "
            + ", ".join(f"coalesce(min({typed(c)}) = max({typed(c)}), true)" for c in chunk)
            + " from upload"
        ).fetchone()
        constant |= {c for c, flag in zip(chunk, flags, strict=True) if flag}
    kept = [c for c in numeric if c not in constant]
    # a flag named like an outcome is one: its distinct values are counted (only for those
    # names: a count distinct over every column of a wide file is what the chunks avoid)
    named = [c for c in kept if named_like_outcome(c)]
    outcomes = []
    for start in range(0, len(named), STATS_CHUNK):
        chunk = named[start : start + STATS_CHUNK]
        counts = con.execute(
            "select " + ", ".join(f"count(distinct {typed(c)})" for c in chunk) + " from upload"
        ).fetchone()
        outcomes += [c for c, n in zip(chunk, counts, strict=True) if looks_like_outcome(c, n)]
    return kept, outcomes


def _limit_child() -> None:
    """In the child, before it starts: its address space is bounded, so a runaway read fails
    there (MemoryError, DuckDB's out-of-memory) instead of swapping the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (PROBE_MEMORY_BYTES, PROBE_MEMORY_BYTES))


def upload_columns(path: Path, max_columns: int, seconds: float = PROBE_SECONDS) -> UploadColumns:
    """:func:`probe_upload` of ``path`` in a child process with bounded time and memory; an
    UploadError says why the file was refused, or that reading it crashed or took too long."""
    cmd = [sys.executable, "-m", "custseg.dashboard.upload_probe", str(path), str(max_columns)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds, preexec_fn=_limit_child, env=env
        )
    except subprocess.TimeoutExpired:
        raise UploadError(
            f"{path.name} could not be read within {seconds:.0f} s, so the page stopped reading it. Run it with "
            "scripts/build.sh, which reads large and wide files without this limit."
        ) from None
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (json.JSONDecodeError, IndexError):
        answer = None
    if answer is None:
        why = (
            "ran out of memory"
            if "MemoryError" in done.stderr or "Out of Memory" in done.stderr
            else "crashed"
        )
        raise UploadError(
            f"Reading {path.name} {why} (in a process of its own; the dashboard is fine). Check the file, or run "
            "it with scripts/build.sh."
        )
    if "error" in answer:
        raise UploadError(answer["error"])
    return UploadColumns(
        answer["kind"], answer["id_column"], tuple(answer["numeric"]), tuple(answer["outcomes"])
    )


def main(argv: list[str] | None = None) -> int:
    path, max_columns = (argv or sys.argv[1:])[:2]
    print(json.dumps(probe_upload(Path(path), int(max_columns))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
