"""Bulk export's ``_typeFilter``: the resources of a filtered type are written when they match
one of its queries (``Observation?category=laboratory``), their Provenance with them; a filter
this server cannot honour is a 400 that starts nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from portal.audit.models import AuditEvent
from portal.fhir.models import ExportJob
from tests.fhir.helpers import fhir_json
from tests.fhir.test_export import ASYNC, everything_exported, kickoff, run


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Any) -> Any:
    settings.FHIR_EXPORT_ROOT = tmp_path
    return tmp_path


def _categories(resource: dict[str, Any]) -> set[str]:
    return {coding["code"] for concept in resource.get("category", []) for coding in concept.get("coding", [])}


def test_type_filter_keeps_the_laboratory_observations_and_their_provenance(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    unfiltered = kickoff(client, "/fhir/R4/Patient/$export?_type=Observation,Provenance,Condition")
    run(unfiltered)
    every = everything_exported(client, unfiltered)
    labs = [r for r in every["Observation"] if "laboratory" in _categories(r)]
    assert labs and len(labs) < len(every["Observation"])  # stage, ECOG… are not laboratory

    query = quote("Observation?category=laboratory", safe="")
    filtered = kickoff(client, f"/fhir/R4/Patient/$export?_type=Observation,Provenance,Condition&_typeFilter={query}")
    job = run(filtered)
    assert job.type_filters == {"Observation": ["category=laboratory"]}
    exported = everything_exported(client, filtered)
    assert sorted(r["id"] for r in exported["Observation"]) == sorted(r["id"] for r in labs)
    assert exported["Condition"] == every["Condition"]  # an unfiltered type is whole
    # Provenance: never of an entry the filter left out whole.
    left_out = {f"Observation/{r['id']}" for r in every["Observation"]} - {f"Observation/{r['id']}" for r in labs}
    targets = set()
    for provenance in exported["Provenance"]:
        named = {target["reference"].split("/_history/")[0] for target in provenance["target"]}
        assert not named <= left_out, provenance["id"]
        targets |= named
    assert {f"Observation/{r['id']}" for r in labs} <= targets
    event = AuditEvent.objects.get(action="export", object_id=f"$export {job.uuid}", data_owner=job.organization)
    assert event.detail["type_filters"] == {"Observation": ["category=laboratory"]}

    # One lab test by its LOINC code: the other labs and their Provenance are left out.
    code = labs[0]["code"]["coding"][0]
    others = [r for r in labs if all(c["code"] != code["code"] for c in r["code"].get("coding", []))]
    assert others
    by_code = quote(f"Observation?code={code['system']}|{code['code']}", safe="")
    survey = quote("Observation?category=survey", safe="")
    either = kickoff(
        client, f"/fhir/R4/Patient/$export?_type=Observation,Provenance&_typeFilter={by_code}&_typeFilter={survey}"
    )
    run(either)
    chosen = everything_exported(client, either)
    assert {r["id"] for r in chosen["Observation"]} >= {r["id"] for r in labs if r not in others}
    assert all(
        "survey" in _categories(r) or any(c["code"] == code["code"] for c in r["code"].get("coding", []))
        for r in chosen["Observation"]
    )
    # A Provenance of an entry with Observations goes with one whose Observation was chosen.
    chosen_entries = {r["id"][:36] for r in chosen["Observation"]}
    observed = [p for p in chosen["Provenance"] if any(t["reference"].startswith("Observation/") for t in p["target"])]
    assert observed and all(p["id"][:36] in chosen_entries for p in observed)
    excluded = {r["id"][:36] for r in every["Observation"]} - chosen_entries
    assert excluded and not {p["id"][:36] for p in chosen["Provenance"]} & excluded


def test_a_type_filter_that_cannot_be_honoured_is_a_400_that_starts_nothing(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    before = ExportJob.objects.count()
    for path in (
        "/fhir/R4/Patient/$export?_type=Observation&_typeFilter=" + quote("Condition?category=problem-list-item"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Observation?subject=Patient/1"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Observation?category=laboratory&_sort=date"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Patient?birthdate=1960"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Claim?status=active"),
        "/fhir/R4/Patient/$export?_typeFilter=laboratory",
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Observation?date=yesterday"),
    ):
        refused = fhir_json(client.get(path, **ASYNC), status=400)
        assert refused["issue"][0]["diagnostics"].startswith("_typeFilter"), path
    assert ExportJob.objects.count() == before


def test_the_care_work_of_the_organization_is_exported_for_its_members_only(cast, sign_in):
    """Referrals (ServiceRequest and Task), care tasks (Task) and hand-offs (CarePlan) the
    organization takes part in, about the patients it cares for; not to an API client, and
    nothing of Maria's to Cedar Valley."""
    from django.db.models import Q
    from django.test import Client
    from django.utils import timezone

    from portal.care.models import CareTask, Handoff, Referral
    from portal.care.services import care_task_create, handoff_send
    from portal.patients.selectors import patients_cared_for
    from tests.care.helpers import maple_to_northfield
    from tests.conftest import host_of
    from tests.fhir.clients import access_token, register
    from tests.fhir.helpers import validate

    northfield, maria = cast.organizations["northfield"], cast.patients["maria"]
    maple, okafor = cast.organizations["maple"], cast.users["okafor"]
    maple_to_northfield(cast)
    care_task_create(
        user=okafor,
        organization=northfield,
        patient=maria,
        owner_organization=maple,
        title="CBC twice a week",
        code="58410-2",
        recurrence="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4",
        starts_at=timezone.now(),
    )
    handoff_send(
        user=okafor,
        organization=northfield,
        patient=maria,
        to_organization=maple,
        kind="survivorship",
        treatment_summary="AC-T completed",
        items=[{"section": "surveillance", "text": "Mammogram yearly", "responsible": "primary_care"}],
    )
    client = sign_in(okafor, northfield)
    status_path = kickoff(client, "/fhir/R4/Patient/$export?_type=ServiceRequest,Task,CarePlan,Practitioner")
    job = run(status_path)
    exported = everything_exported(client, status_path)
    for resources in exported.values():
        for resource in resources:
            validate(resource)
    cared_for = set(patients_cared_for(organization=northfield).values_list("pk", flat=True))
    referrals = Referral.objects.filter(
        Q(referring_organization=northfield) | Q(receiving_organization=northfield), patient__in=cared_for
    )
    tasks = CareTask.objects.filter(
        Q(owner_organization=northfield) | Q(creating_organization=northfield), patient__in=cared_for
    )
    handoffs = Handoff.objects.filter(
        Q(from_organization=northfield) | Q(to_organization=northfield), patient__in=cared_for
    )
    assert referrals.exists() and tasks.exists() and handoffs.exists()
    assert {r["id"] for r in exported["ServiceRequest"]} == {str(r.uuid) for r in referrals}
    task_ids = {r["id"] for r in exported["Task"]}
    assert {f"{r.uuid}-task" for r in referrals} <= task_ids
    assert {str(t.uuid) for t in tasks} <= task_ids
    assert {r["id"] for r in exported["CarePlan"]} == {str(h.uuid) for h in handoffs}
    assert str(maria.uuid) in {r["subject"]["reference"].split("/")[1] for r in exported["CarePlan"]}
    requesters = {r["requester"]["reference"] for r in exported["ServiceRequest"]}
    assert requesters <= {f"Practitioner/{p['id']}" for p in exported["Practitioner"]}
    event = AuditEvent.objects.get(action="export", object_id=f"$export {job.uuid}", data_owner=northfield)
    assert str(maria.uuid) in event.detail["patients"]

    # Cedar Valley takes no part in Maria's care: nothing of hers.
    cedar = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    theirs = kickoff(cedar, "/fhir/R4/Patient/$export?_type=ServiceRequest,Task,CarePlan")
    run(theirs)
    lines = [r for rs in everything_exported(cedar, theirs).values() for r in rs]
    assert str(maria.uuid) not in str(lines)

    # An API client: the care objects are not given to clients.
    api = register(northfield, cast.users["northfield_admin"], "system/*.read", name="Care export")
    token = access_token(Client(HTTP_HOST=host_of(northfield)), northfield, api, "system/*.read")
    bearer = Client(HTTP_HOST=host_of(northfield), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get("/fhir/R4/Patient/$export?_type=Task", **ASYNC).status_code == 403
    whole = kickoff(bearer, "/fhir/R4/Patient/$export")
    assert not {"ServiceRequest", "Task", "CarePlan"} & set(run(whole).types)
