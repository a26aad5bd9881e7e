"""Command-line interface: ``custseg <command>``. Errors print one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
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
        first_customer_id=args.first_customer_id,
        first_invoice=args.first_invoice,
        spend_multiplier=args.spend_multiplier,
    )
    started = time.perf_counter()
    summary = write_transactions(args.output, config, fmt=args.format)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from .inputs.transactions import probe_source

    try:
        column_map = json.loads(args.column_map) if args.column_map else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"--column-map is not valid JSON: {exc}") from exc
    options = {
        "transactions_path": args.path,
        "transactions_format": args.format or "",
        "column_map": column_map,
        "date_format": args.date_format or "",
        "transactions_sheet": args.sheet or "",
        "transactions_encoding": args.encoding or "",
    }
    result = probe_source(options, cache_dir=args.cache_dir)
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 2


def _cmd_export_model(args: argparse.Namespace) -> int:
    from .scoring import fetch_registered
    from .segmentation.registry import export_artifact

    model_id, blob, digest, signature, version = fetch_registered(args.db, args.kind)
    path = export_artifact(blob, signature, args.kind, version, args.output)
    print(json.dumps({"model_id": model_id, "path": str(path), "bytes": len(blob), "sha256": digest}))
    return 0


def _cmd_upgrade_registry(args: argparse.Namespace) -> int:
    from .upgrade import upgrade_registry

    print(json.dumps({"db": args.db, **upgrade_registry(args.db)}))
    return 0


EXPORTS = {
    "customer_segments": "select * from marts.dim_customer_segments order by customer_id",
    "segment_profiles": "select * from marts.fct_segment_profiles order by cluster_id",
}


def _cmd_sync(args: argparse.Namespace) -> int:
    from .inputs import SourceError
    from .project import project_var
    from .sync import summary, sync

    try:
        done = sync(args.db, args.schema or project_var("sync_schema"), run_id="custseg sync")
    except SourceError as exc:  # a SyncError, or the target's connection
        print(f"custseg sync: error: {exc}", file=sys.stderr)
        return 1
    print("Synced to the database in CUSTSEG_SYNC_URL: " + summary(done))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import duckdb

    from .inputs.quoting import sql_string
    from .warehouse import open_warehouse

    # the warehouse is read through a locked connection (it can write nothing); the files are
    # written by a separate in-memory DuckDB from the tables read
    con = open_warehouse(args.db)
    try:
        tables = {}
        for name, sql in EXPORTS.items():
            try:
                tables[name] = con.sql(sql).to_arrow_table()
            except duckdb.CatalogException as exc:
                raise ValueError(f"{args.db!r} has no segment tables yet; run dbt build first") from exc
    finally:
        con.close()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    written = []
    writer = duckdb.connect()
    try:
        for name, table in tables.items():
            writer.register("export_table", table)
            for fmt in args.formats:
                path = os.path.join(out, f"{name}.{fmt}")
                options = "(header, delimiter ',')" if fmt == "csv" else "(format parquet)"
                writer.execute(f"copy export_table to {sql_string(path)} {options}")
                written.append(path)
            writer.unregister("export_table")
    finally:
        writer.close()
    print(json.dumps({"written": written}))
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    """The statements' results as tables, through the locked reader (the file can read nothing but
    itself and cannot be written): the DuckDB CLI of the project's DuckDB version, in one command."""
    import duckdb

    from .warehouse import open_warehouse

    text = args.query if args.query is not None else sys.stdin.read()
    con = open_warehouse(args.db)
    try:
        for statement in con.extract_statements(text):
            try:
                relation = con.sql(statement.query)
            except duckdb.Error as exc:
                raise ValueError(str(exc).splitlines()[0]) from None
            if relation is not None:
                relation.show(max_width=200, max_rows=100)
    finally:
        con.close()
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .scoring import load_registered, looks_like_transactions, read_input, score, score_in_context

    if args.input and (
        args.transactions or (args.transactions is None and looks_like_transactions(args.input))
    ):
        if args.model != "segmentation":
            raise ValueError(
                "a transactions file is scored with the segmentation model (--model segmentation)"
            )
        result = score_in_context(args.input, args.db, _vars(args.vars), args.as_of_date)
    else:
        frame = read_input(args.input, args.json)
        model = load_registered(args.db, args.model)
        result = score(frame, model, args.model)
    if args.output:
        if args.output.endswith(".parquet"):
            result.to_parquet(args.output, index=False)
        else:
            result.to_csv(args.output, index=False)
        print(json.dumps({"scored": len(result), "output": args.output}))
    elif args.json is not None and len(result) == 1:
        print(
            json.dumps(result.iloc[0].to_dict(), default=lambda v: v.item() if hasattr(v, "item") else str(v))
        )
    else:
        print(result.to_csv(index=False), end="")
    return 0


def _vars(text: str | None) -> dict:
    """--vars as dbt takes them (YAML or JSON), as a dict."""
    if not text:
        return {}
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"--vars is not valid YAML or JSON: {str(exc).splitlines()[0]}") from exc
    if not isinstance(value, dict):
        raise ValueError("--vars must be a mapping, e.g. '{as_of_date: 2011-12-10}'")
    return value


def build_parser() -> argparse.ArgumentParser:
    # long by nature: one declaration per subcommand and option, read top to bottom like --help
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
    gen.add_argument("--first-customer-id", type=int, default=12_346, help="a later batch: new customer ids")
    gen.add_argument("--first-invoice", type=int, default=536_365, help="a later batch: new invoice numbers")
    gen.add_argument(
        "--spend-multiplier", type=float, default=1.0, help="prices times this (a shifted population)"
    )
    gen.set_defaults(func=_cmd_generate)

    probe = sub.add_parser("probe", help="check a transactions file the way dbt build will")
    probe.add_argument("path")
    probe.add_argument("--format", choices=["csv", "parquet", "xlsx"])
    probe.add_argument("--column-map", help='as the var, in JSON: \'{"customer_id": "Client Ref"}\'')
    probe.add_argument("--date-format", help="as the var date_format, e.g. '%%d/%%m/%%Y %%H:%%M'")
    probe.add_argument("--sheet", help="XLSX: the sheet to read (as the var transactions_sheet)")
    probe.add_argument(
        "--encoding", help="CSV: utf-8 (default), utf-16 or latin-1 (as the var transactions_encoding)"
    )
    probe.add_argument("--cache-dir", default="target/custseg_cache")
    probe.set_defaults(func=_cmd_probe)

    export = sub.add_parser("export-model", help="write a registered model to a .joblib file")
    export.add_argument("--db", default=os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))
    export.add_argument(
        "--kind", default="segmentation", choices=["segmentation", "classifier", "classifier_tree"]
    )
    export.add_argument("--output", "-o", required=True, help="the .joblib file to write")
    export.set_defaults(func=_cmd_export_model)

    up = sub.add_parser(
        "upgrade-registry", help="convert a model registry written by an earlier release (reports as bytes)"
    )
    up.add_argument("--db", default=os.environ.get("CUSTSEG_DB_PATH", "warehouse/build/custseg.duckdb"))
    up.set_defaults(func=_cmd_upgrade_registry)

    ex = sub.add_parser("export", help="write customer segments and segment profiles as CSV and Parquet")
    ex.add_argument("--db", default=os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))
    ex.add_argument("--out", default="exports", help="folder to write to (default: exports/)")
    ex.add_argument("--formats", nargs="+", choices=["csv", "parquet"], default=["csv", "parquet"])
    ex.set_defaults(func=_cmd_export)

    sy = sub.add_parser(
        "sync",
        help="upsert the published segments into the database in CUSTSEG_SYNC_URL (what every build does)",
    )
    sy.add_argument("--db", default=os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))
    sy.add_argument("--schema", help="the target schema (default: the var sync_schema, custseg)")
    sy.set_defaults(func=_cmd_sync)

    sq = sub.add_parser(
        "sql",
        help="run SQL on the published warehouse, read-only (the statements as an argument, or on stdin)",
    )
    sq.add_argument(
        "query", nargs="?", help="one or more statements; without it, read them from standard input"
    )
    sq.add_argument("--db", default=os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))
    sq.set_defaults(func=_cmd_sql)

    sc = sub.add_parser("score", help="assign segments to customers with the registered model")
    sc.add_argument("input", nargs="?", help="CSV or Parquet file of customer features, or of transactions")
    sc.add_argument("--json", help="one customer as JSON, e.g. '{\"recency_days\": 12, ...}'")
    sc.add_argument(
        "--model", default="segmentation", choices=["segmentation", "classifier", "classifier_tree"]
    )
    sc.add_argument("--db", default=os.environ.get("CUSTSEG_SERVING_PATH", "warehouse/custseg.duckdb"))
    sc.add_argument("--output", "-o", help="write CSV (or .parquet) here instead of stdout")
    sc.add_argument(
        "--transactions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the input is a transactions file: scored as the next build would, from each customer's history "
        "in the warehouse plus the file's lines (default: decided from its columns)",
    )
    sc.add_argument("--as-of-date", help="transactions: the snapshot date of the features (YYYY-MM-DD)")
    sc.add_argument(
        "--vars",
        help="transactions: the vars of your weekly build (YAML or JSON), so the copy builds as it does",
    )
    sc.set_defaults(func=_cmd_score)
    return parser


class Terminated(SystemExit):
    """SIGTERM (a scheduler's timeout, `kill`): raised where the command is, so its cleanup runs
    as on Ctrl-C (a child dbt is killed, temporary copies are removed)."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, PermissionError, OSError, KeyError) as exc:
        print(f"custseg {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
