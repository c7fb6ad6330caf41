"""API clients import: a backend client with write scopes imports for the clinician its site
admin named, narrowed by its scopes, under the registration rules of the pages, and the
record and the access log name the client."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import schema_context

from portal.accounts.models import Membership, MembershipStatus
from portal.audit.models import AuditEvent
from portal.fhir import codes as c
from portal.fhir.mapping import API_CLIENT_SYSTEM
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier, RegistryEntry
from portal.records.models import ClinicalItem, ImportedResource
from tests.conftest import host_of
from tests.fhir.bundles import entry, mcode_breast_cancer, transaction
from tests.fhir.clients import access_token, register
from tests.fhir.helpers import fhir_json, resources_of

FHIR = "application/fhir+json"


def _bearer(organization, token):
    return Client(HTTP_HOST=host_of(organization), HTTP_AUTHORIZATION=f"Bearer {token}")


def _post(http, bundle):
    return http.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR)


def _token(organization, client, scope):
    return access_token(Client(HTTP_HOST=host_of(organization)), organization, client, scope)


def _counts(organization):
    with schema_context(organization.schema_name):
        local = (ClinicalItem.objects.count(), ImportedResource.objects.count())
    return (
        *local,
        NetworkPatient.objects.count(),
        PatientIdentifier.objects.count(),
        CareRelationship.objects.count(),
        RegistryEntry.objects.count(),
    )


def _lab(patient_reference, *, value=13.1, key=None):
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": c.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": c.LOINC, "code": "718-7", "display": "Hemoglobin"}], "text": "Hemoglobin"},
        "subject": {"reference": patient_reference},
        "effectiveDateTime": "2026-11-20",
        "valueQuantity": {"value": value, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
    }
    return entry(resource, key=key)


def _problem(patient_reference, text="Essential hypertension"):
    return entry(
        {
            "resourceType": "Condition",
            "code": {"text": text},
            "subject": {"reference": patient_reference},
            "onsetDateTime": "2024-06-01",
        }
    )


def test_a_client_that_writes_names_a_clinician_who_authors_here(cast):
    maple, admin = cast.organizations["maple"], cast.users["maple_admin"]
    with pytest.raises(ValidationError) as nobody:
        register(maple, admin, "system/Observation.cu")
    assert "import_as" in nobody.value.message_dict
    for wrong in (cast.users["maple_admin"], cast.users["okafor"]):  # no author role; another organization's
        with pytest.raises(ValidationError) as refused:
            register(maple, admin, "system/*.write", import_as=wrong)
        assert "import_as" in refused.value.message_dict
    client = register(maple, admin, "system/*.write system/*.read", import_as=cast.users["park"])
    assert client.import_as == cast.users["park"]
    assert register(maple, admin, "system/*.read", name="Reader").import_as is None


def test_the_admin_page_registers_a_client_that_imports_for_a_clinician(cast, sign_in):
    from tests.fhir.clients import jwks_of, rsa_key

    maple, park = cast.organizations["maple"], cast.users["park"]
    page = sign_in(cast.users["maple_admin"], maple)
    form = page.get("/admin/api-clients/register/").content.decode()
    assert "Imports on behalf of" in form and park.display_name in form
    assert cast.users["okafor"].display_name not in form  # another organization's clinician is not offered
    data = {"name": "Maple lab feed", "scopes": "system/Observation.cu", "jwks": json.dumps(jwks_of(rsa_key()))}
    refused = page.post("/admin/api-clients/register/", data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and b"imports on behalf of a clinician" in refused.content
    answered = page.post("/admin/api-clients/register/", {**data, "import_as": park.pk}, HTTP_HX_REQUEST="true")
    assert answered.status_code == 200 and f"Imports for {park.display_name}".encode() in answered.content


def test_a_client_imports_for_its_clinician_and_the_record_names_the_client(cast):
    maple, park, maria = cast.organizations["maple"], cast.users["park"], cast.patients["maria"]
    client = register(maple, cast.users["maple_admin"], "system/*.write system/*.read", import_as=park)
    http = _bearer(maple, _token(maple, client, "system/*.write system/*.read"))
    answer = fhir_json(_post(http, transaction([_lab(f"Patient/{maria.uuid}", key="lab-1")], publish=True)))
    [response] = [e["response"] for e in answer["entry"]]
    assert response["status"] == "201 Created"
    lab_id = response["location"].split("/")[1]
    with schema_context(maple.schema_name):
        item = ClinicalItem.objects.get(pk=lab_id)
    assert item.author == park and item.status == "published"
    assert (item.via_client_id, item.via_client_name) == (client.client_id, client.name)
    # The Provenance names the client, on behalf of the clinician, and the owner organization.
    provenance = fhir_json(http.get(f"/fhir/R4/Provenance/{lab_id}-provenance"))
    agents = {a["type"]["coding"][0]["code"]: a for a in provenance["agent"]}
    assert agents["author"]["who"]["reference"].startswith("Practitioner/")
    assert agents["informant"]["who"]["type"] == "Device"
    assert agents["informant"]["who"]["identifier"] == {"system": API_CLIENT_SYSTEM, "value": client.client_id}
    assert agents["informant"]["onBehalfOf"] == agents["author"]["who"]
    assert agents["custodian"]["who"]["reference"] == f"Organization/{maple.uuid}"
    # The access log names the client: the import, and the item's create and publish.
    imported = AuditEvent.objects.get(object_type="fhir", object_id="import transaction", patient=maria)
    assert imported.actor_label == client.label and imported.actor is None
    assert imported.detail["client"] == f"client:{client.client_id}" and imported.detail["on_behalf_of"] == park.email
    item_events = AuditEvent.objects.filter(object_type="item", object_id=lab_id)
    assert {e.action for e in item_events} == {"create", "publish"}
    assert all(e.actor == park and client.label in e.actor_label for e in item_events)


def test_scopes_narrow_an_import_transaction_all_or_nothing_batch_per_entry(cast):
    maple, park, maria = cast.organizations["maple"], cast.users["park"], cast.patients["maria"]
    client = register(maple, cast.users["maple_admin"], "system/Observation.cu", import_as=park)
    http = _bearer(maple, _token(maple, client, "system/Observation.cu"))
    before = _counts(maple)
    subject = f"Patient/{maria.uuid}"
    refused = fhir_json(_post(http, transaction([_lab(subject), _problem(subject)], publish=True)), status=403)
    assert refused["issue"][0]["code"] == "forbidden"
    assert refused["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert "system/Observation.cu" in refused["issue"][0]["diagnostics"]
    assert "Condition" in refused["issue"][0]["diagnostics"]
    assert _counts(maple) == before
    # A Patient (a registration) and a resource type we do not keep are refused alike.
    encounter = entry({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}})
    patient_entries, _urls = mcode_breast_cancer(mrn="EHR-77001", given="Ines", family="Quarry")
    for extra in (patient_entries[0], encounter):
        assert fhir_json(_post(http, transaction([_lab(subject), extra])), status=403)["issue"][0]["code"] == (
            "forbidden"
        )
    assert _counts(maple) == before
    batch = fhir_json(_post(http, transaction([_lab(subject), _problem(subject), encounter], kind="batch")))
    statuses = [e["response"]["status"] for e in batch["entry"]]
    assert statuses == ["201 Created", "403 Forbidden", "403 Forbidden"]
    assert batch["entry"][1]["response"]["outcome"]["issue"][0]["code"] == "forbidden"
    with schema_context(maple.schema_name):
        assert ClinicalItem.objects.count() == before[0] + 1
        assert ClinicalItem.objects.filter(kind="lab_result", via_client_id=client.client_id).count() == 1


def test_a_client_without_writes_or_whose_clinician_left_imports_nothing(cast):
    maple, park, maria = cast.organizations["maple"], cast.users["park"], cast.patients["maria"]
    reader = register(maple, cast.users["maple_admin"], "system/*.read", name="Reader")
    bundle = transaction([_lab(f"Patient/{maria.uuid}")])
    before = _counts(maple)
    refused = fhir_json(_post(_bearer(maple, _token(maple, reader, "system/*.read")), bundle), status=403)
    assert "allow no writes" in refused["issue"][0]["diagnostics"]
    writer = register(maple, cast.users["maple_admin"], "system/*.write", import_as=park)
    http = _bearer(maple, _token(maple, writer, "system/*.write"))
    Membership.objects.filter(user=park, organization=maple).update(status=MembershipStatus.SUSPENDED)
    left = fhir_json(_post(http, bundle), status=403)
    assert (
        "no longer authors" in left["issue"][0]["diagnostics"]
        and "site admin names another" in (left["issue"][0]["diagnostics"])
    )
    assert _counts(maple) == before
    # A token of the client at another organization's address: 401, nothing written.
    cedar = cast.organizations["cedarvalley"]
    token = _token(maple, writer, "system/*.write")
    Membership.objects.filter(user=park, organization=maple).update(status=MembershipStatus.ACTIVE)
    assert _post(_bearer(cedar, token), bundle).status_code == 401
    assert _counts(maple) == before and _counts(cedar) == _counts(cedar)


def test_an_unrelated_clinics_client_gains_nothing_by_importing_a_patient_known_elsewhere(cast):
    """Cedar Valley's client imports a Patient with Maria Alvarez's name, birth date and sex:
    the registration rules link her to Cedar Valley's own registration, which opens only Cedar
    Valley's own entries — nothing of Northfield's or Maple's, in the answer or afterwards."""
    cedar, chen, maria = cast.organizations["cedarvalley"], cast.users["chen"], cast.patients["maria"]
    client = register(cedar, cast.users["cedarvalley_admin"], "system/*.*", import_as=chen)
    http = _bearer(cedar, _token(cedar, client, "system/*.*"))
    assert RegistryEntry.objects.filter(patient=maria).exclude(organization=cedar).count() > 0
    # Before: Maria is not Cedar Valley's patient.
    assert fhir_json(http.get(f"/fhir/R4/Patient/{maria.uuid}"), status=404)
    entries, _urls = mcode_breast_cancer(
        mrn="CV-77002",
        given=maria.given_name,
        family=maria.family_name,
        birth=maria.date_of_birth.isoformat(),
        gender=maria.sex,
    )
    answer = fhir_json(_post(http, transaction(entries[:2], publish=True)))
    assert answer["entry"][0]["response"] == {"status": "201 Created", "location": f"Patient/{maria.uuid}"}
    assert "Northfield" not in json.dumps(answer) and "NCI-" not in json.dumps(answer)
    everything = fhir_json(http.get(f"/fhir/R4/Patient/{maria.uuid}/$everything"))
    owners = {r["agent"][-1]["who"]["reference"] for r in resources_of(everything, "Provenance")}
    assert owners == {f"Organization/{cedar.uuid}"}
    [patient] = resources_of(everything, "Patient")
    assert {i["value"] for i in patient["identifier"]} == {"CV-77002"}
    theirs = RegistryEntry.objects.filter(patient=maria).exclude(organization=cedar)
    for entry_row in theirs[:5]:
        kind = "Observation" if entry_row.kind == "lab_result" else "Condition"
        assert http.get(f"/fhir/R4/{kind}/{entry_row.uuid}").status_code in (403, 404)
    found = fhir_json(http.get(f"/fhir/R4/Observation?patient={maria.uuid}&_count=500"))
    assert {r["id"] for r in resources_of(found)} & {str(e.uuid) for e in theirs} == set()
