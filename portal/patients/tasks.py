"""Periodic work on access: relationships that end on time lose their permission."""

from celery import shared_task

from portal.patients.access import chart_permissions_sync_all


@shared_task(acks_late=True)
def care_relationships_sync() -> dict[str, int]:
    granted, removed = chart_permissions_sync_all()
    return {"granted": granted, "removed": removed}
