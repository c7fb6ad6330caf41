"""Real files made in the test, for uploads: valid ones, and hostile ones that only look
right at their first bytes."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject


def _pdf(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_bytes(title: str = "Consult report") -> bytes:
    """A valid one-page PDF; its title is stored as plain text in the file."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_metadata({"/Title": title})
    return _pdf(writer)


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_open_action(JavaScript("app.alert('hello');"))
    return _pdf(writer)


def pdf_with_javascript_in_a_link() -> bytes:
    """JavaScript not in the catalog but behind a link on the page."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(10), NumberObject(10), NumberObject(200), NumberObject(40)]),
            NameObject("/A"): DictionaryObject(
                {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1);")}
            ),
        }
    )
    writer.add_annotation(page_number=0, annotation=link)
    return _pdf(writer)


def pdf_with_embedded_file() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_attachment("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00 an executable")
    return _pdf(writer)


def pdf_that_launches_a_program() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
    )
    return _pdf(writer)


def pdf_truncated() -> bytes:
    whole = pdf_bytes()
    return whole[: len(whole) // 2]


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt)
    return out.getvalue()


def png_header_then_junk() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00junk that is no image at all" * 20


def jpeg_truncated() -> bytes:
    whole = image_bytes("JPEG", (640, 480))
    return whole[: len(whole) // 2]


def png_bomb() -> bytes:
    """A small file that decodes to 56 million pixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 7000), 0).save(out, format="PNG")
    return out.getvalue()
