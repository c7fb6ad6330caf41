"""FHIR import benchmark: ``POST /fhir/R4/`` with transaction Bundles through the real web
stack (gunicorn as the image runs it), next to a plain one-query view served by the same
server in the same run.

Builds (once) a database of its own on the embedded PostgreSQL, ``continuum_fhir_import_bench``,
with the demo cast, then, signed in as Dr. Olivia Okafor at Northfield (session cookie and CSRF
token, as the portal's scripts send them), posts one after the other:

* a 1,448-entry Synthea-shaped record (``bench/fhir_import_data.py``: a new patient each time,
  every item published), ``--large`` times;
* the same record posted again (every entry found: nothing is created);
* a 100-entry record, ``--small`` times;

and times ``GET /healthz`` at Northfield's address (routing, middleware, ``SELECT 1``) as the
baseline every figure is divided by.

    PYTHONPATH=$PWD .venv/bin/python bench/fhir_import_bench.py [--large 5] [--small 20] [--rebuild]

Goals (issue #16): a 1,448-entry Bundle (validation included) under 10 s, a 100-entry one
under 1.5 s. It is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "continuum_fhir_import_bench"


def bench_database_url(rebuild: bool) -> str:
    from bench.databases import own_database_url

    return own_database_url(BENCH_DB, rebuild=rebuild)


def build() -> Any:
    from django.core.management import call_command

    from portal.demo.seed import cast_load, seed_foundation
    from tenants.models import Organization

    call_command("migrate_schemas", "--shared", verbosity=0)
    if Organization.objects.filter(slug="northfield").exists():
        call_command("migrate_schemas", "--tenant", verbosity=0)
        return cast_load()
    return seed_foundation()


def timed(port: int, host: str, headers: dict[str, str], path: str, body: bytes | None = None) -> tuple[float, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method="POST" if body else "GET", headers={"Host": host, **headers}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            content = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        content, status = error.read(), error.code
    elapsed = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"{path}: {status} {content[:500]!r}")
    return elapsed, json.loads(content) if body else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=5, help="1,448-entry imports")
    parser.add_argument("--small", type=int, default=20, help="100-entry imports")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the benchmark database")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url(args.rebuild)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    import django

    django.setup()

    from django.conf import settings

    from bench.fhir_import_data import synthetic_record
    from bench.record_bench import IMAGE_THREADS, IMAGE_WORKERS, free_port, serve, session_cookie

    cast = build()
    okafor, northfield = cast.users["okafor"], cast.organizations["northfield"]
    token = secrets.token_urlsafe(24)[:32].replace("-", "a").replace("_", "b")
    headers = {
        "Cookie": f"{session_cookie(okafor, northfield)}; csrftoken={token}",
        "X-CSRFToken": token,
        "Content-Type": "application/fhir+json",
    }
    host = f"northfield.{settings.BASE_DOMAIN}"
    port = free_port()
    server = serve(port, IMAGE_WORKERS, IMAGE_THREADS)
    run = int(time.time()) % 100_000
    figures: dict[str, list[float]] = {"plain": [], "large": [], "again": [], "small": []}
    try:
        for _ in range(20):
            timed(port, host, headers, "/healthz")
        for _ in range(200):
            figures["plain"].append(timed(port, host, headers, "/healthz")[0])
        # Each worker loads fhir.resources' models on its first import (about 2 s on a quiet
        # machine): warm every worker first, as a server in use is.
        for index in range(3 * IMAGE_WORKERS):
            warm = json.dumps(synthetic_record(size=40, seed=run * 1000 + 900 + index)).encode()
            timed(port, host, headers, "/fhir/R4/", warm)
        large = b""
        for index in range(args.large):
            large = json.dumps(synthetic_record(size=1448, seed=run * 1000 + index, publish=True)).encode()
            elapsed, answer = timed(port, host, headers, "/fhir/R4/", large)
            created = sum(e["response"]["status"] == "201 Created" for e in answer["entry"])
            figures["large"].append(elapsed)
            print(f"1,448 entries ({len(large) / 1e6:.1f} MB): {elapsed:.2f} s, {created} created")
        for _ in range(2):
            elapsed, answer = timed(port, host, headers, "/fhir/R4/", large)
            assert all(e["response"]["status"] == "200 OK" for e in answer["entry"])
            figures["again"].append(elapsed)
            print(f"the same 1,448 entries again: {elapsed:.2f} s, nothing created")
        for index in range(args.small):
            small = json.dumps(synthetic_record(size=100, seed=run * 1000 + 500 + index, publish=True)).encode()
            figures["small"].append(timed(port, host, headers, "/fhir/R4/", small)[0])
    finally:
        server.terminate()
        server.wait(timeout=30)
    plain = statistics.median(figures["plain"])
    print()
    print(f"gunicorn {IMAGE_WORKERS} workers × {IMAGE_THREADS} thread, one client, DEBUG off")
    for label, key in (
        ("plain one-query view (/healthz)", "plain"),
        ("1,448-entry transaction, published", "large"),
        ("the same 1,448 again (nothing created)", "again"),
        ("100-entry transaction, published", "small"),
    ):
        values = sorted(figures[key])
        worst = values[-1]
        print(
            f"{label:42} median {statistics.median(values) * 1000:8.1f} ms ({statistics.median(values) / plain:7.0f}×)"
            f"   max {worst * 1000:8.1f} ms"
        )
    print(
        f"goals: 1,448 entries < 10 s (max {max(figures['large']):.2f} s), "
        f"100 entries < 1.5 s (max {max(figures['small']):.2f} s)"
    )


if __name__ == "__main__":
    main()
