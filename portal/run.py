"""``make run``: the whole portal on one machine, with the demo network.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set),
migrates the public and organization schemas, seeds the demo network if it is empty,
then runs the web server, a Celery worker and Celery beat. One of them that dies is started
again after a back-off (1 s, 2 s, 4 s … at most 30 s), with a line in the output, while the
others keep running; only Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class Supervisor:
    """Keeps named child processes running: one that exits is started again after a
    back-off that doubles from ``backoff_start`` up to ``backoff_cap`` seconds, and falls
    back to ``backoff_start`` once the process has stayed up for ``stable_after`` seconds."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        backoff_start: float = 1.0,
        backoff_cap: float = 30.0,
        stable_after: float = 60.0,
        say: Callable[[str], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.commands = commands
        self.env = env
        self.backoff_start = backoff_start
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.say = say or (lambda line: print(line, flush=True))
        self.processes: dict[str, subprocess.Popen[bytes] | None] = dict.fromkeys(commands)
        self.started_at: dict[str, float] = {}
        self.backoff: dict[str, float] = dict.fromkeys(commands, backoff_start)
        self.restart_at: dict[str, float] = {}
        self.restarts: dict[str, int] = dict.fromkeys(commands, 0)

    def start(self) -> None:
        for name in self.commands:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(self.commands[name], env=self.env)
        self.started_at[name] = time.monotonic()

    def poll(self) -> None:
        """Notice the children that exited, and start again those whose back-off is over."""
        now = time.monotonic()
        for name, process in self.processes.items():
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    self.restarts[name] += 1
                    self._spawn(name)
                    self.say(f"{name}: started again.")
                continue
            if process is None or process.poll() is None:
                continue
            if now - self.started_at[name] >= self.stable_after:
                self.backoff[name] = self.backoff_start
            wait = self.backoff[name]
            self.backoff[name] = min(wait * 2, self.backoff_cap)
            self.restart_at[name] = now + wait
            self.say(f"{name} stopped (exit code {process.returncode}); starting it again in {wait:g} s.")

    def stop(self, timeout: float = 10.0) -> None:
        self.restart_at.clear()
        running = [p for p in self.processes.values() if p is not None and p.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> int:
    # Ctrl-C stops everything, also when a script started us in the background (a shell then
    # starts background jobs with SIGINT ignored, which Python would keep).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    port = os.environ.setdefault("CONTINUUM_PORT", "8000")
    from portal import embedded

    started_postgres = not os.environ.get("DATABASE_URL")
    started_redis = not os.environ.get("REDIS_URL")
    print("Starting PostgreSQL and Redis…", flush=True)
    embedded.ensure_environment()
    python = sys.executable
    manage = [python, str(BASE_DIR / "manage.py")]
    supervisor: Supervisor | None = None

    def stop(*_: object) -> None:
        if supervisor is not None:
            supervisor.stop()
        if started_redis:
            embedded.redis_stop()
        if started_postgres:
            embedded.postgres_stop()
        print("Stopped.", flush=True)

    try:
        subprocess.run([*manage, "migrate_schemas", "--shared", "-v", "0"], check=True)
        # Only the organization schemas that are behind (and the template) are migrated.
        subprocess.run([*manage, "migrate_stale"], check=True)
        subprocess.run([*manage, "seed_demo", "--if-empty", "--quiet-logins"], check=True)
        data = embedded.data_dir()
        celery = [python, "-m", "celery", "-A", "portal"]
        queue = os.environ.get("CELERY_QUEUE", "continuum")
        supervisor = Supervisor(
            {
                "web server": [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
                # Without mingle: at every (re)connection it waits a second for other workers
                # to share revoked task ids, which the portal never uses.
                "worker": [*celery, "worker", "-l", "warning", "--concurrency", "2", "-Q", queue, "--without-mingle"],
                "beat": [*celery, "beat", "-l", "warning", "--schedule", str(data / "celerybeat-schedule")],
            }
        )
        supervisor.start()
        time.sleep(2)
        result = subprocess.run([*manage, "seed_demo", "--if-empty"], capture_output=True, text=True)
        print("\nContinuum is running. Open an organization's address and sign in:", flush=True)
        print(result.stdout.replace("Demo network already present.\n", ""), flush=True)
        print("Ctrl-C stops the web server, the worker, beat, Redis and PostgreSQL.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while True:
            supervisor.poll()
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
