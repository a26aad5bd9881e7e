"""The publish step's file work (custseg.dbt_plugin): the serving copy equals the working file
byte for byte, the previous publication is rewritten in place only when that is safe, and a
reader of an older publication keeps reading it unchanged."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from custseg.dbt_plugin import BLOCK, publish_file, spare_path


def _publish(working: Path, serving: Path) -> str:
    """The publish step's file work, as the macro calls it."""
    return publish_file(str(working), str(serving))


def _write_blocks(path: Path, blocks: list[bytes]) -> None:
    path.write_bytes(b"".join(blocks))


def _block(seed: int) -> bytes:
    return bytes([seed % 256]) * BLOCK


def test_each_publish_equals_the_working_file_and_rewrites_only_the_changed_blocks(tmp_path):
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "serving" / "wh.duckdb"
    working.parent.mkdir()
    versions = [
        [_block(i) for i in range(8)],
        [_block(i) for i in range(8)] + [_block(100), _block(101)],  # appended
        # two blocks changed in place, one appended: against the first version (the spare)
        [_block(i) for i in range(8)] + [_block(100), _block(101), _block(102)],
        [_block(i) for i in range(3)] + [b"short tail"],  # smaller than the spare: cut
    ]
    versions[2][1] = _block(201)
    messages = []
    for blocks in versions:
        _write_blocks(working, blocks)
        messages.append(_publish(working, serving))
        assert serving.read_bytes() == working.read_bytes()
        assert stat.S_IMODE(serving.stat().st_mode) == 0o444
    assert messages[0].startswith("copied") and messages[1].startswith("copied")  # no spare yet
    # the third publish rewrote the first: block 1 changed, blocks 8-10 are new
    assert messages[2] == "wrote 1 of 3 MiB into the previous publication"
    assert Path(spare_path(str(serving))).read_bytes() == b"".join(versions[2])  # the one replaced
    assert not Path(str(serving) + ".publishing").exists()
    assert stat.S_IMODE(Path(spare_path(str(serving))).stat().st_mode) == 0o444


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select count(*), sum(x) from t").fetchone(), flush=True)
sys.stdin.readline()  # held open until the test has published again
print(con.execute("select count(*), sum(x) from t").fetchone(), flush=True)
"""


def _database(path: Path, rows: int) -> None:
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"create table t as select range as x from range({rows})")
    con.close()


def test_a_publication_a_reader_holds_is_left_to_it_and_the_copy_is_fresh(tmp_path):
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    _database(working, 1_000)
    _publish(working, serving)
    _database(working, 2_000)
    _publish(working, serving)  # the 1,000-row publication is now the spare
    # a reader that opened the 1,000-row publication before it was replaced, still connected
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD, spare_path(str(serving))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == "(1000, 499500)"
        _database(working, 3_000)
        assert _publish(working, serving).startswith("copied")  # not written into the reader's file
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "(1000, 499500)"  # its file is unchanged
    finally:
        reader.wait(timeout=30)
    assert serving.read_bytes() == working.read_bytes()
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("select count(*) from t").fetchone() == (3_000,)
    con.close()


@pytest.mark.parametrize("planted", ["symlink", "hard link"])
def test_a_spare_that_is_another_files_name_is_never_written(tmp_path, planted):
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    _write_blocks(working, [_block(1), _block(2)])
    _publish(working, serving)
    victim = tmp_path / "someone_elses.txt"
    victim.write_bytes(b"keep me")
    spare = Path(spare_path(str(serving)))
    spare.unlink(missing_ok=True)
    if planted == "symlink":
        spare.symlink_to(victim)
    else:
        os.link(victim, spare)
    _write_blocks(working, [_block(3), _block(4)])
    assert _publish(working, serving).startswith("copied")
    assert victim.read_bytes() == b"keep me"
    assert serving.read_bytes() == working.read_bytes()


def test_without_hard_links_the_publish_copies_each_time(tmp_path, monkeypatch):
    """A serving folder on a file system without hard links (some network or removable
    drives): no spare is kept, and each publish is a whole copy, as before spares existed."""

    def no_links(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    for seed in range(3):
        _write_blocks(working, [_block(seed), _block(seed + 1)])
        assert _publish(working, serving).startswith("copied")
        assert serving.read_bytes() == working.read_bytes()
    assert not Path(spare_path(str(serving))).exists()
