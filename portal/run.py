"""``make run``: the whole portal on one machine, with the demo network.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set),
migrates the public and organization schemas, seeds the demo network if it is empty,
then runs the web server, a Celery worker and Celery beat. Ctrl-C stops everything it
started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


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
    children: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
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
        children.append(subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]))
        children.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "-l",
                    "warning",
                    "--concurrency",
                    "2",
                    "-Q",
                    os.environ.get("CELERY_QUEUE", "continuum"),
                ]
            )
        )
        children.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "beat",
                    "-l",
                    "warning",
                    "--schedule",
                    str(data / "celerybeat-schedule"),
                ]
            )
        )
        time.sleep(2)
        result = subprocess.run([*manage, "seed_demo", "--if-empty"], capture_output=True, text=True)
        print("\nContinuum is running. Open an organization's address and sign in:", flush=True)
        print(result.stdout.replace("Demo network already present.\n", ""), flush=True)
        print("Ctrl-C stops the web server, the worker, beat, Redis and PostgreSQL.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A process stopped on its own; stopping the rest.", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
