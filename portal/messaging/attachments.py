"""Attachments are checked by their content (magic bytes) and size, and kept under the
sender organization's media folder: ``MEDIA_ROOT/<schema>/messaging/…``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5

# (leading bytes, content type, extension)
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]
ALLOWED_LABEL = "PDF, PNG, JPEG or GIF"


def sniff(upload: Any) -> tuple[str, str]:
    """(content type, extension) read from the file's first bytes, or ValidationError."""
    name = getattr(upload, "name", "file")
    if upload.size > MAX_BYTES:
        raise ValidationError({"attachments": f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MB."})
    if upload.size == 0:
        raise ValidationError({"attachments": f"{name} is empty."})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    raise ValidationError({"attachments": f"{name} is not a {ALLOWED_LABEL} file (checked by its content)."})


def storage_for(organization: Any) -> FileSystemStorage:
    return FileSystemStorage(location=Path(settings.MEDIA_ROOT) / organization.schema_name)


def clean_filename(name: str) -> str:
    base = Path(name or "attachment").name
    keep = "".join(ch for ch in base if ch.isalnum() or ch in "._- ").strip()
    return (keep or "attachment")[:120]
