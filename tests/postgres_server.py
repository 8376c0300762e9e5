"""A real PostgreSQL for the tests: Debian's server, started in a temporary directory on loopback.

PostgreSQL refuses to run as root, and CI runs as root: then initdb and the server run as the
`postgres` user (through `runuser`), in a directory that user owns. Each test gets a database of
its own (`new_database`). Started once per test session; stopped at its end.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "sheetsync"


class PostgresUnavailable(Exception):
    """No PostgreSQL server could be started here (why is in the message)."""


class PostgresServer:
    def __init__(self) -> None:
        pg_ctl = shutil.which("pg_ctl") or _debian_binary("pg_ctl")
        if pg_ctl is None:
            raise PostgresUnavailable("no pg_ctl: install Debian's postgresql package")
        self._bin = Path(os.path.realpath(pg_ctl)).parent
        self._root = Path(tempfile.mkdtemp(prefix="sheetsync-pg-", dir="/tmp"))
        self._data = self._root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self._root, "postgres", "postgres")
            self._root.chmod(0o755)

    def start(self) -> PostgresServer:
        self._run(
            "initdb", "-D", str(self._data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8"
        )
        self._serve()
        return self

    def _serve(self) -> None:
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self._data), "-o", options, "-l", str(self._root / "log"), "-w",
            "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def restart(self) -> None:
        """Stop (every connection breaks) and start again, on the same port."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop")
        self._serve()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self._root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{program} failed: {done.stderr.strip()} {tail}")


def _debian_binary(name: str) -> str | None:
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(versions[-1]) if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
