"""An organization's repository as one zip: every tenant app's rows, its files, a manifest.

Generic on purpose: every model of the tenant apps (``settings.TENANT_APPS``) is
serialized with Django's JSON serializer, so new clinical item types are exported
without a change here. Files stored under the organization's media folder follow.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Organization


def _tenant_models() -> list[Any]:
    models: list[Any] = []
    for app_name in settings.TENANT_APPS:
        config = next((c for c in apps.get_app_configs() if c.name == app_name), None)
        if config is not None:
            models.extend(m for m in config.get_models() if not m._meta.proxy)
    return models


def organization_media_folder(organization: Organization) -> Path:
    """Where TenantFileSystemStorage keeps this organization's files."""
    relative = settings.MULTITENANT_RELATIVE_MEDIA_ROOT % organization.schema_name
    return Path(settings.MEDIA_ROOT) / relative


def repository_export_write(*, organization: Organization) -> tuple[Path, str, int, dict[str, Any]]:
    """Write the zip under EXPORT_ROOT. Returns (path, sha256, size, manifest)."""
    stamp = timezone.now()
    folder = Path(settings.EXPORT_ROOT) / organization.slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{organization.slug}-{stamp:%Y%m%dT%H%M%S%f}.zip"
    entries: list[dict[str, Any]] = []
    item_count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with schema_context(organization.schema_name):
            for model in _tenant_models():
                rows = list(model._default_manager.all().order_by("pk"))
                data = serializers.serialize("json", rows, indent=1).encode()
                name = f"items/{model._meta.label_lower}.json"
                archive.writestr(name, data)
                entries.append(
                    {
                        "path": name,
                        "model": model._meta.label,
                        "rows": len(rows),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
                item_count += len(rows)
        media = organization_media_folder(organization)
        file_count = 0
        if media.is_dir():
            for file in sorted(p for p in media.rglob("*") if p.is_file()):
                name = "files/" + file.relative_to(media).as_posix()
                content = file.read_bytes()
                archive.writestr(name, content)
                entries.append({"path": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()})
                file_count += 1
        manifest = {
            "format": "continuum-organization-export/1",
            "organization": {
                "uuid": str(organization.uuid),
                "name": organization.name,
                "slug": organization.slug,
                "kind": organization.kind,
                "npi": organization.npi,
                "schema": organization.schema_name,
            },
            "generated_at": stamp.isoformat(),
            "item_count": item_count,
            "file_count": file_count,
            "entries": entries,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, digest, path.stat().st_size, manifest


def export_read(path: str) -> io.BufferedReader:
    return open(path, "rb")  # noqa: SIM115 - handed to FileResponse, which closes it
