"""Bulk export by a backend client: narrowed to the types its scopes let it read, answered
only to it, and nothing of a patient its organization does not care for."""

from __future__ import annotations

from django.test import Client

from portal.fhir.models import ExportJob
from tests.conftest import host_of
from tests.fhir.clients import access_token, register
from tests.fhir.test_export import ASYNC, everything_exported, kickoff, maria_markers, run


def _bearer(organization, token):
    return Client(HTTP_HOST=host_of(organization), HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_client_with_observation_scopes_exports_observations_only(cast):
    maple = cast.organizations["maple"]
    registered = register(maple, cast.users["maple_admin"], "system/Observation.rs")
    token = access_token(Client(HTTP_HOST=host_of(maple)), maple, registered, "system/Observation.rs")
    client = _bearer(maple, token)

    # Asking for Conditions is refused; with no _type the export is narrowed to Observations.
    refused = client.get("/fhir/R4/Patient/$export?_type=Condition", **ASYNC)
    assert refused.status_code == 403
    status_path = kickoff(client)
    job = run(status_path)
    assert job.client_id == registered.client_id and job.requested_by is None
    exported = everything_exported(client, status_path)
    assert set(exported) == {"Observation"}
    assert exported["Observation"], "Maria's Observations shared with Maple"

    # Nobody else reads the job: not a person of Maple, not another client, not another address.
    other = register(maple, cast.users["maple_admin"], "system/*.read")
    other_token = access_token(Client(HTTP_HOST=host_of(maple)), maple, other, "system/*.read")
    assert _bearer(maple, other_token).get(status_path).status_code == 404
    assert _bearer(cast.organizations["cedarvalley"], token).get(status_path).status_code == 401


def test_cedar_valleys_client_exports_nothing_of_maria(cast):
    cedar = cast.organizations["cedarvalley"]
    registered = register(cedar, cast.users["cedarvalley_admin"], "system/*.read")
    token = access_token(Client(HTTP_HOST=host_of(cedar)), cedar, registered, "system/*.read")
    client = _bearer(cedar, token)
    status_path = kickoff(client)
    run(status_path)
    text = "".join(str(resources) for resources in everything_exported(client, status_path).values())
    for marker in maria_markers(cast):
        assert marker not in text
    assert ExportJob.objects.filter(client_id=registered.client_id).count() == 1
