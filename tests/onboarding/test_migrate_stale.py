"""The deploy's migrate step skips schemas already up to date and finds the ones behind."""

from django.core.management import call_command
from django.db import connection

from tenants.provisioning import stale_schemas


def test_up_to_date_schemas_are_not_stale_and_a_schema_behind_is(cast, capsys):
    schemas = [org.schema_name for org in cast.organizations.values()]
    assert stale_schemas(schemas) == []
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM org_maple.django_migrations WHERE app = 'records'")
    assert stale_schemas(schemas) == ["org_maple"]
    call_command("migrate_stale", "--dry-run")
    out = capsys.readouterr().out
    assert "1 behind" in out and "org_maple" in out


def test_a_schema_without_migration_records_is_stale(db):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "org_empty_probe"')
    assert stale_schemas(["org_empty_probe"]) == ["org_empty_probe"]
