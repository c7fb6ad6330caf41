"""Shared-record benchmark: patient search and the chart page through the real web stack.

Builds (once) a database of its own on the embedded PostgreSQL, ``continuum_record_bench``:
the demo cast, 15 more organizations (20 in all), 100,000 patients each cared for by two
organizations, and 1,000,000 registry entries (COPY, see ``bench/record_data.py``). Then
serves it with gunicorn (as the image does: 2 × cores + 1 processes) and measures, signed in
as Dr. Peter Park at Maple Family Medicine, the p50/p95 of

* ``POST /patients/search/`` (typo'd names, dates of birth, MRNs; terms in the body), and
* ``GET /patients/<uuid>/`` (the chart) for a sample of his patients.

    PYTHONPATH=$PWD .venv/bin/python bench/record_bench.py [--patients 100000] [--entries 1000000]
        [--requests 400] [--concurrency 2] [--rebuild]

Targets (issue #3): search < 50 ms and chart < 150 ms at p95. It is not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "continuum_record_bench"


def bench_database_url() -> str:
    """Create the benchmark's own database next to the development one; return its URL."""
    import psycopg

    from portal.embedded import ensure_environment

    ensure_environment()
    base = os.environ["DATABASE_URL"]
    parsed = urlparse(base)
    with psycopg.connect(base, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return urlunparse(parsed._replace(path=f"/{BENCH_DB}"))


def drop_bench_database() -> None:
    import psycopg

    from portal.embedded import ensure_environment

    ensure_environment()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The web server as the image runs it (docker/entrypoint.sh: WEB_WORKERS, WEB_THREADS).
IMAGE_WORKERS, IMAGE_THREADS = 2 * (os.cpu_count() or 1) + 1, 1


def serve(
    port: int,
    workers: int = IMAGE_WORKERS,
    threads: int = IMAGE_THREADS,
    settings_module: str = "portal.settings.dev",
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DEBUG": "false",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        + ["--threads", str(threads)]
        + ["--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def build(*, patients: int, entries: int) -> None:
    from django.core.management import call_command

    from portal.demo.seed import seed_foundation
    from portal.patients.models import NetworkPatient, RegistryEntry
    from tenants.models import Organization, OrganizationKind, OrganizationStatus
    from tenants.services import organization_create

    started = time.monotonic()
    call_command("migrate_schemas", "--shared", verbosity=0)
    if NetworkPatient.objects.count() >= patients and RegistryEntry.objects.count() >= entries:
        print("benchmark data already there")
        return
    cast = seed_foundation()
    organizations = list(cast.organizations.values())
    for n in range(len(organizations), 20):
        slug = f"bench{n:02d}"
        organization = Organization.objects.filter(slug=slug).first() or organization_create(
            name=f"Bench Partner {n:02d}",
            slug=slug,
            kind=OrganizationKind.COMMUNITY_ONCOLOGY if n % 2 else OrganizationKind.PRIMARY_CARE,
            status=OrganizationStatus.ACTIVE,
        )
        organizations.append(organization)
    print(f"schema and {len(organizations)} organizations ready in {time.monotonic() - started:.1f} s")
    have = NetworkPatient.objects.count()
    if have >= patients and RegistryEntry.objects.count() >= entries:
        print(f"data already there: {have:,} patients, {RegistryEntry.objects.count():,} entries")
        return
    from bench.record_data import generate

    timings = generate(organizations=organizations, patients=patients, entries=entries)
    for label, seconds in timings.items():
        print(f"  generated {label:42} {seconds:6.1f} s")
    print(f"now {NetworkPatient.objects.count():,} patients, {RegistryEntry.objects.count():,} registry entries")


def session_cookie(user: Any, organization: Any) -> str:
    from django.test import Client
    from django_tenants.utils import schema_context

    from portal.accounts.middleware import SESSION_SCHEMA_KEY
    from tests.conftest import second_factor_session

    client = Client()
    with schema_context(organization.schema_name):
        client.force_login(user, backend="portal.accounts.backends.OrganizationMembershipBackend")
        session = client.session
        session[SESSION_SCHEMA_KEY] = organization.schema_name
        session.update(second_factor_session(user))
        session.save()
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400, help="requests per measured route")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=IMAGE_WORKERS, help="gunicorn workers (the image's by default)")
    parser.add_argument("--threads", type=int, default=IMAGE_THREADS, help="threads per gunicorn worker")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the benchmark database")
    args = parser.parse_args()

    if args.rebuild:
        drop_bench_database()
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    import django

    django.setup()

    from django.conf import settings

    from bench.httpload import Result, run
    from portal.demo.seed import cast_load
    from portal.patients.models import PatientIdentifier, RegistryEntry
    from portal.patients.selectors import visible_patients

    build(patients=args.patients, entries=args.entries)
    cast = cast_load()  # not seed_foundation() again: its permission sync walks every relationship
    park, maple = cast.users["park"], cast.organizations["maple"]
    visible = visible_patients(user=park, organization=maple)
    rng = random.Random(3)
    # The same sample every run (a seeded draw), so that runs compare the same searches.
    sample = list(visible.filter(pk__in=rng.sample(sorted(visible.values_list("pk", flat=True)), 40)))
    print(
        f"Dr. Park sees {visible.count():,} patients at Maple; "
        f"sampled charts have {RegistryEntry.objects.filter(patient__in=sample).count() / len(sample):.0f} entries on average"
    )
    queries: list[tuple[str, str]] = []  # (kind, words)
    for patient in sample[:20]:
        family = patient.family_name
        typo = family[:-2] + family[-1] if len(family) > 4 else family  # one letter dropped
        queries += [
            ("full name, one letter dropped", f"{patient.given_name} {typo}"),
            ("family name", family),
            ("date of birth", patient.date_of_birth.isoformat()),
        ]
    mrns = PatientIdentifier.objects.filter(organization=maple, patient__in=sample[:20]).values_list("mrn", flat=True)
    queries += [("MRN", mrn) for mrn in mrns]
    rng.shuffle(queries)
    cookie = session_cookie(park, maple)
    host = f"maple.{settings.BASE_DOMAIN}"
    port = free_port()
    server = serve(port, args.workers, args.threads)
    try:
        csrf = "benchcsrftoken" + "x" * 18  # any 32 characters: the cookie and the header must agree
        form_cookie = f"{cookie}; csrftoken={csrf}"

        by_kind: dict[str, list[float]] = {}

        def measure(
            label: str, paths: list[str], bodies: list[bytes | None] | None = None, kinds: list[str] | None = None
        ) -> Result:
            per_path = max(1, args.requests // len(paths))
            combined = Result(label, 0, 0.0, [], 0)
            for n, (path, body) in enumerate(zip(paths, bodies or [None] * len(paths), strict=True)):
                result = run(
                    label,
                    port,
                    path,
                    host=host,
                    cookie=form_cookie if body else cookie,
                    total=per_path,
                    concurrency=args.concurrency,
                    warmup=4,
                    method="POST" if body else "GET",
                    body=body,
                    extra_headers={"X-CSRFToken": csrf, "Referer": f"http://{host}/"} if body else None,
                )
                if kinds:
                    by_kind.setdefault(kinds[n], []).extend(result.latencies_ms)
                combined.requests += result.requests
                combined.seconds += result.seconds
                combined.latencies_ms += result.latencies_ms
                combined.errors += result.errors
            return combined

        search = measure(
            "patient search (POST /patients/search/)",
            ["/patients/search/"] * len(queries),
            [f"q={quote(q)}".encode() for _, q in queries],
            [kind for kind, _ in queries],
        )
        chart = measure("chart page (/patients/<uuid>/)", [f"/patients/{p.uuid}/" for p in sample])
    finally:
        server.terminate()
        server.wait(timeout=30)
    print()
    print(f"gunicorn {args.workers} workers × {args.threads} threads, {args.concurrency} concurrent clients, DEBUG off")
    for result in (search, chart):
        print(result.line())
    for kind, latencies in by_kind.items():
        ordered = sorted(latencies)
        print(
            f"  search by {kind:30} p50 {ordered[len(ordered) // 2]:7.2f} ms   "
            f"p95 {ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]:7.2f} ms"
        )
    print(
        f"targets: search p95 < 50 ms ({search.percentile(0.95):.1f}), chart p95 < 150 ms ({chart.percentile(0.95):.1f})"
    )


if __name__ == "__main__":
    main()
