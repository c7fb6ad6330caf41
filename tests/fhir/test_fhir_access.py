"""Who reads what at /fhir/R4/: the access rule of the pages, the same 404 for forbidden and
missing, and one audit event per patient and data owner for every answer with clinical data."""

import datetime as dt
import uuid

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.audit.models import AuditEvent
from portal.patients.models import CareRelationship, NetworkPatient, RegistryEntry
from portal.patients.services import care_relationship_end, emergency_access_request
from portal.records.services import item_create
from tests.conftest import host_of
from tests.fhir.helpers import fhir_json, resources_of

MARIA = {"given_name": "Maria", "family_name": "Alvarez", "date_of_birth": "1961-04-12", "sex": "female"}


def _everything(client, patient):
    return client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")


def _references(value, found):
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.add(value["reference"])
        for item in value.values():
            _references(item, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, found)
    return found


def _allowed_reads(user):
    return AuditEvent.objects.filter(actor=user, action="read", outcome="allowed", object_type="fhir")


def _northfield_and_maple_markers(cast):
    entries = RegistryEntry.objects.filter(patient=cast.patients["maria"]).exclude(
        organization=cast.organizations["cedarvalley"]
    )
    markers = {str(entry.uuid) for entry in entries}
    markers |= {str(cast.organizations[slug].uuid) for slug in ("northfield", "maple")}
    markers |= {"NCI-100234"}
    return markers


def test_everything_as_a_clinician_with_a_relationship(cast, sign_in):
    maria, park = cast.patients["maria"], cast.users["park"]
    client = sign_in(park, cast.organizations["maple"])
    body = fhir_json(_everything(client, maria))
    resources = resources_of(body)
    assert resources[0]["resourceType"] == "Patient" and resources[0]["id"] == str(maria.uuid)
    # Both organizations' entries, each with the profile it follows.
    entries = RegistryEntry.objects.filter(patient=maria)
    ids = {r["id"] for r in resources}
    assert {str(e.uuid) for e in entries} <= ids
    assert all(r["meta"].get("profile") for r in resources if r["resourceType"] not in ("Binary",))
    # Nothing about anyone else: every Patient reference is Maria.
    patients = {ref for ref in _references(resources, set()) if ref.startswith("Patient/")}
    assert patients == {f"Patient/{maria.uuid}"}
    # Organizations and Practitioners referenced are included, and only those.
    referenced = _references(resources, set())
    for resource in resources:
        if resource["resourceType"] in ("Organization", "Practitioner"):
            assert f"{resource['resourceType']}/{resource['id']}" in referenced
    # One audit event per organization whose data was returned, naming Maria and the client.
    events = _allowed_reads(park)
    assert {e.data_owner for e in events} == {cast.organizations["northfield"], cast.organizations["maple"]}
    assert all(e.patient == maria and not e.emergency and e.detail["client"] == "portal-session" for e in events)


def test_four_actors_and_nothing_read_on_refusal(cast, sign_in, anonymous):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    before = AuditEvent.objects.filter(outcome="allowed").count()
    refused = anonymous(maple).get(f"/fhir/R4/Patient/{maria.uuid}/$everything")
    assert refused.status_code == 401
    assert fhir_json(refused, 401)["issue"][0]["code"] == "login"
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert fhir_json(_everything(chen, maria), 404)["resourceType"] == "OperationOutcome"
    admin = sign_in(cast.users["maple_admin"], maple)  # a site admin: no clinical role
    assert fhir_json(_everything(admin, maria), 404)["issue"][0]["code"] == "not-found"
    # Forbidden and missing read the same.
    missing = fhir_json(_everything(chen, NetworkPatient(uuid=uuid.uuid4())), 404)
    assert missing == fhir_json(_everything(chen, maria), 404)
    assert AuditEvent.objects.filter(outcome="allowed").count() == before
    assert AuditEvent.objects.filter(actor=cast.users["chen"], outcome="denied").exists()
    park = sign_in(cast.users["park"], maple)
    assert _everything(park, maria).status_code == 200


def test_a_clinician_without_a_relationship_reads_nothing_by_any_route(cast, sign_in):
    maria = cast.patients["maria"]
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    entry = RegistryEntry.objects.filter(patient=maria, kind="lab_result").first()
    diagnosis = RegistryEntry.objects.filter(patient=maria, kind="cancer_diagnosis").first()
    for path in (
        f"/fhir/R4/Patient/{maria.uuid}",
        f"/fhir/R4/Observation/{entry.uuid}",
        f"/fhir/R4/Observation/{diagnosis.uuid}-stage",
        f"/fhir/R4/Observation/{entry.uuid}/_history",
        f"/fhir/R4/Provenance/{entry.uuid}-provenance",
        f"/fhir/R4/CareTeam/{maria.uuid}-careteam",
        f"/fhir/R4/Observation?patient={maria.uuid}",
    ):
        assert chen.get(path).status_code == 404, path
    found = fhir_json(chen.get("/fhir/R4/Patient?identifier=NCI-100234"))
    assert found["total"] == 0 and found["entry"] == []
    assert not _allowed_reads(cast.users["chen"]).exists()


def test_emergency_access_opens_everything_and_is_flagged(cast, sign_in):
    maria, chen = cast.patients["maria"], cast.users["chen"]
    emergency_access_request(
        user=chen,
        organization=cast.organizations["cedarvalley"],
        given_name="Maria",
        family_name="Alvarez",
        date_of_birth=dt.date(1961, 4, 12),
        reason="Unconscious in our clinic, oncology history unknown",
    )
    client = sign_in(chen, cast.organizations["cedarvalley"])
    resources = resources_of(fhir_json(_everything(client, maria)))
    assert {str(e.uuid) for e in RegistryEntry.objects.filter(patient=maria)} <= {r["id"] for r in resources}
    events = _allowed_reads(chen)
    assert events.exists() and all(e.emergency for e in events)
    assert {e.data_owner for e in events} >= {cast.organizations["northfield"], cast.organizations["maple"]}


def test_after_the_relationship_ended_everything_is_404(cast, sign_in):
    maria, maple, park = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    client = sign_in(park, maple)
    assert _everything(client, maria).status_code == 200
    for relationship in CareRelationship.objects.active().filter(patient=maria, organization=maple):
        care_relationship_end(relationship=relationship, ended_by=cast.users["maple_admin"])
    reads = _allowed_reads(park).count()
    assert fhir_json(_everything(client, maria), 404)["issue"][0]["code"] == "not-found"
    assert client.get(f"/fhir/R4/Observation?patient={maria.uuid}").status_code == 404
    assert _allowed_reads(park).count() == reads


def test_a_registration_opens_only_the_registering_organizations_entries(cast, sign_in):
    maria, cedar, chen = cast.patients["maria"], cast.organizations["cedarvalley"], cast.users["chen"]
    client = sign_in(chen, cedar)
    assert client.post("/patients/register/", {**MARIA, "mrn": "CVC-4242"}).status_code in (200, 302)
    with schema_context(cedar.schema_name):
        item_create(
            user=chen,
            organization=cedar,
            patient=maria,
            kind="problem",
            values={
                "effective_date": timezone.localdate().isoformat(),
                "name": "Hypertension",
                "icd10": "I10",
                "problem_status": "active",
            },
            publish=True,
        )
    response = _everything(client, maria)
    body = fhir_json(response)
    content = response.content.decode()
    markers = _northfield_and_maple_markers(cast)
    assert sorted(marker for marker in markers if marker in content) == []
    own = RegistryEntry.objects.get(patient=maria, organization=cedar)
    resources = resources_of(body)
    assert str(own.uuid) in {r["id"] for r in resources}
    [patient] = resources_of(body, "Patient")
    assert [i["value"] for i in patient["identifier"]] == ["CVC-4242"]
    [team] = resources_of(body, "CareTeam")
    assert {p["member"]["reference"] for p in team["participant"]} <= {
        f"Organization/{cedar.uuid}",
        f"Practitioner/{__import__('portal.fhir.mapping', fromlist=['x']).practitioner_id(chen.pk)}",
    }
    # Nobody else's data was read; Cedar Valley's own read is audited.
    assert {e.data_owner for e in _allowed_reads(chen)} == {cedar}
    # A search and a read of another organization's entry stay closed.
    northfield_lab = RegistryEntry.objects.filter(patient=maria, organization=cast.organizations["northfield"]).first()
    assert client.get(f"/fhir/R4/Observation/{northfield_lab.uuid}").status_code == 404
    labs = fhir_json(client.get(f"/fhir/R4/Observation?patient={maria.uuid}"))
    assert labs["total"] == 0


def test_provenance_and_care_team_never_pull_in_another_patient(cast, sign_in):
    maria, park, maple = cast.patients["maria"], cast.users["park"], cast.organizations["maple"]
    other = (
        NetworkPatient.objects.filter(care_relationships__organization=maple).exclude(pk=maria.pk).distinct().first()
    )
    assert other is not None
    client = sign_in(park, maple)
    for path in (
        f"/fhir/R4/Provenance?patient={maria.uuid}",
        f"/fhir/R4/CareTeam?patient={maria.uuid}",
        f"/fhir/R4/Observation?patient={maria.uuid}&_revinclude=Provenance:target&_count=500",
    ):
        body = fhir_json(client.get(path))
        references = _references(resources_of(body), set())
        assert f"Patient/{other.uuid}" not in references
        assert {r for r in references if r.startswith("Patient/")} <= {f"Patient/{maria.uuid}"}
        own_ids = {f"{r['resourceType']}/{r['id']}" for r in resources_of(body)}
        for provenance in resources_of(body, "Provenance"):
            for target in provenance["target"]:
                resource_ref = target["reference"].split("/_history/")[0]
                entry_uuid = resource_ref.split("/", 1)[1][:36]
                assert RegistryEntry.objects.get(uuid=entry_uuid).patient == maria
        assert own_ids
    # A Provenance or CareTeam asked for by id under another patient's id answers 404.
    other_entry = RegistryEntry.objects.exclude(patient=maria).filter(organization=maple).first()
    if other_entry is not None:
        wrong = client.get(f"/fhir/R4/Provenance?patient={maria.uuid}&_id={other_entry.uuid}-provenance")
        assert fhir_json(wrong)["total"] == 0


def test_the_portal_session_works_with_its_csrf_token_for_a_post_search(cast):
    from portal.accounts.middleware import SESSION_SCHEMA_KEY
    from tests.conftest import second_factor_session

    maria, maple, park = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    client = Client(HTTP_HOST=host_of(maple), enforce_csrf_checks=True)
    with schema_context(maple.schema_name):
        client.force_login(park, backend="portal.accounts.backends.OrganizationMembershipBackend")
        session = client.session
        session[SESSION_SCHEMA_KEY] = maple.schema_name
        session.update(second_factor_session(park))
        session.save()
    assert client.get("/fhir/R4/metadata").status_code == 200
    refused = client.post("/fhir/R4/Observation/_search", {"patient": str(maria.uuid)})
    assert fhir_json(refused, 403)["resourceType"] == "OperationOutcome"
    client.get("/patients/")  # the page sets the csrftoken cookie, as in the browser
    token = client.cookies["csrftoken"].value
    answered = client.post("/fhir/R4/Observation/_search", {"patient": str(maria.uuid)}, HTTP_X_CSRFTOKEN=token)
    assert fhir_json(answered)["total"] > 0


def test_errors_are_operation_outcomes(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    maria = cast.patients["maria"]
    assert fhir_json(park.get("/fhir/R4/Nonsense/abc"), 404)["issue"][0]["code"] == "not-supported"
    assert fhir_json(park.get("/fhir/R4/Patient/not-an-id"), 404)["issue"][0]["code"] == "not-found"
    assert fhir_json(park.get("/fhir/R4/a/b/c/d/e"), 404)["resourceType"] == "OperationOutcome"
    assert fhir_json(park.delete(f"/fhir/R4/Patient/{maria.uuid}"), 405)["resourceType"] == "OperationOutcome"
    assert (
        fhir_json(park.get(f"/fhir/R4/Observation?patient={maria.uuid}&_count=many"), 400)["issue"][0]["code"]
        == "invalid"
    )
    assert fhir_json(park.get("/fhir/R4/Observation"), 400)["issue"][0]["code"] == "required"
    assert fhir_json(park.get(f"/fhir/R4/Observation?patient={maria.uuid}&date=yesterday"), 400)
    # POST / takes transaction and batch Bundles (tests/fhir/test_import.py); anything else is a 400.
    assert (
        fhir_json(park.post("/fhir/R4/", {}, content_type="application/fhir+json"), 400)["issue"][0]["code"]
        == "invalid"
    )


def test_metadata_lists_resources_profiles_search_parameters_and_operations(anonymous, cast):
    body = fhir_json(anonymous(cast.organizations["maple"]).get("/fhir/R4/metadata"))
    assert body["fhirVersion"] == "4.0.1" and body["kind"] == "instance"
    [rest] = body["rest"]
    types = {r["type"]: r for r in rest["resource"]}
    assert {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "Procedure",
        "DiagnosticReport",
        "DocumentReference",
        "Provenance",
        "Task",
        "ServiceRequest",
        "CarePlan",
        "Communication",
        "CareTeam",
        "AuditEvent",
        "Binary",
    } <= set(types)
    assert (
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-tnm-stage-group"
        in types["Observation"]["supportedProfile"]
    )
    assert {p["name"] for p in types["Observation"]["searchParam"]} >= {
        "patient",
        "category",
        "code",
        "date",
        "_lastUpdated",
        "_id",
    }
    assert types["Observation"]["searchInclude"] == ["Observation:has-member"]
    assert "Provenance:target" in types["Condition"]["searchRevInclude"]
    assert types["Patient"]["operation"][0]["name"] == "everything"


def test_audit_events_are_for_site_admins_only(cast, sign_in):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    fhir_json(_everything(park, maria))
    assert fhir_json(park.get("/fhir/R4/AuditEvent"), 404)["issue"][0]["code"] == "not-found"
    admin = sign_in(cast.users["maple_admin"], maple)
    body = fhir_json(admin.get(f"/fhir/R4/AuditEvent?patient={maria.uuid}&_count=5"))
    events = resources_of(body, "AuditEvent")
    assert events and all(e["entity"][0]["what"]["reference"] == f"Patient/{maria.uuid}" for e in events)
    assert fhir_json(admin.get(f"/fhir/R4/AuditEvent/{events[0]['id']}"))["id"] == events[0]["id"]
    chen_admin = sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"])
    assert fhir_json(chen_admin.get(f"/fhir/R4/AuditEvent/{events[0]['id']}"), 404)


def test_patients_are_searched_among_those_one_may_see(cast, sign_in):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    by_mrn = fhir_json(park.get("/fhir/R4/Patient?identifier=MFM-55871"))
    assert [r["id"] for r in resources_of(by_mrn)] == [str(maria.uuid)]
    by_id = fhir_json(park.get(f"/fhir/R4/Patient?_id={maria.uuid}"))
    assert by_id["total"] == 1
    by_birth = fhir_json(park.get("/fhir/R4/Patient?birthdate=1961-04-12"))
    assert str(maria.uuid) in {r["id"] for r in resources_of(by_birth)}
    assert fhir_json(park.get("/fhir/R4/Patient"), 400)["issue"][0]["code"] == "required"
    assert _allowed_reads(cast.users["park"]).filter(patient=maria).exists()


def test_a_session_without_its_second_factor_gets_an_operation_outcome(cast):
    maple, park = cast.organizations["maple"], cast.users["park"]
    from portal.accounts.middleware import SESSION_SCHEMA_KEY

    client = Client(HTTP_HOST=host_of(maple))
    with schema_context(maple.schema_name):
        client.force_login(park, backend="portal.accounts.backends.OrganizationMembershipBackend")
        session = client.session
        session[SESSION_SCHEMA_KEY] = maple.schema_name
        session.save()
    refused = client.get(f"/fhir/R4/Patient/{cast.patients['maria'].uuid}/$everything")
    assert fhir_json(refused, 403)["issue"][0]["code"] == "login"
    assert not _allowed_reads(park).exists()
