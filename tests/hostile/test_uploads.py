"""Uploads are read whole: a PDF must parse (pypdf) and carry no JavaScript, launch action
or embedded file; an image must decode (Pillow) and not be a decompression bomb. A refused
file answers 4xx with its reason and leaves nothing behind (no row, no file on disk); a good
one is accepted. Files are made in the test."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import files
from tests.hostile.helpers import everything
from tests.messaging.helpers import okafor_writes_park

REFUSED = {
    "a PDF with JavaScript": (files.pdf_with_javascript, "report.pdf", "contains JavaScript"),
    "a PDF with JavaScript behind a link": (files.pdf_with_javascript_in_a_link, "report.pdf", "contains JavaScript"),
    "a PDF with an embedded executable": (files.pdf_with_embedded_file, "report.pdf", "contains an embedded file"),
    "a PDF that launches a program": (files.pdf_that_launches_a_program, "report.pdf", "launches a program"),
    "a truncated PDF": (files.pdf_truncated, "report.pdf", "could not be read as a PDF"),
    "a PNG header followed by junk": (files.png_header_then_junk, "scan.png", "could not be read as a PNG image"),
    "a truncated JPEG": (files.jpeg_truncated, "scan.jpg", "could not be read as a JPEG image"),
    "a decompression bomb": (files.png_bomb, "scan.png", "too large an image"),
    "an executable": (lambda: b"MZ\x90\x00\x03 an executable", "report.pdf", "checked by its content"),
}
ACCEPTED = {
    "a PDF": (files.pdf_bytes, "report.pdf", "application/pdf"),
    "a PNG": (lambda: files.image_bytes("PNG"), "scan.png", "image/png"),
    "a JPEG": (lambda: files.image_bytes("JPEG"), "scan.jpg", "image/jpeg"),
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _document_post(client, patient, data, name):
    return client.post(
        f"/records/new/{patient.uuid}/document/",
        {
            "effective_date": "2026-11-20",
            "description": "Outside CT report",
            "action": "draft",
            "file": SimpleUploadedFile(name, data, content_type="application/pdf"),
        },
    )


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_hostile_file_is_refused_as_a_message_attachment_and_leaves_nothing(cast, sign_in, media, case):
    make, name, reason = REFUSED[case]
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = everything()
    upload = SimpleUploadedFile(name, make(), content_type="application/pdf")
    response = okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "See attached", "attachments": [upload]})
    assert response.status_code == 400 and reason in response.content.decode()
    assert everything() == before
    assert not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_hostile_file_is_refused_as_a_record_document_and_leaves_nothing(cast, sign_in, media, case):
    make, name, reason = REFUSED[case]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = everything()
    response = _document_post(park, cast.patients["maria"], make(), name)
    assert response.status_code == 400 and reason in response.content.decode()
    assert everything() == before
    assert not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_a_good_file_is_accepted_as_an_attachment_and_as_a_document(cast, sign_in, media, case):
    from django_tenants.utils import schema_context

    from portal.messaging.models import Attachment
    from portal.records.models import Document

    make, name, content_type = ACCEPTED[case]
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    upload = SimpleUploadedFile(name, make(), content_type="application/octet-stream")
    reply = okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "See attached", "attachments": [upload]})
    assert reply.status_code == 302
    attachment = Attachment.objects.get(message__thread=thread)
    assert attachment.content_type == content_type
    assert (media / cast.organizations["northfield"].schema_name / attachment.path).read_bytes() == make()
    maple = cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    assert _document_post(park, cast.patients["maria"], make(), name).status_code == 302
    with schema_context(maple.schema_name):
        document = Document.objects.get()
        assert document.content_type == content_type and document.sha256
        assert document.file.read() == make()


def test_a_gif_attachment_is_decoded_too(cast, sign_in, media):
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    good = SimpleUploadedFile("chart.gif", files.image_bytes("GIF"))
    assert okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "GIF", "attachments": [good]}).status_code == 302
    before = everything()
    bad = SimpleUploadedFile("chart.gif", b"GIF89a" + b"\x00" * 300)
    response = okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "GIF", "attachments": [bad]})
    assert response.status_code == 400 and "could not be read as a GIF image" in response.content.decode()
    assert everything() == before


def test_a_signed_agreement_with_javascript_is_refused_in_the_console(cast, sign_in, media):
    from tenants.services import organization_create

    birch = organization_create(name="Birch Street Primary Care", slug="birch", kind="primary_care", npi="1234567893")
    nora = sign_in(cast.users["network_admin"], cast.network)
    before = everything()
    response = nora.post(
        f"/console/organizations/{birch.uuid}/agreements/",
        {
            "kind": "business_associate",
            "document": SimpleUploadedFile("baa.pdf", files.pdf_with_javascript()),
            "signer_name": "Dana Birch",
            "signed_on": "2026-10-30",
        },
    )
    assert response.status_code == 400 and "contains JavaScript" in response.content.decode()
    assert birch.agreements.count() == 0 and everything() == before


def test_the_api_takes_no_document_without_a_file(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = everything()
    response = park.post(
        f"/api/v1/patients/{cast.patients['maria'].uuid}/items/",
        json.dumps({"kind": "document", "values": {"effective_date": "2026-11-20", "description": "CT"}}),
        content_type="application/json",
    )
    assert response.status_code == 400 and "file" in response.json()["errors"]
    assert everything() == before
