"""Helpers of the hostile-input tests: what the database holds, to prove nothing changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django_tenants.utils import schema_context


def everything() -> dict[str, int]:
    """Rows of every model of the portal (public schema and Northfield's repository), and
    the files under MEDIA_ROOT."""
    from tenants.models import Organization

    schema = Organization.objects.get(slug="northfield").schema_name
    counts: dict[str, int] = {}
    for model in apps.get_models():
        module = model.__module__
        if not module.startswith(("portal.", "tenants.")) or model._meta.proxy:
            continue
        if model._meta.app_label == "records":
            with schema_context(schema):
                counts[model.__name__] = model.objects.count()
        elif model._meta.app_label not in ("audit",):
            counts[model.__name__] = model.objects.count()
    media = Path(settings.MEDIA_ROOT)
    counts["files"] = sum(1 for p in media.rglob("*") if p.is_file()) if media.exists() else 0
    return counts


def assert_api_error(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["errors"], dict), body
    return body
