"""Background work inside an organization's schema."""

from __future__ import annotations

from celery import shared_task

from portal.records.models import OrganizationSetting
from tenants.connection import tenant_connection


@shared_task(bind=True, acks_late=True)
def setting_touch(self: object, *, key: str) -> str:
    """Mark a setting as seen by the worker, in the schema the task was sent to.

    A small, idempotent task used by the health check and by the test that proves tasks
    run in the schema they were sent for.
    """
    # One statement: a reader never sees the row without the value.
    OrganizationSetting.objects.update_or_create(
        key=key, defaults={"value": {"worker_schema": tenant_connection.schema_name}}
    )
    return tenant_connection.schema_name
