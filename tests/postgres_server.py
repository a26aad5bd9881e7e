"""A PostgreSQL server of the tests' own: a cluster in a temp folder, listening on 127.0.0.1
only (its socket in the same folder), password authentication, stopped at the end. Never a
server the machine already runs. Debian's postgresql package (scripts/install_postgres.sh)
provides the programs; as root, the server runs as the package's `postgres` user."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD = "pw-Zq7!x9#not-in-any-file"  # searched for in every file the builds write


def server_programs() -> Path | None:
    """The folder of initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """``start()``, ``url()``, ``execute()``, ``load()``, ``stop()`` (which removes the cluster)."""

    def __init__(self) -> None:
        self.bin = server_programs()
        if self.bin is None:
            raise RuntimeError(
                "PostgreSQL's server programs (initdb) are not installed: scripts/install_postgres.sh"
            )
        # a folder of its own under the system's temp folder: as root, the server's user must be
        # able to reach it (pytest's temp folders are root's alone)
        self.folder = Path(tempfile.mkdtemp(prefix="custseg-postgres-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, cwd=self.folder)
        if done.returncode:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stdout}{done.stderr}")

    def start(self) -> PostgresServer:
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_user:
            shutil.chown(self.folder, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
            "-A", "scram-sha-256", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                  "-w", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, user: str = "postgres", password: str = PASSWORD, database: str = "postgres") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements: str, user: str = "postgres", password: str = PASSWORD) -> list:
        """Run statements as ``user`` in one transaction; the last one's rows (if any)."""
        import adbc_driver_postgresql.dbapi as pg

        rows: list = []
        with pg.connect(self.url(user, password)) as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
                rows = cur.fetchall() if cur.description else []
            conn.commit()
        return rows

    def load(self, table: str, data, schema: str = "shop") -> None:
        """Create ``schema.table`` from an Arrow table (bulk copy through ADBC)."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.url()) as conn, conn.cursor() as cur:
            cur.execute(f'create schema if not exists "{schema}"')
            cur.adbc_ingest(table, data, mode="replace", db_schema_name=schema)
            conn.commit()
