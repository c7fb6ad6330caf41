"""What a session costs per request with each of Django's session engines.

Run by hand: ``.venv/bin/python bench/session_bench.py``. Loads (and, once a minute in
the portal, saves) one signed-in session N times with the ``cache`` engine (Redis
only), ``db`` (PostgreSQL) and ``cached_db`` (PostgreSQL with Redis in front), on the
embedded servers, and prints the median and p95 of a load and of a save.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

N = 2000
ENGINES = [
    "django.contrib.sessions.backends.cache",
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    connection.set_schema_to_public()
    data = {"_auth_user_id": "17", "_auth_user_backend": "x.y", "continuum_schema": "northfield", "otp": "abc" * 10}
    print(f"{'engine':<12} {'load p50':>10} {'load p95':>10} {'save p50':>10} {'save p95':>10}")
    for engine in ENGINES:
        store_class = importlib.import_module(engine).SessionStore
        store = store_class()
        store.update(data)
        store.save()
        key = store.session_key
        loads, saves = [], []
        for _ in range(N):
            started = time.perf_counter()
            session = store_class(key)
            session.load()
            loads.append(time.perf_counter() - started)
        for _ in range(N // 10):
            session = store_class(key)
            session["continuum_refreshed"] = time.time()
            started = time.perf_counter()
            session.save()
            saves.append(time.perf_counter() - started)
        store.delete()
        name = engine.rsplit(".", 1)[1]
        print(
            f"{name:<12} {statistics.median(loads) * 1000:>8.3f}ms {percentile(loads, 0.95) * 1000:>8.3f}ms "
            f"{statistics.median(saves) * 1000:>8.3f}ms {percentile(saves, 0.95) * 1000:>8.3f}ms"
        )


if __name__ == "__main__":
    main()
