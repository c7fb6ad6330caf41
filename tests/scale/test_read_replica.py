"""A real streaming read replica: two PostgreSQL servers from the embedded binaries (a copy
of the test database as the primary, and a hot standby made from it with pg_basebackup),
and the portal pointed at both (DATABASE_URL, DATABASE_REPLICA_URL) in a process of its
own. Search reads the replica; a person who has just written reads the primary; the
replica refuses writes; with the replica down, search still answers from the primary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from portal import embedded
from tests.conftest import BASE_DIR, _process_env, _test_database_url
from tests.resilience.helpers import free_port, own_data_dir, postgres_copy


def _as_server_user() -> dict[str, str]:
    return {"user": "embedded_postgres"} if os.geteuid() == 0 else {}


def start_standby(folder: Path, primary_url: str) -> tuple[Path, str]:
    """A hot standby of ``primary_url``'s server in ``folder``/standby, streaming from it;
    returns its data folder and a URL for the same database on it."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    parsed = urlparse(primary_url)
    socket_dir = parse_qs(parsed.query)["host"][0]
    data = folder / "standby"
    sockets = folder / "standby-sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        import shutil

        shutil.chown(folder, user="embedded_postgres")
        shutil.chown(sockets, user="embedded_postgres")
    port = str(parsed.port or 5432)
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream", "-c", "fast"]
        + ["-h", socket_dir, "-p", port, "-U", parsed.username or "postgres"],
        check=True,
        capture_output=True,
        **_as_server_user(),
    )
    standby_port = str(free_port())
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(folder / "standby.log")]
        + ["-o", f'-h "" -k {sockets} -p {standby_port}', "start"],
        check=True,
        capture_output=True,
        **_as_server_user(),
    )
    query = f"host={sockets}"
    return data, parsed._replace(netloc=f"{parsed.username}@:{standby_port}", query=query).geturl()


def stop_standby(data: Path) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"],
        capture_output=True,
        **_as_server_user(),
    )


def test_search_reads_the_replica_and_a_writer_reads_the_primary(django_db_setup, committed):
    with own_data_dir("test-replica") as folder:
        primary = postgres_copy(folder, _test_database_url())
        standby_data, replica = start_standby(folder, primary)
        try:
            env = {**_process_env(), "DATABASE_URL": primary, "DATABASE_REPLICA_URL": replica}
            probe = subprocess.Popen(
                [sys.executable, "-m", "tests.scale.replica_probe", "--then-replica-down"],
                env=env,
                cwd=BASE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert probe.stdout is not None and probe.stdin is not None
            seen = json.loads(probe.stdout.readline())
            stop_standby(standby_data)
            probe.stdin.write("\n")
            probe.stdin.flush()
            down = json.loads(probe.stdout.readline())
            assert probe.wait(timeout=60) == 0
        finally:
            log = folder / "standby.log"
            print(log.read_text() if log.exists() else "no standby log")
            stop_standby(standby_data)
            embedded.postgres_stop(folder, mode="immediate")

    assert seen["replica_in_recovery"] is True
    # Search: answered from the replica, and nothing pinned by a POST that changes nothing.
    assert seen["search_finds_maria"]
    assert seen["search_replica_queries"] > 0
    assert seen["search_primary_patient_queries"] == 0
    assert seen["search_pins"] is False
    # Read your writes: after registering, the next search reads the primary and finds her.
    assert seen["register_status"] in (200, 302)
    assert seen["register_pins"] is True
    assert seen["pinned_search_finds_her"]
    assert seen["pinned_search_replica_queries"] == 0
    assert seen["pinned_search_primary_patient_queries"] > 0
    # Streaming: the replica has her once the pin is gone, and it is the replica answering.
    assert seen["replica_has_her_after_seconds"] is not None
    assert seen["unpinned_search_replica_queries"] > 0
    assert seen["replica_refuses_writes"] is True
    # The replica down: search still answers, from the primary.
    assert down["down_search_finds_maria"]
    assert down["down_primary_queries"] > 0
