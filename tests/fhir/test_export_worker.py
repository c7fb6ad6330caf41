"""A bulk export run by a real Celery worker: kick-off, progress while it runs, the manifest,
files whose every line parses, and the audit event; then the test removes what it made."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from portal.audit.models import AuditEvent
from portal.fhir.bulk.stream import folder_remove, job_folder
from portal.fhir.models import ExportJob
from tests.conftest import wait_for
from tests.fhir.helpers import validate

pytestmark = pytest.mark.worker


def test_the_worker_runs_an_export_to_its_manifest(committed, celery_worker, sign_in):
    cast = committed
    maria, park, maple = cast.patients["maria"], cast.users["park"], cast.organizations["maple"]
    client = sign_in(park, maple)
    response = client.get("/fhir/R4/Patient/$export", HTTP_PREFER="respond-async")
    assert response.status_code == 202
    status_path = urlparse(response["Content-Location"]).path
    job = ExportJob.objects.get(uuid=status_path.rsplit("/", 1)[1])
    try:
        answer = wait_for(lambda: (r := client.get(status_path)).status_code == 200 and r, timeout=60)
        body = json.loads(answer.content)
        job.refresh_from_db()
        assert job.status == "completed" and job.entries_done == job.entries_total > 0
        assert {part["type"] for part in body["output"]} >= {"Patient", "Condition", "Observation", "Provenance"}
        patients = set()
        for part in body["output"]:
            file = client.get(urlparse(part["url"]).path)
            assert file.status_code == 200 and file["Content-Type"] == "application/fhir+ndjson"
            resources = [json.loads(line) for line in b"".join(file.streaming_content).splitlines()]
            assert len(resources) == part["count"]
            for resource in resources:
                assert resource["resourceType"] == part["type"]
                validate(resource)
                if resource["resourceType"] == "Patient":
                    patients.add(resource["id"])
        assert str(maria.uuid) in patients
        event = AuditEvent.objects.get(action="export", object_id=f"$export {job.uuid}", data_owner=maple)
        assert event.actor == park and event.detail["client"] == "portal-session"
        assert str(maria.uuid) in event.detail["patients"]
    finally:
        folder_remove(job)
        assert not job_folder(job).exists()
        ExportJob.objects.filter(pk=job.pk).delete()


def test_the_worker_exports_an_api_clients_laboratory_observations_by_type_filter(committed, celery_worker):
    """An API client (system/Observation.rs) kicks off with _typeFilter; the real worker writes
    only the laboratory Observations; the files answer its token."""
    from urllib.parse import quote

    from django.test import Client

    from portal.fhir.models import ApiClient
    from tests.conftest import host_of
    from tests.fhir.clients import access_token, register

    cast = committed
    maple = cast.organizations["maple"]
    api_client = register(maple, cast.users["maple_admin"], "system/Observation.rs", name="Worker lab export")
    job = None
    try:
        token = access_token(Client(HTTP_HOST=host_of(maple)), maple, api_client, "system/Observation.rs")
        http = Client(HTTP_HOST=host_of(maple), HTTP_AUTHORIZATION=f"Bearer {token}")
        query = quote("Observation?category=laboratory", safe="")
        response = http.get(f"/fhir/R4/Patient/$export?_typeFilter={query}", HTTP_PREFER="respond-async")
        assert response.status_code == 202, response.content
        status_path = urlparse(response["Content-Location"]).path
        job = ExportJob.objects.get(uuid=status_path.rsplit("/", 1)[1])
        answer = wait_for(lambda: (r := http.get(status_path)).status_code == 200 and r, timeout=60)
        body = json.loads(answer.content)
        assert [part["type"] for part in body["output"]] == ["Observation"]
        file = http.get(urlparse(body["output"][0]["url"]).path)
        resources = [json.loads(line) for line in b"".join(file.streaming_content).splitlines()]
        assert resources and len(resources) == body["output"][0]["count"]
        for resource in resources:
            validate(resource)
            categories = {c["code"] for concept in resource.get("category", []) for c in concept.get("coding", [])}
            assert "laboratory" in categories
        event = AuditEvent.objects.get(action="export", object_id=f"$export {job.uuid}", data_owner=maple)
        assert event.detail["type_filters"] == {"Observation": ["category=laboratory"]}
        assert event.detail["client"] == f"client:{api_client.client_id}"
    finally:
        if job is not None:
            folder_remove(job)
            ExportJob.objects.filter(pk=job.pk).delete()
        ApiClient.objects.filter(pk=api_client.pk).delete()
