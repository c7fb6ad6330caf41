"""A deploy's tenant migrate step that skips schemas already up to date.

    python manage.py migrate_stale [--jobs 4] [--dry-run]

Compares every organization schema (and the template) with the migration graph in a
couple of queries, then runs django-tenants' ``migrate_schemas --schema`` for the stale
ones only, several at a time in separate processes. Run ``migrate_schemas --shared``
first, as usual.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Organization
from tenants.provisioning import stale_schemas, template_schema_ensure, template_schema_name

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


class Command(BaseCommand):
    help = "Migrate only the organization schemas that are behind, in parallel."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
        parser.add_argument("--dry-run", action="store_true", help="List the stale schemas and stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        schemas = list(
            Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        stale = stale_schemas(schemas)
        self.stdout.write(f"{len(schemas)} organization schemas, {len(stale)} behind.")
        if options["dry_run"]:
            for name in stale:
                self.stdout.write(f"  {name}")
            return
        template_action = template_schema_ensure()
        self.stdout.write(f"Template schema {template_schema_name()}: {template_action}.")
        failures: list[str] = []

        def migrate(name: str) -> None:
            result = subprocess.run(
                [sys.executable, str(MANAGE), "migrate_schemas", "--schema", name, "-v", "0"],
                capture_output=True,
                text=True,
                env=os.environ.copy(),
            )
            if result.returncode != 0:
                failures.append(f"{name}: {result.stderr.strip()[-500:]}")
            else:
                self.stdout.write(f"  migrated {name}")

        with ThreadPoolExecutor(max_workers=options["jobs"]) as pool:
            list(pool.map(migrate, stale))
        elapsed = time.perf_counter() - started
        if failures:
            raise CommandError("Some schemas failed to migrate:\n" + "\n".join(failures))
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.2f} s."))
