"""The embedded Redis keeps its data in the project's folder across a restart."""

import os

import pytest
import redis

from portal import embedded


@pytest.mark.serial
def test_embedded_redis_data_survives_a_restart():
    if not os.environ["REDIS_URL"].startswith("unix://" + str(embedded.data_dir())):
        return  # a configured Redis server is not ours to restart
    socket_path = str(embedded.data_dir() / "redis" / "redis.sock")
    client = redis.Redis(unix_socket_path=socket_path)
    client.set("continuum-test:survives", "yes")
    embedded.redis_stop()
    embedded.redis_start()
    client = redis.Redis(unix_socket_path=socket_path)
    try:
        assert client.get("continuum-test:survives") == b"yes"
    finally:
        client.delete("continuum-test:survives")


def test_embedded_postgres_is_reused_not_started_twice():
    pidfile = embedded.data_dir() / "postgres" / "postmaster.pid"
    embedded.postgres_url()
    running = pidfile.read_text().splitlines()[0]
    assert embedded.postgres_url() == embedded.postgres_url()
    assert pidfile.read_text().splitlines()[0] == running
