"""Uploaded files are checked by their content, all of it: the first bytes say what the file
claims to be, then a well-kept parser reads the whole file as that.

- A PDF must open with pypdf, have at least one page, and carry nothing active: no
  JavaScript (a /JS or /JavaScript entry anywhere reachable from its catalog, an action of
  kind JavaScript), no action that launches a program, imports data or opens an embedded
  document (/Launch, /ImportData, /GoToE), no embedded file (/EmbeddedFiles, /EF, a file
  attachment annotation), no rich media and no XFA form (which carries scripts). A
  password-protected PDF cannot be checked, so it is refused too.
- An image must decode fully with Pillow (``verify()``, then opened again and every frame
  ``load()``-ed), be the format its first bytes claim, and have at most ``MAX_PIXELS``
  pixels (Pillow's decompression-bomb guard is an error here, not a warning).

Each refusal is a ``ValidationError`` on the form's field, with a reason a person can act on."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from PIL import Image, ImageSequence
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

MAX_PIXELS = 50_000_000  # a page scanned at 600 dpi is about 35 million
MAX_FRAMES = 500
MAX_PDF_OBJECTS = 200_000


@dataclass(frozen=True)
class Kind:
    magic: bytes
    content_type: str
    extension: str
    label: str
    pillow_format: str = ""


PDF = Kind(b"%PDF-", "application/pdf", "pdf", "PDF")
PNG = Kind(b"\x89PNG\r\n\x1a\n", "image/png", "png", "PNG image", "PNG")
JPEG = Kind(b"\xff\xd8\xff", "image/jpeg", "jpg", "JPEG image", "JPEG")
GIF87 = Kind(b"GIF87a", "image/gif", "gif", "GIF image", "GIF")
GIF89 = Kind(b"GIF89a", "image/gif", "gif", "GIF image", "GIF")

# Keys and action kinds of a PDF that run something or carry another file.
_ACTIVE_KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/EmbeddedFiles": "an embedded file",
    "/EF": "an embedded file",
    "/XFA": "an XFA form (which carries scripts)",
    "/RichMediaContent": "rich media",
}
_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "an action that launches a program",
    "/ImportData": "an action that imports data",
    "/GoToE": "a link into an embedded file",
    "/Rendition": "an action that plays media",
}
_ACTIVE_TYPES = {
    "/EmbeddedFile": "an embedded file",
    "/FileAttachment": "an embedded file",
    "/RichMedia": "rich media",
}


def _refuse(field: str | None, message: str) -> ValidationError:
    return ValidationError({field: message}) if field else ValidationError(message)


def _pdf_active_content(reader: PdfReader) -> str | None:
    """What active content the PDF carries, walking every object reachable from its catalog."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer.raw_get("/Root")]
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            reference = (item.idnum, item.generation)
            if reference in seen:
                continue
            seen.add(reference)
            item = item.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            return "more objects than can be checked"
        if isinstance(item, DictionaryObject):  # streams too (their dictionaries)
            for active_key, label in _ACTIVE_KEYS.items():
                if active_key in item:
                    return label
            action = item.raw_get("/S") if "/S" in item else None
            if isinstance(action, str) and action in _ACTIVE_ACTIONS:
                return _ACTIVE_ACTIONS[action]
            for type_key in ("/Type", "/Subtype"):
                value = item.raw_get(type_key) if type_key in item else None
                if isinstance(value, str) and value in _ACTIVE_TYPES:
                    return _ACTIVE_TYPES[value]
            stack.extend(item.raw_get(key) for key in item if key != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return None


def _check_pdf(upload: UploadedFile, *, name: str, field: str | None) -> None:
    unreadable = _refuse(field, f"{name} could not be read as a PDF: it is damaged, cut short or not a PDF.")
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted:
            raise _refuse(
                field, f"{name} is password-protected, so its content cannot be checked. Upload it unprotected."
            )
        if len(reader.pages) == 0:
            raise unreadable
        for page in reader.pages:
            page.get_contents()
        active = _pdf_active_content(reader)
    except ValidationError:
        raise
    except RecursionError:
        raise unreadable
    except Exception:
        raise unreadable
    if active is not None:
        raise _refuse(field, f"{name} contains {active}; PDFs that run code or carry other files are not accepted.")


def _check_image(upload: UploadedFile, *, kind: Kind, name: str, field: str | None) -> None:
    unreadable = _refuse(
        field, f"{name} could not be read as a {kind.label}: it is damaged, cut short or not an image."
    )
    too_large = _refuse(field, f"{name} is too large an image: at most {MAX_PIXELS // 1_000_000} million pixels.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(upload) as image:
                if image.format != kind.pillow_format:
                    raise unreadable
                if image.width * image.height > MAX_PIXELS:
                    raise too_large
                image.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                for number, frame in enumerate(ImageSequence.Iterator(image)):
                    if number >= MAX_FRAMES:
                        raise unreadable
                    frame.load()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large
        except Exception:
            raise unreadable
        finally:
            upload.seek(0)


def upload_check(upload: UploadedFile, *, kinds: tuple[Kind, ...], max_bytes: int, field: str | None = None) -> Kind:
    """The kind of an uploaded file, read from its whole content; ``ValidationError`` (on
    ``field``, or plain for a form's ``clean_<field>``) when it is empty, too large, not one
    of ``kinds``, damaged, or carries active content."""
    name = getattr(upload, "name", None) or "The file"
    size = upload.size or 0
    if size == 0:
        raise _refuse(field, f"{name} is empty.")
    if size > max_bytes:
        raise _refuse(field, f"{name} is larger than {max_bytes // (1024 * 1024)} MB.")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = next((k for k in kinds if head.startswith(k.magic)), None)
    if kind is None:
        labels = list(dict.fromkeys(k.label.split()[0] for k in kinds))
        allowed = ", ".join(labels[:-1]) + f" or {labels[-1]}"
        raise _refuse(field, f"{name} is not a {allowed} file (checked by its content).")
    try:
        if kind is PDF:
            _check_pdf(upload, name=name, field=field)
        else:
            _check_image(upload, kind=kind, name=name, field=field)
    finally:
        upload.seek(0)
    return kind
