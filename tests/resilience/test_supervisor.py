"""``make run`` keeps its processes up: one that dies is started again, with a back-off."""

from __future__ import annotations

import os
import signal
import sys
import time

from portal.run import Supervisor
from tests.conftest import wait_for


def _run_until(supervisor: Supervisor, predicate, timeout: float = 20.0) -> None:
    def step():
        supervisor.poll()
        return predicate()

    wait_for(step, timeout=timeout, interval=0.02)


def test_a_killed_child_is_started_again_and_the_others_keep_running():
    lines: list[str] = []
    sleep = [sys.executable, "-c", "import time; time.sleep(120)"]
    supervisor = Supervisor({"web server": sleep, "worker": sleep}, backoff_start=0.2, say=lines.append)
    supervisor.start()
    try:
        web, worker = supervisor.processes["web server"], supervisor.processes["worker"]
        os.kill(worker.pid, signal.SIGKILL)
        _run_until(supervisor, lambda: supervisor.processes["worker"] is not worker)
        restarted = supervisor.processes["worker"]
        assert restarted.poll() is None
        assert supervisor.processes["web server"] is web and web.poll() is None  # untouched
        assert lines == ["worker stopped (exit code -9); starting it again in 0.2 s.", "worker: started again."]
    finally:
        supervisor.stop()
    assert all(process.poll() is not None for process in supervisor.processes.values())


def test_a_child_that_keeps_dying_waits_twice_as_long_each_time_up_to_the_cap():
    lines: list[str] = []
    supervisor = Supervisor(
        {"beat": [sys.executable, "-c", "raise SystemExit(3)"]},
        backoff_start=0.05,
        backoff_cap=0.2,
        say=lines.append,
    )
    supervisor.start()
    started = time.monotonic()
    try:
        _run_until(supervisor, lambda: supervisor.restarts["beat"] >= 4)
    finally:
        supervisor.stop()
    waits = [line for line in lines if "stopped" in line]
    assert waits[:4] == [
        "beat stopped (exit code 3); starting it again in 0.05 s.",
        "beat stopped (exit code 3); starting it again in 0.1 s.",
        "beat stopped (exit code 3); starting it again in 0.2 s.",
        "beat stopped (exit code 3); starting it again in 0.2 s.",
    ]
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2 + 0.2


def test_a_child_that_stayed_up_starts_its_back_off_again_from_the_beginning():
    lines: list[str] = []
    supervisor = Supervisor(
        {"worker": [sys.executable, "-c", "import time; time.sleep(0.3)"]},
        backoff_start=0.05,
        stable_after=0.25,
        say=lines.append,
    )
    supervisor.start()
    try:
        _run_until(supervisor, lambda: supervisor.restarts["worker"] >= 2)
    finally:
        supervisor.stop()
    waits = [line for line in lines if "stopped" in line]
    assert waits[:2] == ["worker stopped (exit code 0); starting it again in 0.05 s."] * 2
