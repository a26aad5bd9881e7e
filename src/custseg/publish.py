"""The publish step's file work: the working database becomes the served one, whole or not at all.

The macro ``publish_warehouse`` checkpoints the working database and calls
:func:`publish_file` (through the plugin's UDF ``custseg_publish_file``). Beside the served
file ``<serving>`` live:

- ``<serving>.publishing``: the copy being written (never served; removed and re-created by
  every publish, never written through a link);
- ``<serving>.spare``: the publication replaced last time. The next publish turns it into the
  copy by writing only the blocks that differ from the working file, when no process at all has
  it open (a write lease, which the kernel grants only then: DuckDB readers, ``cp``, ``rsync``,
  a backup agent) and it is a regular file of ours with one name; else it copies the whole file;
- ``<serving>.published``: the stamp, the size and modification time of the served file and its
  inode, to notice a read-write connection that wrote to the served file. It is written before
  the swap and names both the new file and the one it replaces, so it describes the served file
  whichever way the process stops.

Every step is safe to interrupt: the swap is one rename, and a publish that stopped anywhere is
finished by the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import stat
import threading

# Compared and written in chunks of DuckDB's block size (its blocks start after a 12 KiB
# header, so one changed block rewrites at most two chunks).
BLOCK = 256 * 1024
STAMP_MAX_BYTES = 64 * 1024

HOW_TO_READ = (
    " Open the serving copy read-only (duckdb.connect(path, read_only=True), DBeaver access_mode "
    "READ_ONLY) and keep your own tables in a database of your own (ATTACH it beside this one)."
)


class PublishError(RuntimeError):
    """Why nothing was published; the message names the file and what to do."""


def spare_path(serving: str) -> str:
    """The publication before the served one, kept to be rewritten by the next publish."""
    return serving + ".spare"


def staging_path(serving: str) -> str:
    return serving + ".publishing"


def stamp_path(serving: str) -> str:
    return serving + ".published"


# the entries the publish keeps beside the served file, and what each is, for its messages
ENTRIES = {
    ".publishing": "the copy it is writing",
    ".publishing.wal": "the copy's write-ahead log",
    ".spare": "the previous publication",
    ".published": "the stamp of the served file",
    ".published.tmp": "the stamp it is writing",
}


def _file_stamp(st: os.stat_result) -> dict:
    return {"dev": st.st_dev, "ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _check_entries(serving: str) -> None:
    """A directory where the publish keeps one of its files stops it, saying which and what to do."""
    for suffix, what in ENTRIES.items():
        path = serving + suffix
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                raise PublishError(
                    f"{path} is a directory, where the publish keeps {what}. Nothing of the build is in "
                    "it: move it somewhere else (or delete it) and run the build again."
                )


def _read_stamp(serving: str) -> list[dict] | None:
    """The stamp's entries (each a file the served name may hold), None when there is none;
    a stamp that is not one this project wrote stops the publish, naming it."""
    path = stamp_path(serving)
    how_to = (
        f" The stamp records the size and time of {serving} when it was published, to notice writes to it. "
        f"If nobody wrote to {serving} since, delete {path} and run the build again."
    )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PublishError(f"cannot read the publication stamp {path}: {exc.strerror}.{how_to}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > STAMP_MAX_BYTES:
            raise PublishError(f"{path} is not a publication stamp (not a small regular file).{how_to}")
        text = os.read(fd, STAMP_MAX_BYTES + 1)
    finally:
        os.close(fd)
    try:
        found = json.loads(text)
        entries = found["files"] if isinstance(found, dict) and "files" in found else [found]
        if not entries or not all(
            isinstance(e, dict) and isinstance(e.get("size"), int) and isinstance(e.get("mtime_ns"), int)
            for e in entries
        ):
            raise ValueError("no size and time")
    except (ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"{path} is not a publication stamp this project wrote ({exc}).{how_to}") from None
    return entries


def check_serving(path: str) -> str:
    """Why ``path`` must not be replaced now ("" when it may be).

    DuckDB holds an exclusive lock on a file open read-write and shared locks for readers, so a
    shared lock we cannot get means a writer is connected: replacing the file would drop its
    writes without a word. A size or mtime that differs from the stamp written at publish time
    (the stamp's entry for this inode; a stamp from before inodes were recorded has one entry),
    or a WAL file beside it, means someone already wrote to it.
    """
    _check_entries(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ""
    if not stat.S_ISREG(st.st_mode):
        return (
            f"{path} is not a regular file (a link, directory or device); the publish replaces only a file "
            f"it wrote. Move it away and run the build again."
        )
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return (
            f"{path} is open read-write by another process; replacing it now would silently lose that "
            f"connection's writes. Close it and run the build again.{HOW_TO_READ}"
        )
    finally:
        os.close(fd)  # also releases the probe lock
    changed = os.path.lexists(path + ".wal")
    entries = _read_stamp(path)
    if not changed and entries is not None:
        mine = [e for e in entries if e.get("ino") in (None, st.st_ino) and e.get("dev") in (None, st.st_dev)]
        changed = not any(e["size"] == st.st_size and e["mtime_ns"] == st.st_mtime_ns for e in mine)
    if changed:
        return (
            f"{path} was changed after it was published (a read-write connection wrote to it); replacing "
            f"it would lose those changes. Move them out, then delete or rename {path} and run the build "
            f"again.{HOW_TO_READ}"
        )
    return ""


def _remove(path: str) -> None:
    """Remove whatever name stands at ``path`` (a file, a link: never what a link points to)."""
    if os.path.lexists(path):
        os.remove(path)


def _no_other_opener(fd: int) -> bool:
    """True when no other open file description holds ``fd``'s file, in any process: the kernel
    grants a write lease only then. The lease is released at once (it is a check, not a hold);
    a file system without leases answers False, and the publish copies."""
    main = threading.current_thread() is threading.main_thread()
    # a lease broken in the instant it is held signals us (SIGIO): ignored meanwhile where we can
    previous = signal.signal(signal.SIGIO, signal.SIG_IGN) if main else None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return True
    except OSError:
        return False
    finally:
        if main:
            signal.signal(signal.SIGIO, previous)


def _take_spare(spare: str, dst: str) -> int | None:
    """``spare`` renamed to ``dst`` and opened for writing under an exclusive lock, or None
    (``dst`` then absent) when it is missing, not a regular file of ours with one name, or open
    in any process (a reader of that publication, with or without a lock, keeps reading it
    unchanged: we unlink the name only, the reader keeps the file)."""
    try:
        st = os.lstat(spare)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
        return None
    os.rename(spare, dst)
    fd = -1
    try:
        fd = os.open(dst, os.O_RDONLY | os.O_NOFOLLOW)
        found = os.fstat(fd)
        if (found.st_dev, found.st_ino) != (st.st_dev, st.st_ino) or found.st_nlink != 1:
            raise OSError("the spare changed while it was taken")
        os.fchmod(fd, 0o600)  # published files are read-only; this one is about to be rewritten
        os.close(fd)
        fd = os.open(dst, os.O_RDWR | os.O_NOFOLLOW)
        found = os.fstat(fd)
        if (found.st_dev, found.st_ino) != (st.st_dev, st.st_ino):
            raise OSError("the spare changed while it was taken")
        if not _no_other_opener(fd):
            raise OSError("another process has the spare open")
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a DuckDB reader opening it now fails
        return fd
    except OSError:
        if fd >= 0:
            os.close(fd)
        os.remove(dst)
        return None


def _write_changed_blocks(src: str, fd: int) -> int:
    """Write into ``fd`` each block of ``src`` that differs from ``fd``'s; returns the bytes written."""
    written = offset = 0
    with open(src, "rb", buffering=0) as source:
        while block := source.read(BLOCK):
            if os.pread(fd, len(block), offset) != block:
                if os.pwrite(fd, block, offset) != len(block):
                    raise OSError(f"short write at byte {offset} of the serving copy")
                written += len(block)
            offset += len(block)
    return written


def _copy_into(src: str, fd: int) -> None:
    """Copy ``src`` into the empty file ``fd`` (in the kernel where it can)."""
    with open(src, "rb", buffering=0) as source:
        size = os.fstat(source.fileno()).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(fd, source.fileno(), offset, min(size - offset, 1 << 30))
            if sent == 0:
                raise OSError(f"{src} ended before its size while it was copied")
            offset += sent


def _write_copy(src: str, dst: str, serving: str) -> tuple[int, str]:
    """``dst`` made a byte-for-byte copy of ``src`` (checkpointed by the caller), read-only;
    returns its open descriptor and what was written, for the build's log. The spare is
    rewritten when it is ours to reuse, else ``dst`` is created anew, never through a link."""
    spare = spare_path(serving)
    if os.path.abspath(src) in {os.path.abspath(dst), os.path.abspath(spare), os.path.abspath(serving)}:
        raise ValueError("publish source and destination are the same file")
    size = os.path.getsize(src)
    _remove(dst)
    _remove(dst + ".wal")
    fd = _take_spare(spare, dst)
    try:
        if fd is None:
            fd = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            _copy_into(src, fd)
            note = f"copied {size / 2**20:,.0f} MiB"
        else:
            written = _write_changed_blocks(src, fd)
            os.ftruncate(fd, size)
            note = f"wrote {written / 2**20:,.0f} of {size / 2**20:,.0f} MiB into the previous publication"
        os.fchmod(fd, 0o444)  # readers only: a read-write open fails (for anyone but root)
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise
    return fd, note


def _write_stamp(serving: str, entries: list[dict]) -> None:
    tmp = stamp_path(serving) + ".tmp"
    _remove(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, json.dumps({"files": entries}).encode())
    finally:
        os.close(fd)
    os.replace(tmp, stamp_path(serving))


def publish_file(working: str, serving: str) -> str:
    """The publish step's file work, in its one order: ``working`` (checkpointed by the caller)
    copied to ``<serving>.publishing`` (into the spare when it can be reused); the stamp written
    for it and for the file it replaces; the served file kept as the next spare (a hard link);
    then one rename swaps the copy in. Returns what the copy wrote, for the build's log."""
    _check_entries(serving)
    os.makedirs(os.path.dirname(os.path.abspath(serving)), exist_ok=True)
    staging = staging_path(serving)
    fd, note = _write_copy(working, staging, serving)
    try:
        copy = os.fstat(fd)
    finally:
        os.close(fd)
    problem = check_serving(serving)  # again, right before the swap
    if problem:
        _remove(staging)
        raise PublishError(problem)
    entries = [_file_stamp(copy)]
    with contextlib.suppress(FileNotFoundError):
        entries.append(_file_stamp(os.lstat(serving)))  # still served until the rename
    _write_stamp(serving, entries)
    spare = spare_path(serving)
    _remove(spare)
    if os.path.lexists(serving):  # the served file, once replaced, is the next publish's spare
        # a file system without hard links: no spare, and the next publish copies
        with contextlib.suppress(OSError):
            os.link(serving, spare, follow_symlinks=False)
    found = os.lstat(staging)
    if (found.st_dev, found.st_ino) != (copy.st_dev, copy.st_ino):
        raise PublishError(f"{staging} was replaced by another process while it was written.")
    os.replace(staging, serving)
    return note
