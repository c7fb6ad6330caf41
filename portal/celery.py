"""The Celery app. Tasks that touch an organization's schema get its name explicitly."""

from __future__ import annotations

import os
from typing import Any

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = CeleryApp("continuum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def send_in_schema(task: Any, schema_name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Send ``task`` to run in ``schema_name``; the schema never comes from the sender's
    connection. Call it from ``transaction.on_commit`` in services."""
    return task.apply_async(args=args, kwargs=kwargs, headers={"_schema_name": schema_name})
