"""A throwaway PostgreSQL cluster: initdb in a temporary folder, a server on a loopback port
(and a socket in that folder), stopped and removed after. Debian's `postgresql` package
provides the binaries (.ci/run installs it). PostgreSQL refuses to run as root: as root the
cluster belongs to the `postgres` user (made by the package) or `nobody`, and its commands run
through runuser.

    with Throwaway() as pg:
        url = pg.create("mydb")   # postgresql://digest@127.0.0.1:PORT/mydb
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "digest"  # the cluster's superuser; trust authentication on loopback


def binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps it off PATH), else PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Throwaway:
    def __init__(self, durable: bool = False, max_connections: int = 300) -> None:
        """`durable`: fsync as a real server would (benchmarks); off for tests."""
        found = binaries()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = found
        self.durable = durable
        self.max_connections = max_connections
        self.folder = Path(tempfile.mkdtemp(prefix="digest-pg-"))
        self.port = free_port()
        self.owner = self._owner()

    @staticmethod
    def _owner() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL")

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> Throwaway:
        data = self.folder / "data"
        if self.owner is not None:
            shutil.chown(self.folder, self.owner)
        self._run(
            "initdb", "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        # The cluster's user is trusted; any other must give its password (wrong credentials
        # are then a real refusal).
        (data / "pg_hba.conf").write_text(
            f"local all all trust\nhost all {USER} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        settings = [
            f"-p {self.port}",
            f"-k {self.folder}",
            "-c listen_addresses=127.0.0.1",
            f"-c max_connections={self.max_connections}",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-w",
            "-o", " ".join(settings), "start",
        )  # fmt: skip
        return self

    def url(self, database: str = "postgres", user: str = USER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create(self, database: str) -> str:
        """A new empty database; its URL."""
        self.sql(f'CREATE DATABASE "{database}"')
        return self.url(database)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Throwaway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
