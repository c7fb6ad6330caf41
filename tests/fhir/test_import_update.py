"""A PUT of something imported before (by the sender's id, by identifier, or by our own id)
with other content corrects the item: a new version in ``_history`` with an UPDATE
Provenance; the same PUT again changes nothing; only the owner organization changes it."""

from __future__ import annotations

import copy
import json
import uuid

from django.test import Client
from django_tenants.utils import schema_context

from portal.audit.models import AuditEvent
from portal.patients.models import NetworkPatient, RegistryEntry
from portal.records.models import ClinicalItem, ImportedResource
from tests.conftest import host_of
from tests.fhir.bundles import SENDER, mcode_breast_cancer, transaction
from tests.fhir.clients import access_token, register
from tests.fhir.helpers import fhir_json, resources_of

FHIR = "application/fhir+json"


def _post(http, bundle):
    return http.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR)


def _counts(organization):
    with schema_context(organization.schema_name):
        local = (ClinicalItem.objects.count(), ImportedResource.objects.count())
    return (*local, NetworkPatient.objects.count(), RegistryEntry.objects.count())


def _statuses(answer):
    return [e["response"]["status"] for e in answer["entry"]]


def _problem_bundle(patient_entry, text):
    problem = {
        "resourceType": "Condition",
        "id": "ehr-problem-9",
        "code": {"text": text},
        "subject": {"reference": patient_entry["fullUrl"]},
        "onsetDateTime": "2024-06-01",
    }
    put = {"resource": problem, "request": {"method": "PUT", "url": "Condition/ehr-problem-9"}}
    return transaction([patient_entry, put], publish=True)


def test_a_put_with_new_content_corrects_the_item_and_the_same_put_changes_nothing(cast, sign_in):
    northfield, okafor = cast.organizations["northfield"], cast.users["okafor"]
    client = sign_in(okafor, northfield)
    entries, _urls = mcode_breast_cancer(mrn="EHR-88001", given="Tamsin", family="Ward")
    first = fhir_json(_post(client, _problem_bundle(entries[0], "Essential hypertension")))
    assert _statuses(first) == ["201 Created", "201 Created"]
    location = first["entry"][1]["response"]["location"]
    entry_id = location.split("/")[1]
    assert location == f"Condition/{entry_id}/_history/1"
    before = _counts(northfield)
    again = fhir_json(_post(client, _problem_bundle(entries[0], "Essential hypertension")))
    assert _statuses(again) == ["200 OK", "200 OK"] and _counts(northfield) == before
    # The sender corrects its problem: a new version of the same entry.
    changed = fhir_json(_post(client, _problem_bundle(entries[0], "Hypertension, uncontrolled")))
    assert _statuses(changed) == ["200 OK", "200 OK"]
    assert changed["entry"][1]["response"]["location"] == f"Condition/{entry_id}/_history/2"
    assert "Corrected: version 2" in changed["entry"][1]["response"]["outcome"]["issue"][0]["diagnostics"]
    read = fhir_json(client.get(f"/fhir/R4/Condition/{entry_id}"))
    assert read["code"]["text"] == "Hypertension, uncontrolled" and read["meta"]["versionId"] == "2"
    history = fhir_json(client.get(f"/fhir/R4/Condition/{entry_id}/_history"))
    assert sorted(r["code"]["text"] for r in resources_of(history)) == [
        "Essential hypertension",
        "Hypertension, uncontrolled",
    ]
    assert fhir_json(client.get(f"/fhir/R4/Condition/{entry_id}/_history/1"))["code"]["text"] == (
        "Essential hypertension"
    )
    provenance = fhir_json(client.get(f"/fhir/R4/Provenance/{entry_id}-provenance"))
    assert provenance["activity"]["coding"][0]["code"] == "UPDATE"
    assert provenance["entity"] == [{"role": "revision", "what": {"reference": f"Condition/{entry_id}/_history/1"}}]
    registry = RegistryEntry.objects.get(uuid=entry_id)
    assert registry.version == 2 and registry.status == "amended"
    assert AuditEvent.objects.filter(object_type="item", action="update", detail__corrects=entry_id).count() == 1
    # Once more with the corrected content: nothing changes (still version 2).
    counted = _counts(northfield)
    same = fhir_json(_post(client, _problem_bundle(entries[0], "Hypertension, uncontrolled")))
    assert _statuses(same) == ["200 OK", "200 OK"]
    assert same["entry"][1]["response"]["location"] == f"Condition/{entry_id}/_history/2"
    assert _counts(northfield) == counted and RegistryEntry.objects.get(uuid=entry_id).version == 2
    # A change that does not validate: 422, nothing changed.
    broken = _problem_bundle(entries[0], "")
    assert fhir_json(_post(client, broken), status=422)["issue"][0]["code"]
    assert _counts(northfield) == counted and RegistryEntry.objects.get(uuid=entry_id).version == 2


def test_a_draft_put_again_is_changed_in_place(cast, sign_in):
    northfield = cast.organizations["northfield"]
    client = sign_in(cast.users["okafor"], northfield)
    entries, _urls = mcode_breast_cancer(mrn="EHR-88002", given="Odile", family="Marsh")
    bundle = _problem_bundle(entries[0], "Type 2 diabetes")
    del bundle["meta"]
    fhir_json(_post(client, bundle))
    bundle["entry"][1]["resource"]["code"]["text"] = "Type 2 diabetes, insulin-treated"
    before = _counts(northfield)
    answer = fhir_json(_post(client, bundle))
    assert _statuses(answer) == ["200 OK", "200 OK"] and "location" not in answer["entry"][1]["response"]
    assert _counts(northfield) == before
    with schema_context(northfield.schema_name):
        [item] = ClinicalItem.objects.filter(title__startswith="Type 2 diabetes")
        assert item.status == "draft" and item.title == "Type 2 diabetes, insulin-treated" and item.version == 1


def test_a_diagnosis_changes_as_a_whole_by_conditional_put(cast, sign_in):
    northfield = cast.organizations["northfield"]
    client = sign_in(cast.users["okafor"], northfield)
    entries, _urls = mcode_breast_cancer(mrn="EHR-88003", given="Perpetua", family="Lowe", prefix="lowe")
    first = fhir_json(_post(client, transaction(entries[:11], publish=True)))
    condition_id = first["entry"][1]["response"]["location"].split("/")[1]
    diagnosis = [copy.deepcopy(e) for e in entries[:11]]
    for sent in diagnosis[1:]:
        key = next(i["value"] for i in sent["resource"]["identifier"] if i["system"] == SENDER)
        sent["request"] = {"method": "PUT", "url": f"{sent['resource']['resourceType']}?identifier={SENDER}|{key}"}
    before = _counts(northfield)
    # Only part of it (the T category without its Condition's other parts): refused, nothing changed.
    partial = [diagnosis[0], diagnosis[1], diagnosis[2]]
    partial[2]["resource"]["valueCodeableConcept"]["coding"][0]["code"] = "cT3"
    refused = fhir_json(_post(client, transaction(partial, publish=True)), status=409)
    assert "changes as a whole" in refused["issue"][0]["diagnostics"]
    assert _counts(northfield) == before
    diagnosis[2]["resource"]["valueCodeableConcept"]["coding"][0]["code"] = "cT3"
    answer = fhir_json(_post(client, transaction(diagnosis, publish=True)))
    assert set(_statuses(answer)) == {"200 OK"}
    assert answer["entry"][1]["response"]["location"] == f"Condition/{condition_id}/_history/2"
    assert answer["entry"][2]["response"]["location"] == f"Observation/{condition_id}-t/_history/2"
    t_category = fhir_json(client.get(f"/fhir/R4/Observation/{condition_id}-t"))
    assert t_category["valueCodeableConcept"]["coding"][0]["code"] == "cT3"
    assert t_category["meta"]["versionId"] == "2"
    assert _counts(northfield)[0] == before[0] + 1 and _counts(northfield)[1:] == before[1:]
    # Posting the corrected diagnosis again changes nothing.
    counted = _counts(northfield)
    fhir_json(_post(client, transaction(diagnosis, publish=True)))
    assert _counts(northfield) == counted and RegistryEntry.objects.get(uuid=condition_id).version == 2


def _created_ids(answer):
    return [entry["response"]["location"].split("/")[1] for entry in answer["entry"]]


def test_only_the_owner_organization_changes_an_entry_by_its_id(cast, sign_in):
    maria = cast.patients["maria"]
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    problem = RegistryEntry.objects.filter(patient=maria, organization=northfield, kind="allergy").first()
    assert problem is not None
    sent = fhir_json(sign_in(cast.users["okafor"], northfield).get(f"/fhir/R4/AllergyIntolerance/{problem.uuid}"))
    del sent["meta"]
    sent["code"]["text"] = "Changed by someone else"
    bundle = transaction(
        [{"resource": sent, "request": {"method": "PUT", "url": f"AllergyIntolerance/{problem.uuid}"}}], publish=True
    )
    # Dr. Park of Maple cares for Maria and reads Northfield's entry, but cannot change it: to
    # Maple the id is a sender's id like any other, so his PUT creates Maple's own item, and
    # answers just as a PUT to an id nobody has does (nothing tells that the id exists).
    park = sign_in(cast.users["park"], maple)

    def northfields():
        return (*_counts(northfield)[:2], RegistryEntry.objects.filter(organization=northfield).count())

    before_maple, before_northfield = _counts(maple), northfields()
    created = fhir_json(_post(park, bundle), status=200)
    assert _statuses(created) == ["201 Created"] and _created_ids(created) != [str(problem.uuid)]
    nobodys = json.loads(json.dumps(bundle).replace(str(problem.uuid), str(uuid.uuid4())))
    assert _statuses(fhir_json(_post(park, nobodys), status=200)) == ["201 Created"]
    assert northfields() == before_northfield and _counts(maple)[0] == before_maple[0] + 2
    # A client of Maple's with every scope: the same (its PUT finds Park's import: unchanged).
    client = register(maple, cast.users["maple_admin"], "system/*.*", import_as=cast.users["park"])
    token = access_token(Client(HTTP_HOST=host_of(maple)), maple, client, "system/*.*")
    bearer = Client(HTTP_HOST=host_of(maple), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert _statuses(fhir_json(_post(bearer, bundle), status=200))[0] in {"200 OK", "201 Created"}
    assert northfields() == before_northfield
    problem.refresh_from_db()
    assert problem.version == 1 and problem.title != "Changed by someone else"
    # Northfield's own clinician corrects it by its id.
    okafor = sign_in(cast.users["okafor"], northfield)
    sent["code"]["text"] = "Changed by its owner"
    answer = fhir_json(_post(okafor, bundle))
    assert answer["entry"][0]["response"]["location"] == (
        f"AllergyIntolerance/{problem.uuid}/_history/{problem.version + 1}"
    )
    back = fhir_json(okafor.get(f"/fhir/R4/AllergyIntolerance/{problem.uuid}"))
    assert back["code"]["text"] == "Changed by its owner"


def test_a_clients_correction_needs_an_update_scope_and_names_the_client(cast, sign_in):
    maple, park, maria = cast.organizations["maple"], cast.users["park"], cast.patients["maria"]
    creator = register(maple, cast.users["maple_admin"], "system/Observation.c", import_as=park, name="Lab feed")
    updater = register(maple, cast.users["maple_admin"], "system/Observation.cu", import_as=park, name="Lab fixer")

    def bearer(client, scope):
        token = access_token(Client(HTTP_HOST=host_of(maple)), maple, client, scope)
        return Client(HTTP_HOST=host_of(maple), HTTP_AUTHORIZATION=f"Bearer {token}")

    def lab(value):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "identifier": [{"system": SENDER, "value": "hgb-20261120"}],
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}]},
            "subject": {"reference": f"Patient/{maria.uuid}"},
            "effectiveDateTime": "2026-11-20",
            "valueQuantity": {"value": value, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
        }
        request = {"method": "PUT", "url": f"Observation?identifier={SENDER}|hgb-20261120"}
        return transaction([{"resource": resource, "request": request}], publish=True)

    feed = bearer(creator, "system/Observation.c")
    created = fhir_json(_post(feed, lab(13.1)))
    assert _statuses(created) == ["201 Created"]
    lab_id = created["entry"][0]["response"]["location"].split("/")[1]
    before = _counts(maple)
    refused = fhir_json(_post(feed, lab(11.2)), status=403)
    assert "changing Observation" in refused["issue"][0]["diagnostics"]
    assert _counts(maple) == before
    assert fhir_json(_post(feed, lab(13.1)))["entry"][0]["response"]["status"] == "200 OK"  # unchanged: fine
    fixed = fhir_json(_post(bearer(updater, "system/Observation.cu"), lab(11.2)))
    assert fixed["entry"][0]["response"]["location"] == f"Observation/{lab_id}/_history/2"
    with schema_context(maple.schema_name):
        current = ClinicalItem.objects.get(previous_id=lab_id)
    assert current.via_client_id == updater.client_id and current.author == park
    provenance = fhir_json(sign_in(park, maple).get(f"/fhir/R4/Provenance/{lab_id}-provenance"))
    assert provenance["activity"]["coding"][0]["code"] == "UPDATE"
    informant = next(a for a in provenance["agent"] if a["type"]["coding"][0]["code"] == "informant")
    assert informant["who"]["identifier"]["value"] == updater.client_id
