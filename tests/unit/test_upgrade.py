"""``custseg upgrade-registry`` on files it did not write: every refusal is one line, in well under
a second, and nothing is decoded past the caps (the full upgrade of a real registry is tested
end to end in test_dbt_build.py)."""

from __future__ import annotations

import time

import duckdb
import pyarrow as pa
import pytest

from custseg.cli import main
from custseg.upgrade import MAX_REPORT_VALUES, LegacyReportRefused, legacy_reports_to_json, upgrade_registry


def _ipc(table: pa.Table, compression: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _outer(payloads: dict[str, bytes], compression: str | None = None) -> bytes:
    return _ipc(
        pa.table(
            {"name": pa.array(list(payloads)), "payload": pa.array(list(payloads.values()), pa.binary())}
        ),
        compression,
    )


def _registry(path, blob: bytes) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema segmentation")
    con.execute("create table segmentation.ml_model_registry (model_id varchar, reports blob)")
    con.execute("insert into segmentation.ml_model_registry values ('m1', ?)", [blob])
    con.close()


def test_a_legacy_report_of_the_release_before_decodes():
    blob = _outer({"k_selection": _ipc(pa.table({"k": [2, 3], "inertia": [10.0, 5.0]}))})
    assert '"k_selection"' in legacy_reports_to_json(blob)


BOMBS = {
    # 24 KB that decode to 100 M values: compressed bodies are refused before any is decoded
    "zstd inner": lambda: _outer({"t": _ipc(pa.table({"x": pa.repeat(0, 100_000_000)}), "zstd")}),
    "zstd outer": lambda: _outer({"t": _ipc(pa.table({"x": [1]}))}, "zstd"),
    # no compression, no bytes: a null column declaring a billion values
    "null column": lambda: _outer({"t": _ipc(pa.table({"x": pa.nulls(1_000_000_000)}))}),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_crafted_registry_is_refused_before_it_is_decoded(tmp_path, bomb, capsys):
    blob = BOMBS[bomb]()
    assert len(blob) < 100_000
    db = tmp_path / "wh.duckdb"
    _registry(db, blob)
    started = time.perf_counter()
    with pytest.raises(LegacyReportRefused, match=r"not one this project wrote: .*(compressed|more than)"):
        upgrade_registry(db)
    assert main(["upgrade-registry", "--db", str(db)]) == 2
    assert time.perf_counter() - started < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Nothing was changed" in err
    with duckdb.connect(str(db), read_only=True) as con:  # the row is as it was
        assert bytes(con.execute("select reports from segmentation.ml_model_registry").fetchone()[0]) == blob


def test_the_value_cap_is_above_what_the_project_writes():
    assert MAX_REPORT_VALUES >= 1_000_000  # a k sweep, centroids, a confusion matrix: hundreds


@pytest.mark.parametrize("content", [b"not a database at all\n" * 100, b""])
def test_a_file_that_is_not_duckdb_is_one_line(tmp_path, content, capsys):
    db = tmp_path / "notes.duckdb"
    db.write_bytes(content)
    assert main(["upgrade-registry", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("cannot open" in err or "no model registry" in err), err
