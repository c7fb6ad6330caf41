"""Files through FHIR: a DocumentReference with a PDF or image inline (``attachment.data``)
becomes an uploaded file of the chart, checked as the upload page checks it; it reads back as
a DocumentReference whose attachment points at ``Binary/<id>``, whose bytes answer under the
access rule (audited; 404 for anyone else)."""

from __future__ import annotations

import base64
import json

from django_tenants.utils import schema_context

from portal.audit.models import AuditEvent
from portal.patients.models import RegistryEntry
from portal.records.models import ClinicalItem, Document, ImportedResource
from tests.fhir.bundles import entry, transaction
from tests.fhir.helpers import fhir_json
from tests.files import image_bytes, pdf_bytes, pdf_with_javascript

FHIR = "application/fhir+json"


def _post(http, bundle):
    return http.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR)


def _document(patient_id, content, content_type="application/pdf", *, data=None, key=None):
    attachment = {"contentType": content_type, "title": "Outside pathology report.pdf"}
    attachment["data"] = data if data is not None else base64.b64encode(content).decode()
    resource = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"text": "Outside pathology report"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": "2026-11-02T10:00:00Z",
        "description": "Outside pathology report",
        "content": [{"attachment": attachment}],
    }
    return entry(resource, key=key)


def _counts(organization):
    with schema_context(organization.schema_name):
        return (ClinicalItem.objects.count(), Document.objects.count(), ImportedResource.objects.count())


def test_an_inline_pdf_becomes_a_file_of_the_chart_and_reads_back_as_binary(cast, sign_in):
    maple, okafor, maria = cast.organizations["northfield"], cast.users["okafor"], cast.patients["maria"]
    client = sign_in(okafor, maple)
    pdf = pdf_bytes("Outside pathology")
    sent = transaction([_document(maria.uuid, pdf, key="path-2026-11")], publish=True)
    answer = fhir_json(_post(client, sent))
    [response] = [e["response"] for e in answer["entry"]]
    assert response["status"] == "201 Created"
    entry_id = response["location"].split("/")[1]
    assert response["location"] == f"DocumentReference/{entry_id}/_history/1"
    with schema_context(maple.schema_name):
        item = ClinicalItem.objects.get(pk=RegistryEntry.objects.get(uuid=entry_id).item_uuid)
        assert item.kind == "document" and item.author == okafor and item.status == "published"
        stored = Document.objects.get(item=item)
        assert stored.content_type == "application/pdf" and stored.size == len(pdf)
        assert stored.original_name.endswith(".pdf")
    # Shown on the chart like an upload.
    assert "Outside pathology report" in client.get(f"/patients/{maria.uuid}/").content.decode()
    # Read back at Maple: the attachment points at Binary/<id>, whose bytes are the file's.
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    reference = fhir_json(park.get(f"/fhir/R4/DocumentReference/{entry_id}"))
    attachment = reference["content"][0]["attachment"]
    assert attachment["url"] == f"Binary/{entry_id}" and attachment["contentType"] == "application/pdf"
    raw = park.get(f"/fhir/R4/Binary/{entry_id}", HTTP_ACCEPT="application/pdf")
    assert raw.status_code == 200 and raw.content == pdf and raw["Content-Type"] == "application/pdf"
    as_fhir = fhir_json(park.get(f"/fhir/R4/Binary/{entry_id}", HTTP_ACCEPT=FHIR))
    assert base64.b64decode(as_fhir["data"]) == pdf
    assert AuditEvent.objects.filter(object_type="fhir", detail__interaction=f"read Binary/{entry_id}").count() == 2
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    denied = chen.get(f"/fhir/R4/Binary/{entry_id}")
    assert denied.status_code == 404 and pdf not in denied.content
    # The same Bundle again creates nothing.
    before = _counts(maple)
    again = fhir_json(_post(client, sent))
    assert again["entry"][0]["response"]["status"] == "200 OK" and _counts(maple) == before
    assert RegistryEntry.objects.filter(uuid=entry_id).count() == 1


def test_an_inline_image_as_a_draft(cast, sign_in):
    maple, maria = cast.organizations["maple"], cast.patients["maria"]
    client = sign_in(cast.users["park"], maple)
    png = image_bytes("PNG")
    answer = fhir_json(_post(client, transaction([_document(maria.uuid, png, "image/png")])))
    assert answer["entry"][0]["response"]["status"] == "201 Created"
    with schema_context(maple.schema_name):
        stored = Document.objects.get(item__patient=maria, item__status="draft", content_type="image/png")
        assert stored.file.read() == png


def test_files_are_checked_as_the_upload_page_checks_them(cast, sign_in, settings):
    maple, maria = cast.organizations["maple"], cast.patients["maria"]
    client = sign_in(cast.users["park"], maple)
    before = _counts(maple)
    cases = [
        ("base64", _document(maria.uuid, b"", data="%%% not base64 %%%")),
        ("run code", _document(maria.uuid, pdf_with_javascript())),
        ("is not a PDF", _document(maria.uuid, b"plain text, not a PDF at all")),
        ("says image/png", _document(maria.uuid, pdf_bytes(), "image/png")),
        ("larger than 10 MB", _document(maria.uuid, b"%PDF-" + b"0" * (10 * 1024 * 1024 + 10))),
        ("a note's text", _document(maria.uuid, b"GIF89a....", "image/gif")),
        ("attachment.data", _document(maria.uuid, b"", data="")),
    ]
    for expected, sent in cases:
        refused = fhir_json(_post(client, transaction([sent], publish=True)), status=422)
        assert expected in refused["issue"][0]["diagnostics"], (expected, refused)
    assert _counts(maple) == before
    # In a batch: the bad file fails alone, the good one is kept.
    batch = fhir_json(
        _post(
            client,
            transaction([_document(maria.uuid, b"junk"), _document(maria.uuid, pdf_bytes())], kind="batch"),
        )
    )
    assert [e["response"]["status"] for e in batch["entry"]] == ["422 Unprocessable Entity", "201 Created"]
    assert _counts(maple)[1] == before[1] + 1


def _files_under(root):
    from pathlib import Path

    return sorted(str(path) for path in Path(root).rglob("*") if path.is_file())


def test_a_transaction_that_fails_after_a_file_was_written_leaves_no_file_behind(cast, sign_in, settings):
    maple, maria = cast.organizations["maple"], cast.patients["maria"]
    client = sign_in(cast.users["park"], maple)
    before, files_before = _counts(maple), _files_under(settings.MEDIA_ROOT)
    # The good PDF is written first; the second file is refused, and the whole Bundle with it.
    sent = transaction(
        [_document(maria.uuid, pdf_bytes("Written, then rolled back")), _document(maria.uuid, b"not a PDF at all")],
        publish=True,
    )
    refused = fhir_json(_post(client, sent), status=422)
    assert "is not a PDF" in refused["issue"][0]["diagnostics"]
    assert _counts(maple) == before
    assert _files_under(settings.MEDIA_ROOT) == files_before
    # In a batch, the good file stays (with its row) and the refused one leaves nothing.
    batch = fhir_json(_post(client, transaction(sent["entry"], kind="batch")))
    assert [e["response"]["status"] for e in batch["entry"]] == ["201 Created", "422 Unprocessable Entity"]
    assert len(_files_under(settings.MEDIA_ROOT)) == len(files_before) + 1
