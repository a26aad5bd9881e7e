"""Benchmark: the publish step's file work, rewriting the previous publication (the spare)
against a whole copy.

Each round times both ways, interleaved (the order alternates), on the same two files: the
working database of a build (``--working``, checkpointed) and the publication before it
(``--previous``, copied to a spare first). ``--drop-caches`` empties the page cache before each
timing (root only), so the spare is read from disk as it is a week after it was published;
``--before`` runs a shell command after that and before the timing, e.g. a reset of the working
file and a batch build with ``publish: false``, so the publish meets the page cache a build
leaves behind.

    .venv/bin/python benchmarks/bench_publish.py --working /data/wh.duckdb \\
        --previous /data/full_build.duckdb --rounds 2 --drop-caches \\
        --before 'cp /data/full_build.duckdb /data/wh.duckdb && <dbt build … publish: false>'
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import REPO, write_report

from custseg.publish import publish_file, spare_path


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError as exc:
        raise SystemExit(f"--drop-caches needs root (writing /proc/sys/vm/drop_caches): {exc}") from None


def publish_once(mode: str, args: argparse.Namespace, folder: Path) -> dict:
    """One timed publish of ``args.working`` into ``folder``, by ``mode``: with a spare to
    rewrite, or without one (a whole copy)."""
    serving = folder / "serving.duckdb"
    if mode == "spare":
        spare = Path(spare_path(str(serving)))
        shutil.copyfile(args.previous, spare)
        spare.chmod(0o444)
    if args.drop_caches:
        drop_caches()
    if args.before:
        subprocess.run(args.before, shell=True, check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    written = publish_file(str(args.working), str(serving))
    seconds = time.perf_counter() - started
    for leftover in folder.iterdir():
        leftover.unlink()
    return {"mode": mode, "seconds": seconds, "written": written}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--working", type=Path, required=True, help="the build's checkpointed database")
    parser.add_argument("--previous", type=Path, required=True, help="the publication before it")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache first (root)")
    parser.add_argument("--before", default="", help="a shell command run before each timing")
    args = parser.parse_args()
    # beside the working file: the same file system, as the serving folder would be
    folder = Path(tempfile.mkdtemp(dir=args.working.parent, prefix="bench_publish_"))
    runs = []
    try:
        for round_number in range(args.rounds):
            order = ("spare", "copy") if round_number % 2 == 0 else ("copy", "spare")
            for mode in order:
                runs.append(publish_once(mode, args, folder))
                print(f"{mode}: {runs[-1]['seconds']:.1f} s ({runs[-1]['written']})", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = [
        {
            "publish": mode,
            "working_mib": round(os.path.getsize(args.working) / 2**20),
            "cold_page_cache": args.drop_caches,
            "after_command": bool(args.before),
            "runs_s": " / ".join(f"{r['seconds']:.1f}" for r in runs if r["mode"] == mode),
            "median_s": round(statistics.median(r["seconds"] for r in runs if r["mode"] == mode), 1),
            "written": next(r["written"] for r in runs if r["mode"] == mode),
        }
        for mode in ("spare", "copy")
    ]
    write_report(rows, f"publish_{time.strftime('%H%M')}")
    print(f"results in {REPO / 'benchmarks' / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
