"""The template schema new organizations are cloned from, and the clone itself.

django-tenants' default creates a schema and replays every migration of the project in
it (seconds per organization, growing with the project). Here a ready schema,
``settings.TENANT_BASE_SCHEMA`` ("org_template"), is kept migrated; a new organization's
schema is a copy of it (tables, indexes, sequences, constraints and the rows of its
``django_migrations``), so nothing is replayed or faked afterwards.

The template is checked with one query before each clone: its ``django_migrations``
rows against the migration graph on disk. A stale or missing template is migrated (or
created) first, under a PostgreSQL advisory lock so two processes never do it at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

TEMPLATE_LOCK_KEY = 4_127_001  # pg_advisory_lock key for template maintenance


def template_schema_name() -> str:
    return str(settings.TENANT_BASE_SCHEMA)


@functools.lru_cache(maxsize=1)
def expected_migrations() -> frozenset[tuple[str, str]]:
    """Every migration on disk (app label, name): what an up-to-date schema has recorded."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes.keys())


def applied_migrations(schema_name: str) -> set[tuple[str, str]]:
    """The migrations recorded in one schema's ``django_migrations`` (empty if it has none)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema_name}".django_migrations'])
        if cursor.fetchone()[0] is None:
            return set()
        cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')  # noqa: S608 - checked name
        return {(app, name) for app, name in cursor.fetchall()}


def schema_is_current(schema_name: str) -> bool:
    return expected_migrations() <= applied_migrations(schema_name)


@contextmanager
def _advisory_lock(key: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def template_schema_ensure(*, verbosity: int = 0) -> str:
    """Create or migrate the template schema if needed. Returns what it did."""
    name = template_schema_name()
    if schema_exists(name) and schema_is_current(name):
        return "current"
    with _advisory_lock(TEMPLATE_LOCK_KEY):
        connection.set_schema_to_public()
        action = "migrated"
        if not schema_exists(name):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{name}"')
            action = "created"
        elif schema_is_current(name):
            return "current"  # another process did it while we waited
        call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)
        connection.set_schema_to_public()
    return action


def schema_clone_from_template(schema_name: str) -> bool:
    """Create ``schema_name`` as a copy of the template. False if it already exists (a retry).

    ``clone_schema`` is one SQL statement: it leaves either a whole schema or none.
    """
    connection.set_schema_to_public()
    if schema_exists(schema_name, case_sensitive=False):
        return False
    template_schema_ensure()
    _clone_function_ensure()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [template_schema_name(), schema_name])
    return True


_clone_function_installed: set[str] = set()


def _clone_function_ensure() -> None:
    """django-tenants' ``clone_schema`` SQL function, (re)installed once per process and database.

    ``CloneSchema.clone_schema`` re-creates this large function on every call (a third of
    the time of a clone); it is the same function each time.
    """
    key = str(connection.settings_dict["NAME"])
    if key in _clone_function_installed:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regproc('public.clone_schema')")
            if cursor.fetchone()[0] is not None:
                return
    CloneSchema()._create_clone_schema_function()
    _clone_function_installed.add(key)


def schema_create_by_migrating(schema_name: str) -> None:
    """django-tenants' default path (every migration replayed): for the benchmark only."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def stale_schemas(schema_names: list[str], *, chunk: int = 400) -> list[str]:
    """Which of these schemas lack any migration on disk. A couple of queries in all.

    ``migrate_schemas`` pays about a second per schema (a migration executor per schema)
    even with nothing to apply; this compares each schema's ``django_migrations`` with
    the graph at once, so a deploy migrates only the schemas that are behind.
    """
    expected = sorted(f"{app}.{name}" for app, name in expected_migrations())
    if not schema_names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schema_names],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        stale = [name for name in schema_names if name not in with_table]
        present = [name for name in schema_names if name in with_table]
        for start in range(0, len(present), chunk):
            part = present[start : start + chunk]
            selects = " UNION ALL ".join(
                f'SELECT %s AS schema_name, count(*) AS applied FROM "{name}".django_migrations m '
                f"JOIN expected e ON e.key = m.app || '.' || m.name"
                for name in part
            )
            cursor.execute(
                f"WITH expected(key) AS (SELECT unnest(%s::text[])) {selects}",  # noqa: S608 - names from our table
                [expected, *part],
            )
            stale.extend(name for name, applied in cursor.fetchall() if applied < len(expected))
    return stale
