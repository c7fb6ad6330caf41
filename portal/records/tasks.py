"""Background work inside an organization's schema."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from portal.records.models import OrganizationSetting


@shared_task(bind=True, acks_late=True)
def setting_touch(self: object, *, key: str) -> str:
    """Mark a setting as seen by the worker, in the schema the task was sent to.

    A small, idempotent task used by the health check and by the test that proves tasks
    run in the schema they were sent for.
    """
    setting, _ = OrganizationSetting.objects.get_or_create(key=key)
    setting.value = {**setting.value, "worker_schema": connection.schema_name}
    setting.save(update_fields=["value", "updated_at"])
    return connection.schema_name
