"""The Celery app. Tasks that touch an organization's schema get its name explicitly."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import worker_ready
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = CeleryApp("continuum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _resend_pending_when_ready(**_: Any) -> None:
    """A worker that (re)starts hands over at once what waited for it, rather than at the
    next periodic re-send (delivery is idempotent: nothing goes out twice)."""
    from django.conf import settings

    from portal.notifications.tasks import deliveries_resend_pending

    try:
        deliveries_resend_pending.apply_async(
            kwargs={"older_than_seconds": 0}, headers={"_schema_name": "public"}, countdown=1
        )
    except Exception:  # Redis may still be away: the periodic re-send catches up  # noqa: BLE001
        import logging

        logging.getLogger("portal.celery").warning(
            "could not queue the start-up re-send; the periodic one runs every %s s",
            settings.NOTIFICATIONS_RESEND_SECONDS,
        )


worker_ready.connect(_resend_pending_when_ready)


def send_in_schema(task: Any, schema_name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Send ``task`` to run in ``schema_name``; the schema never comes from the sender's
    connection. Call it from ``transaction.on_commit`` in services."""
    return task.apply_async(args=args, kwargs=kwargs, headers={"_schema_name": schema_name})
