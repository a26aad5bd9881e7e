"""Command-line interface: ``custseg <command>``. Errors print one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
import time


def _cmd_generate(args: argparse.Namespace) -> int:
    from .demo_data import GeneratorConfig, write_transactions

    config = GeneratorConfig(
        rows=args.rows,
        customers=args.customers,
        seed=args.seed,
        start=args.start,
        end=args.end,
        chunk_rows=args.chunk_rows,
        spelling=args.spelling,
    )
    started = time.perf_counter()
    summary = write_transactions(args.output, config, fmt=args.format)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from .ingest import probe_source

    result = probe_source(args.path, args.format or "", args.cache_dir)
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custseg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write deterministic demo transactions (Online Retail schema)")
    gen.add_argument("--output", "-o", required=True, help="file to write (.parquet or .csv)")
    gen.add_argument("--rows", type=int, default=120_000, help="exact number of rows (default 120000)")
    gen.add_argument("--customers", type=int, default=2_000, help="distinct customer ids (default 2000)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--start", default="2010-12-01", help="first invoice date (ISO)")
    gen.add_argument("--end", default="2011-12-09", help="last invoice date (ISO)")
    gen.add_argument(
        "--chunk-rows", type=int, default=2_000_000, help="rows generated per chunk (memory bound)"
    )
    gen.add_argument("--spelling", choices=["online_retail", "online_retail_ii"], default="online_retail")
    gen.add_argument("--format", choices=["parquet", "csv"], help="default: from the file extension")
    gen.set_defaults(func=_cmd_generate)

    probe = sub.add_parser("probe", help="check a transactions file the way dbt build will")
    probe.add_argument("path")
    probe.add_argument("--format", choices=["csv", "parquet", "xlsx"])
    probe.add_argument("--cache-dir", default="target/custseg_cache")
    probe.set_defaults(func=_cmd_probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, PermissionError, OSError) as exc:
        print(f"custseg {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
