"""Attachments are checked by their whole content (``portal.uploads``: a PDF must parse and
carry no scripts or embedded files, an image must decode) and size, and kept under the
sender organization's media folder: ``MEDIA_ROOT/<schema>/messaging/…``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import FileSystemStorage

from portal import uploads

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from tenants.models import Organization

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5

KINDS = (uploads.PDF, uploads.PNG, uploads.JPEG, uploads.GIF87, uploads.GIF89)
ALLOWED_LABEL = "PDF, PNG, JPEG or GIF"


def sniff(upload: UploadedFile) -> tuple[str, str]:
    """(content type, extension) of an attachment, read from its whole content
    (``portal.uploads``), or ValidationError."""
    kind = uploads.upload_check(upload, kinds=KINDS, max_bytes=MAX_BYTES, field="attachments")
    return kind.content_type, kind.extension


def storage_for(organization: Organization) -> FileSystemStorage:
    return FileSystemStorage(location=Path(settings.MEDIA_ROOT) / organization.schema_name)


def clean_filename(name: str) -> str:
    base = Path(name or "attachment").name
    keep = "".join(ch for ch in base if ch.isalnum() or ch in "._- ").strip()
    return (keep or "attachment")[:120]
