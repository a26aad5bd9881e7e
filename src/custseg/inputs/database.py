"""A database named by a URL in the environment: the connection, its catalogue, and messages
that never show the URL (docs/database.md).

The URL (``CUSTSEG_SOURCE_URL`` for the transactions, ``CUSTSEG_SYNC_URL`` for the sync target)
is read from the environment only, never from a var, so dbt never records it; every driver
message is scrubbed of the URL, its password and its user name before anyone sees it. Drivers:
ADBC (``adbc-driver-postgresql``, ``adbc-driver-sqlite``): Arrow in and out, no row-by-row
Python. A source is opened read-only (a SQLite file in ``mode=ro``, never created; PostgreSQL
in a read-only, repeatable-read transaction, so every check and the pull see one snapshot). A
table is looked up in the catalogue before any query names it, and every identifier is quoted.
What is pulled and how: :mod:`custseg.inputs.pulls`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from . import SourceError

SOURCE_URL_ENV = "CUSTSEG_SOURCE_URL"
SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite"}
URL_FORMS = "postgresql://user:password@host:port/database or sqlite:///path/to/file.db"


class DatabaseURL:
    """A connection URL read from the environment: its scheme, and what must never be shown."""

    def __init__(self, url: str, env_name: str = SOURCE_URL_ENV) -> None:
        self.env_name = env_name
        self._url = url.strip()
        parts = urlsplit(self._url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            shown = f"the scheme {scheme!r}" if scheme else "no scheme"
            raise SourceError(
                f"{env_name} has {shown}; the project reads {URL_FORMS} (the URL itself is never shown)."
            )
        self.kind = SCHEMES[scheme]
        self._secrets = [s for s in {self._url, parts.password, unquote(parts.password or "")} if s]
        self._user = unquote(parts.username or "")
        if self.kind == "sqlite":
            # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy spells them
            path = self._url.split(":///", 1)[1] if ":///" in self._url else ""
            self.sqlite_path = unquote(path.split("?", 1)[0])
            if not self.sqlite_path:
                raise SourceError(f"{env_name} names no SQLite file; write sqlite:///path/to/file.db.")

    def scrub(self, text: str) -> str:
        """``text`` without the URL, its password or its user name."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        if len(self._user) > 2:
            text = re.sub(rf"(?<![\w.-]){re.escape(self._user)}(?![\w.-])", "<user>", text)
        return text

    def connect(self, read_only: bool = True):
        """An ADBC DB-API connection (autocommit off: the work is one transaction)."""
        try:
            if self.kind == "postgresql":
                import adbc_driver_postgresql.dbapi as driver

                return driver.connect(self._url)
            import adbc_driver_sqlite.dbapi as driver

            path = Path(self.sqlite_path)
            if read_only and not path.is_file():
                raise SourceError(
                    f"The SQLite file {self.sqlite_path} named by {self.env_name} does not exist; "
                    "check the path (sqlite:///relative/path.db or sqlite:////absolute/path.db)."
                )
            mode = "ro" if read_only else "rwc"
            return driver.connect(f"file:{quote(str(path.resolve()))}?mode={mode}")
        except ImportError as exc:  # pragma: no cover - the drivers are dependencies
            raise SourceError(f"The ADBC driver for {self.kind} is not installed ({exc.name}).") from exc
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(self.connect_problem(exc)) from None

    def connect_problem(self, exc: Exception) -> str:
        """A driver's connection error in words, scrubbed."""
        text = self.scrub(str(exc)).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        first = re.sub(r"^\w+: \[libpq\] Failed to connect: ", "", first)
        if "password authentication failed" in text or "no password supplied" in text:
            hint = "the user name or password is wrong: correct them in the URL"
        elif "does not exist" in text and "database" in text:
            hint = "the database named in the URL does not exist on that server"
        elif "Connection refused" in text or "could not translate host name" in text or "timeout" in text:
            hint = "the server is down or unreachable: check the host and port, and that it is running"
        else:
            hint = "check the URL and that the server accepts the connection"
        return f"Cannot connect to the database named by {self.env_name}: {hint} ({first})."


def source_url(env: dict[str, str] | None = None, env_name: str = SOURCE_URL_ENV) -> DatabaseURL:
    """The URL in ``env_name``, or a SourceError saying how to set it."""
    value = (env if env is not None else os.environ).get(env_name, "")
    if not value.strip():
        raise SourceError(
            f"transactions_table is set but the environment variable {env_name} is not: export "
            f"{env_name}='{URL_FORMS.split(' or ')[0]}' (or sqlite:///path/to/file.db) before dbt build. "
            "The URL is read from the environment only, never from a var, so it is never printed or stored."
        )
    return DatabaseURL(value, env_name)


def quote_identifier(name: str) -> str:
    """A name as an SQL identifier in double quotes (both PostgreSQL and SQLite read it so)."""
    return '"' + name.replace('"', '""') + '"'


def split_table_name(table: str) -> tuple[str | None, str]:
    """``schema.table`` or ``table`` as (schema or None, table)."""
    table = table.strip()
    if not table:
        raise SourceError("transactions_table is empty; name a table or view, e.g. shop.sales.")
    if table.count(".") > 1:
        raise SourceError(f"transactions_table {table!r} has more than one '.'; write schema.table or table.")
    schema, _, name = table.rpartition(".")
    return (schema or None), name


def catalogue(conn, kind: str) -> dict[str, list[str]]:
    """Tables and views per schema (SQLite: one schema, "main"), from the database's catalogue."""
    cur = conn.cursor()
    try:
        if kind == "postgresql":
            # pg_catalog, not information_schema: that one hides tables the user may not read,
            # which then must be named as such, not as missing
            cur.execute(
                "select n.nspname, c.relname from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n "
                "on n.oid = c.relnamespace where c.relkind in ('r', 'v', 'm', 'p', 'f') "
                "and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' "
                "order by 1, 2"
            )
        else:
            cur.execute(
                "select 'main', name from sqlite_master where type in ('table', 'view') "
                "and name not like 'sqlite_%' order by 2"
            )
        out: dict[str, list[str]] = {}
        for schema, name in cur.fetchall():
            out.setdefault(schema, []).append(name)
        return out
    finally:
        cur.close()


def resolve_table(conn, kind: str, table: str) -> str:
    """The table's quoted, schema-qualified name, after finding it in the catalogue."""
    schema, name = split_table_name(table)
    tables = catalogue(conn, kind)
    if kind == "sqlite":
        if schema not in (None, "main"):
            raise SourceError(
                f"transactions_table {table!r} names the schema {schema!r}; a SQLite file has one "
                f"schema, main. Tables and views there: {', '.join(tables.get('main', [])) or 'none'}."
            )
        schema = "main"
    elif schema is None:
        schema = "public"
    if schema not in tables:
        known = ", ".join(sorted(tables)) or "none the source user can see"
        raise SourceError(
            f"The database has no schema {schema!r} (schemas: {known}); check transactions_table."
        )
    if name not in tables[schema]:
        listed = ", ".join(tables[schema])
        raise SourceError(
            f"No table or view {schema}.{name} in the database; the schema {schema} has: {listed or 'nothing'}."
            " Check transactions_table (names are case-sensitive)."
        )
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def begin_read_only(conn, kind: str) -> None:
    """Start the read-only transaction every read of the source runs in."""
    cur = conn.cursor()
    try:
        if kind == "postgresql":
            cur.execute("set transaction isolation level repeatable read, read only")
        else:
            cur.execute("select 1")  # opens the read transaction (deferred) on the read-only file
            cur.fetchall()
    finally:
        cur.close()


def table_columns(conn, qualified: str) -> list[str]:
    """The column names of a (checked, quoted) table."""
    cur = conn.cursor()
    try:
        cur.execute(f"select * from {qualified} where 1 = 0")
        return [d[0] for d in cur.description]
    finally:
        cur.close()


def read_problem(url: DatabaseURL, exc: Exception, table: str) -> str:
    """A driver error during the read in words, scrubbed."""
    text = url.scrub(str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "permission denied" in text:
        return (
            f"The source user may not read {table} ({first}). Grant it: GRANT SELECT ON {table} TO <user> "
            "(and USAGE on its schema)."
        )
    if any(w in text for w in ("server closed the connection", "terminat", "connection", "Connection")):
        return f"The connection to the source dropped during the pull of {table} ({first}); nothing was loaded. Build again."
    return f"Cannot read {table} from the source database: {first}."
