"""Bulk export (Bulk Data 2.0): kick-off, status, NDJSON files, ``_type`` and ``_since``,
cancel, expiry, and who reaches what. The job runs here in the test's transaction (the
service the worker calls); test_export_worker.py has a real worker run one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.fhir.bulk.services import export_jobs_expire, export_run
from portal.fhir.bulk.stream import job_folder
from portal.fhir.models import ExportJob, ExportStatus
from portal.patients.models import PatientIdentifier, RegistryEntry
from portal.patients.selectors import patients_cared_for
from tests.fhir.helpers import fhir_json, validate

ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Any) -> Any:
    settings.FHIR_EXPORT_ROOT = tmp_path
    return tmp_path


def kickoff(client: Any, path: str = "/fhir/R4/Patient/$export", **extra: Any) -> str:
    response = client.get(path, **ASYNC, **extra)
    assert response.status_code == 202, response.content[:500]
    return urlparse(response["Content-Location"]).path


def job_of(status_path: str) -> ExportJob:
    return ExportJob.objects.get(uuid=status_path.rsplit("/", 1)[1])


def run(status_path: str) -> ExportJob:
    job = job_of(status_path)
    assert export_run(job_uuid=str(job.uuid)) == "completed"
    job.refresh_from_db()
    return job


def manifest(client: Any, status_path: str) -> dict[str, Any]:
    response = client.get(status_path)
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def lines(client: Any, url: str) -> list[dict[str, Any]]:
    response = client.get(urlparse(url).path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def everything_exported(client: Any, status_path: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for part in manifest(client, status_path)["output"]:
        resources = lines(client, part["url"])
        assert len(resources) == part["count"]
        assert {r["resourceType"] for r in resources} == {part["type"]}, "one type per file"
        found[part["type"]] = resources
    return found


def maria_markers(cast: Any) -> list[str]:
    maria = cast.patients["maria"]
    entries = RegistryEntry.objects.filter(patient=maria)
    mrns = PatientIdentifier.objects.filter(patient=maria).values_list("mrn", flat=True)
    return [str(maria.uuid), "Alvarez", *[str(e.uuid) for e in entries], *mrns]


def test_a_clinician_exports_the_patients_of_the_organization_and_every_line_parses(cast, sign_in):
    maria, park, maple = cast.patients["maria"], cast.users["park"], cast.organizations["maple"]
    client = sign_in(park, maple)
    status_path = kickoff(client)
    # Queued: 202 with its progress, and when to ask again.
    waiting = client.get(status_path)
    assert waiting.status_code == 202 and waiting["X-Progress"] == "queued" and waiting["Retry-After"]
    job = run(status_path)
    assert job.status == ExportStatus.COMPLETED

    body = manifest(client, status_path)
    assert body["requiresAccessToken"] is True and body["error"] == []
    assert body["request"].endswith("/fhir/R4/Patient/$export")
    assert body["transactionTime"].endswith("Z")
    exported = everything_exported(client, status_path)
    for resources in exported.values():
        for resource in resources:
            validate(resource)
    # Maria, her entries from Maple and Northfield (her record is shared with Maple), their
    # Provenance, her care team, and the organizations and people they name.
    assert str(maria.uuid) in {r["id"] for r in exported["Patient"]}
    ids = {r["id"] for resources in exported.values() for r in resources}
    assert {str(e.uuid) for e in RegistryEntry.objects.filter(patient=maria)} <= ids
    assert {"Condition", "Observation", "Provenance", "CareTeam", "Organization", "Practitioner"} <= set(exported)
    # Exactly the patients Maple cares for.
    cared_for = {str(u) for u in patients_cared_for(organization=maple).values_list("uuid", flat=True)}
    assert {r["id"] for r in exported["Patient"]} == cared_for
    # Each Organization and Practitioner is one the resources name.
    named = {ref for resources in exported.values() for r in resources for ref in _references(r, set())}
    assert {f"Organization/{r['id']}" for r in exported["Organization"]} <= named
    assert {f"Practitioner/{r['id']}" for r in exported["Practitioner"]} <= named

    # One audit event per organization whose data went out, naming the patients and the client.
    events = AuditEvent.objects.filter(action="export", object_id=f"$export {job.uuid}")
    assert set(events.values_list("data_owner__slug", flat=True)) >= {"maple", "northfield"}
    detail = events.first().detail
    assert detail["client"] == "portal-session" and str(maria.uuid) in detail["patients"]
    assert detail["patients_count"] == job.patients_count == len(exported["Patient"])
    assert events.first().actor == park


def _references(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.add(value["reference"])
        for item in value.values():
            _references(item, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, found)
    return found


def test_type_and_since_narrow_the_export(cast, sign_in):
    park, maple = cast.users["park"], cast.organizations["maple"]
    client = sign_in(park, maple)
    status_path = kickoff(client, "/fhir/R4/Patient/$export?_type=Observation,Patient")
    run(status_path)
    exported = everything_exported(client, status_path)
    assert set(exported) == {"Patient", "Observation"}

    maria = cast.patients["maria"]
    newest = RegistryEntry.objects.filter(patient=maria, organization=maple).order_by("-published_at").first()
    since = newest.published_at - dt.timedelta(seconds=1)
    RegistryEntry.objects.filter(patient=maria).exclude(pk=newest.pk).update(published_at=since - dt.timedelta(days=1))
    stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status_path = kickoff(
        client,
        f"/fhir/R4/Patient/$export?_since={stamp}&_type=Condition,Observation,Provenance,MedicationRequest,Procedure,AllergyIntolerance,MedicationStatement,DiagnosticReport,DocumentReference",
    )
    run(status_path)
    exported = everything_exported(client, status_path)
    provenance = exported["Provenance"]
    assert provenance and {p["target"][0]["reference"].split("/")[1][:36] for p in provenance} == {str(newest.uuid)}
    assert all(r["id"].startswith(str(newest.uuid)) for rs in exported.values() for r in rs)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("_typeFilter=Observation%3Fsubject%3Dx", "_typeFilter"),
        ("_type=Communication", "Communication"),
        ("_elements=id", "_elements"),
        ("_type=Nonsense", "Nonsense"),
        ("_since=yesterday", "_since"),
        ("_outputFormat=text/csv", "_outputFormat"),
        ("patient=Patient/x", "patient"),
    ],
)
def test_unsupported_parameters_are_a_400_operation_outcome_and_start_nothing(cast, sign_in, query, expected):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    before = ExportJob.objects.count()
    response = client.get(f"/fhir/R4/Patient/$export?{query}", **ASYNC)
    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome" and expected in body["issue"][0]["diagnostics"]
    assert ExportJob.objects.count() == before


def test_without_prefer_respond_async_nothing_starts(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    response = client.get("/fhir/R4/Patient/$export")
    assert response.status_code == 400 and "respond-async" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_an_unrelated_clinic_reaches_neither_status_nor_files_and_exports_nothing_of_maria(cast, sign_in, anonymous):
    park, maple = cast.users["park"], cast.organizations["maple"]
    chen, cedar = cast.users["chen"], cast.organizations["cedarvalley"]
    park_client = sign_in(park, maple)
    status_path = kickoff(park_client)
    run(status_path)
    files = [urlparse(part["url"]).path for part in manifest(park_client, status_path)["output"]]
    assert files

    outsiders = [
        sign_in(chen, cedar),  # another clinic, at its own address (the same path there)
        sign_in(cast.users["cedarvalley_admin"], cedar),
        sign_in(cast.users["maple_admin"], maple),  # the same organization, not the requester
        anonymous(maple),
    ]
    for client in outsiders:
        for path in [status_path, *files]:
            response = client.get(path)
            assert response.status_code in (401, 404), (path, response.status_code)
            assert "Alvarez" not in response.content.decode()
        assert client.delete(status_path).status_code in (401, 404)
    assert job_of(status_path).status == ExportStatus.COMPLETED
    assert job_folder(job_of(status_path)).is_dir()

    # Cedar Valley's own export: nothing of Maria.
    chen_client = sign_in(chen, cedar)
    own = kickoff(chen_client)
    run(own)
    text = json.dumps(everything_exported(chen_client, own))
    for marker in maria_markers(cast):
        assert marker not in text


def test_group_is_the_organizations_patients_and_exports_the_same(cast, sign_in):
    maria, park, maple = cast.patients["maria"], cast.users["park"], cast.organizations["maple"]
    client = sign_in(park, maple)
    group = json.loads(client.get(f"/fhir/R4/Group/{maple.uuid}").content)
    validate(group)
    members = {member["entity"]["reference"] for member in group["member"]}
    assert f"Patient/{maria.uuid}" in members and group["quantity"] == len(members)
    assert AuditEvent.objects.filter(actor=park, object_id=f"Group/{maple.uuid}").exists()

    status_path = kickoff(client, f"/fhir/R4/Group/{maple.uuid}/$export?_type=Patient")
    run(status_path)
    exported = everything_exported(client, status_path)
    assert {f"Patient/{p['id']}" for p in exported["Patient"]} == members

    # Another organization's Group is not there for Maple (read or export), nor Maple's for Cedar Valley.
    northfield, cedar = cast.organizations["northfield"], cast.organizations["cedarvalley"]
    assert client.get(f"/fhir/R4/Group/{northfield.uuid}").status_code == 404
    assert client.get(f"/fhir/R4/Group/{northfield.uuid}/$export", **ASYNC).status_code == 404
    chen_client = sign_in(cast.users["chen"], cedar)
    response = chen_client.get(f"/fhir/R4/Group/{maple.uuid}")
    assert response.status_code == 404 and str(maria.uuid) not in response.content.decode()


def test_a_site_admin_may_export_a_member_without_a_clinical_role_may_not(cast, sign_in):
    from portal.accounts.models import Membership

    maple = cast.organizations["maple"]
    admin_client = sign_in(cast.users["maple_admin"], maple)
    kickoff(admin_client)
    Membership.objects.filter(user=cast.users["park"], organization=maple).update(role="staff")
    before = ExportJob.objects.count()
    response = sign_in(cast.users["park"], maple).get("/fhir/R4/Patient/$export", **ASYNC)
    assert response.status_code == 403 and ExportJob.objects.count() == before


def test_delete_cancels_a_running_job_and_deletes_the_files(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    # A finished job: DELETE removes the files; status and files answer 404 afterwards.
    done = kickoff(client)
    run(done)
    files = [urlparse(part["url"]).path for part in manifest(client, done)["output"]]
    folder = job_folder(job_of(done))
    assert folder.is_dir()
    assert client.delete(done).status_code == 202
    assert not folder.exists()
    assert client.get(done).status_code == 404
    assert all(client.get(path).status_code == 404 for path in files)

    # A job cancelled before the worker reaches it never runs; one cancelled while it runs stops.
    queued = kickoff(client)
    assert client.delete(queued).status_code == 202
    assert export_run(job_uuid=str(job_of(queued).uuid)) == "ended"
    assert not job_folder(job_of(queued)).exists()

    from portal.fhir.bulk import stream

    running = kickoff(client)
    job = job_of(running)
    original = stream._check_running
    calls = {"n": 0}

    def cancel_midway(checked: ExportJob) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            client.delete(running)
        original(checked)

    stream._check_running = cancel_midway
    try:
        assert export_run(job_uuid=str(job.uuid)) == "cancelled"
    finally:
        stream._check_running = original
    assert not job_folder(job).exists()
    assert not AuditEvent.objects.filter(action="export", object_id=f"$export {job.uuid}").exists()


def test_too_many_unfinished_exports_answer_429(cast, sign_in, settings):
    settings.FHIR_EXPORT_ACTIVE_JOBS = 1
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    kickoff(client)
    response = client.get("/fhir/R4/Patient/$export", **ASYNC)
    assert response.status_code == 429 and response["Retry-After"]


def test_expired_exports_are_swept_with_their_files(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    status_path = kickoff(client)
    job = run(status_path)
    assert job.expires_at > timezone.now() + dt.timedelta(hours=23)
    folder = job_folder(job)
    assert export_jobs_expire() == 0 and folder.is_dir()
    assert export_jobs_expire(now=job.expires_at + dt.timedelta(seconds=1)) == 1
    assert not folder.exists() and not ExportJob.objects.filter(pk=job.pk).exists()
    assert client.get(status_path).status_code == 404


def test_metadata_names_the_bulk_export_operations(anonymous, cast):
    body = fhir_json(anonymous(cast.organizations["maple"]).get("/fhir/R4/metadata"))
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert "export" in {op["name"] for op in types["Patient"]["operation"]}
    assert types["Group"]["operation"][0]["definition"].endswith("/group-export")
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in body["instantiates"]
