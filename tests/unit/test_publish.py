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

from custseg.publish import BLOCK, PublishError, check_serving, publish_file, spare_path


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


class Killed(BaseException):
    """Stands for the process dying: no handler of the publish catches it."""


# every call by which the publish changes the file system or a file's bytes
MUTATING = ("open", "remove", "unlink", "rename", "replace", "link", "pwrite", "ftruncate", "fchmod",
            "chmod", "sendfile", "write", "makedirs")  # fmt: skip


def _dies_at(monkeypatch, n: int) -> list[str]:
    """Make the n-th file-system change of the publish raise Killed (before it happens)."""
    calls: list[str] = []
    for name in MUTATING:
        real = getattr(os, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            if _name == "open" and not (args[1] if len(args) > 1 else kwargs["flags"]) & (
                os.O_WRONLY | os.O_RDWR | os.O_CREAT
            ):
                return _real(*args, **kwargs)  # a read changes nothing
            calls.append(_name)
            if len(calls) == n:
                raise Killed(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, wrapper)
    return calls


@pytest.mark.parametrize("before", ["nothing served", "one publication", "a spare"])
def test_a_publish_killed_at_any_step_leaves_a_whole_publication_and_the_next_one_publishes(
    tmp_path, monkeypatch, before
):
    """Whatever step the process dies at, the served name holds one whole publication (the old or
    the new), its stamp describes it (no false 'a read-write connection wrote to it'), and the
    next publish succeeds with the working file's bytes."""
    versions = [[_block(1), _block(2)], [_block(3), _block(2), _block(4)], [_block(3), _block(5)]]
    done = {"nothing served": 0, "one publication": 1, "a spare": 2}[before]
    steps = 0
    while True:
        steps += 1
        case = tmp_path / f"case{steps}"
        case.mkdir()
        w, s = case / "build.duckdb", case / "wh.duckdb"
        for blocks in versions[:done]:
            _write_blocks(w, blocks)
            publish_file(str(w), str(s))
        old = s.read_bytes() if s.exists() else None
        _write_blocks(w, versions[done])
        with monkeypatch.context() as patched:
            calls = _dies_at(patched, steps)
            try:
                publish_file(str(w), str(s))
                finished = True
            except Killed:
                finished = False
        served = s.read_bytes() if s.exists() else None
        assert served in (old, w.read_bytes()), f"killed at {calls[-1]} (step {steps}): a torn publication"
        assert check_serving(str(s)) == "", f"killed at {calls[-1]} (step {steps})"
        _write_blocks(w, versions[done] + [_block(9)])
        publish_file(str(w), str(s))
        assert s.read_bytes() == w.read_bytes()
        assert check_serving(str(s)) == ""
        if finished:
            break
    assert steps > 8  # every change of the publish was a kill point


def test_a_link_planted_at_the_publishing_name_is_removed_not_followed(tmp_path):
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    _write_blocks(working, [_block(1)])
    target = tmp_path / "elsewhere" / "stolen.duckdb"
    target.parent.mkdir()
    Path(str(serving) + ".publishing").symlink_to(target)  # dangling
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    Path(str(serving) + ".publishing.wal").symlink_to(victim)
    publish_file(str(working), str(serving))
    assert not target.exists() and victim.read_bytes() == b"keep me"
    assert not serving.is_symlink() and serving.read_bytes() == working.read_bytes()


@pytest.mark.parametrize("entry", [".spare", ".publishing", ".published"])
def test_a_directory_where_the_publish_keeps_a_file_is_named(tmp_path, entry):
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    _write_blocks(working, [_block(1)])
    publish_file(str(working), str(serving))
    before = serving.read_bytes()
    path = Path(str(serving) + entry)
    path.unlink(missing_ok=True)
    path.mkdir()
    _write_blocks(working, [_block(2)])
    with pytest.raises(
        PublishError, match=rf"{path.name} is a directory, where the publish keeps .* move it"
    ):
        publish_file(str(working), str(serving))
    with pytest.raises(PublishError, match="is a directory"):
        check_serving(str(serving))  # the macro's first check, before the checkpoint
    assert serving.read_bytes() == before


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"size": "big"}', None])
def test_a_stamp_the_project_did_not_write_is_named_with_what_to_do(tmp_path, content):
    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    _write_blocks(working, [_block(1)])
    publish_file(str(working), str(serving))
    stamp = Path(str(serving) + ".published")
    stamp.unlink()
    if content is None:
        os.mkfifo(stamp)  # opening it to read would block for ever
    else:
        stamp.write_bytes(content)
    with pytest.raises(
        PublishError, match=r"publication stamp.*delete .*\.published and run the build again"
    ):
        publish_file(str(working), str(serving))


READ_LOOP = """
import hashlib, sys
with open(sys.argv[1], "rb", buffering=0) as f:   # no lock: as cp, rsync or a backup agent read
    digest = hashlib.sha256(f.read(4096))
    print("opened", flush=True)
    sys.stdin.readline()  # the test publishes twice meanwhile
    while chunk := f.read(65536):
        digest.update(chunk)
print(digest.hexdigest(), flush=True)
"""


def test_a_reader_without_a_lock_reads_one_whole_publication_across_publishes(tmp_path):
    """A plain read() loop (no lock, as cp or a backup agent) on the served file, across the two
    publishes after which that file would be the spare rewritten in place: it reads the bytes of
    the publication it opened, never a mix; without a reader the spare is reused."""
    import hashlib

    working, serving = tmp_path / "build" / "wh.duckdb", tmp_path / "wh.duckdb"
    working.parent.mkdir()
    _write_blocks(working, [_block(i) for i in range(6)])
    publish_file(str(working), str(serving))
    opened = hashlib.sha256(serving.read_bytes()).hexdigest()
    reader = subprocess.Popen(
        [sys.executable, "-c", READ_LOOP, str(serving)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "opened"
        _write_blocks(working, [_block(i + 10) for i in range(6)])
        publish_file(str(working), str(serving))  # the reader's file is now the spare
        _write_blocks(working, [_block(i + 20) for i in range(6)])
        assert publish_file(str(working), str(serving)).startswith("copied")  # not into the reader's file
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == opened
    finally:
        reader.wait(timeout=30)
    _write_blocks(working, [_block(i + 30) for i in range(6)])
    assert "into the previous publication" in publish_file(str(working), str(serving))  # no reader now
    assert serving.read_bytes() == working.read_bytes()
