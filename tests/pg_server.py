"""A throwaway PostgreSQL + PostGIS server for the tests: initdb in a temporary folder, listening on a free port
of 127.0.0.1 and on a private socket, stopped and deleted afterwards.

Debian's packages (installed by .ci/run: postgresql-15-postgis-3) put the server in /usr/lib/postgresql/<v>/bin.
The server refuses to run as root, so as root it runs as the `postgres` user the package created.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ADMIN = "territory_admin"
ANALYST = "analyst"
ANALYST_PASSWORD = "s3cret-for-tests"
DATABASE = "sales"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    socket_dir: Path

    def url(self, database: str = DATABASE, user: str = ANALYST) -> str:
        """The URL a scenario holds: no password (that comes from PGPASSFILE or PGPASSWORD)."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def admin_url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL for the tests' own set-up: the superuser over the trusted local socket."""
        return f"postgresql+psycopg://{ADMIN}@/{database}?host={self.socket_dir}&port={self.port}"


def missing_reason() -> str | None:
    """Why no server can be started here, or None."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not versions:
        return "no PostgreSQL server binaries in /usr/lib/postgresql (.ci/run installs postgresql-15-postgis-3)"
    version = versions[-1].parts[-3]
    if not Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
        return f"PostGIS is not installed for PostgreSQL {version} (.ci/run installs postgresql-{version}-postgis-3)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def _bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return str(versions[-1].parent / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """Start a fresh cluster: `territory_admin` (trusted on the socket only) and `analyst` (password over TCP)."""
    base = Path(tempfile.mkdtemp(prefix="territory-opt-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data, port = base / "data", _free_port()
    hba = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    try:
        subprocess.run(_as_server_user([_bin("initdb"), "-D", str(data), "-U", ADMIN, "-E", "UTF8",
                                        "--no-instructions", "-A", "trust"]),
                       check=True, capture_output=True)
        (data / "pg_hba.conf").write_text(hba)
        subprocess.run(_as_server_user([
            _bin("pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(base / "server.log"), "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", "start"]),
            check=True, capture_output=True)
        server = Server("127.0.0.1", port, base)
        psql = ["psql", "-h", str(base), "-p", str(port), "-U", ADMIN, "-v", "ON_ERROR_STOP=1", "-q"]
        subprocess.run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"], check=True,
                       capture_output=True)
        subprocess.run([*psql, "-d", DATABASE, "-c",
                        f"CREATE EXTENSION postgis; CREATE ROLE {ANALYST} LOGIN PASSWORD '{ANALYST_PASSWORD}'; "
                        f"GRANT CREATE, CONNECT ON DATABASE {DATABASE} TO {ANALYST}; "
                        f"GRANT ALL ON SCHEMA public TO {ANALYST};"], check=True, capture_output=True)
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                           capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
