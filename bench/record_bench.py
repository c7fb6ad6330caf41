"""Shared-record benchmark: patient search and the chart page through the real web stack.

Builds (once, then reuses) a database of its own on the embedded PostgreSQL,
``continuum_record_bench`` (``continuum_record_bench_x10`` with ``--scale 10``): the demo
cast, 15 more organizations (20 in all), 100,000 × scale patients each cared for by two
organizations, and 1,000,000 × scale registry entries (COPY, see ``bench/record_data.py``),
plus 40 of Dr. Park's patients with 200 entries from five organizations. Then serves it with
gunicorn (as the image does: 2 × cores + 1 processes) and measures, signed in as Dr. Peter
Park at Maple Family Medicine, the p50/p95 of

* ``GET /plain``, a plain one-query view on the same server, the yardstick every other
  figure is also given against (this machine's speed moves by up to 2× within an hour);
* ``POST /patients/search/`` (typo'd names, family names, dates of birth, MRNs; terms in the
  body), and
* ``GET /patients/<uuid>/`` (the chart) for a sample of his patients, and for the 40 with
  200 entries from five organizations.

    PYTHONPATH=$PWD .venv/bin/python bench/record_bench.py [--scale 10] [--requests 400]
        [--concurrency 2] [--rebuild]

Targets (issues #3 and #18): search < 50 ms, chart < 150 ms (< 100 ms for 200 entries from
five organizations) at p95, and search at ten times the size within 1.5× of its time at the
base size. It is not part of the test suite.
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
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "continuum_record_bench"
HEAVY_CHARTS, HEAVY_ENTRIES, HEAVY_ORGANIZATIONS = 40, 200, 5


def bench_database_name(scale: int = 1) -> str:
    return BENCH_DB if scale == 1 else f"{BENCH_DB}_x{scale}"


def bench_database_url(scale: int = 1, *, rebuild: bool = False) -> str:
    """The benchmark's own database next to the development one (dropped first with
    ``rebuild``); its URL."""
    from bench.databases import own_database_url

    return own_database_url(bench_database_name(scale), rebuild=rebuild)


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
    call_command("migrate_schemas", verbosity=0)  # the organizations' schemas too: the chart reads them
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
    parser.add_argument("--scale", type=int, default=1, help="10 builds (once) and measures ten times the data")
    parser.add_argument("--requests", type=int, default=400, help="requests per measured route")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=IMAGE_WORKERS, help="gunicorn workers (the image's by default)")
    parser.add_argument("--threads", type=int, default=IMAGE_THREADS, help="threads per gunicorn worker")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the data and stop")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url(args.scale, rebuild=args.rebuild)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.served_settings")
    import django

    django.setup()

    from django.conf import settings

    from bench.httpload import Result, run
    from bench.record_data import add_heavy_charts
    from portal.demo.seed import cast_load
    from portal.patients.models import NetworkPatient, PatientIdentifier, RegistryEntry
    from portal.patients.selectors import visible_patients

    build(patients=100_000 * args.scale, entries=1_000_000 * args.scale)
    cast = cast_load()  # not seed_foundation() again: its permission sync walks every relationship
    park, maple = cast.users["park"], cast.organizations["maple"]
    partners = [cast.organizations[slug] for slug in ("northfield", "lakeside", "stbrendans", "cedarvalley")]
    started = time.monotonic()
    heavy = add_heavy_charts(organization=maple, partners=partners, patients=HEAVY_CHARTS, entries=HEAVY_ENTRIES)
    print(
        f"{len(heavy)} charts of {HEAVY_ENTRIES} entries from {HEAVY_ORGANIZATIONS} organizations ready "
        f"in {time.monotonic() - started:.1f} s"
    )
    if args.build_only:
        return
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
    server = serve(port, args.workers, args.threads, settings_module="bench.served_settings")
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

        plain = measure("plain one-query view (/plain)", ["/plain"])
        search = measure(
            "patient search (POST /patients/search/)",
            ["/patients/search/"] * len(queries),
            [f"q={quote(q)}".encode() for _, q in queries],
            [kind for kind, _ in queries],
        )
        chart = measure("chart page (/patients/<uuid>/)", [f"/patients/{p.uuid}/" for p in sample])
        heavy_uuids = NetworkPatient.objects.filter(pk__in=heavy).values_list("uuid", flat=True)
        heavy_chart = measure(
            f"chart, {HEAVY_ENTRIES} entries from {HEAVY_ORGANIZATIONS} organizations",
            [f"/patients/{uuid}/" for uuid in heavy_uuids],
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print()
    print(f"gunicorn {args.workers} workers × {args.threads} threads, {args.concurrency} concurrent clients, DEBUG off")
    base50, base95 = plain.percentile(0.5), plain.percentile(0.95)
    for result in (plain, search, chart, heavy_chart):
        print(
            f"{result.line()}   ({result.percentile(0.5) / base50:4.1f}× / "
            f"{result.percentile(0.95) / base95:4.1f}× the plain view)"
        )
    for kind, latencies in by_kind.items():
        ordered = sorted(latencies)
        p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(
            f"  search by {kind:30} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   "
            f"({p50 / base50:4.1f}× / {p95 / base95:4.1f}× the plain view)"
        )
    print(
        f"targets: search p95 < 50 ms ({search.percentile(0.95):.1f}), chart p95 < 150 ms "
        f"({chart.percentile(0.95):.1f}), {HEAVY_ENTRIES}-entry chart p95 < 100 ms ({heavy_chart.percentile(0.95):.1f})"
    )


if __name__ == "__main__":
    main()
