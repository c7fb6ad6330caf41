"""Importing transaction and batch Bundles: the mCODE round trip, drafts and publishing,
references, idempotency, the registration rules, and what an import refuses."""

from __future__ import annotations

import json

from portal.patients.models import NetworkPatient, RegistryEntry
from tests.fhir.bundles import mcode_breast_cancer, transaction
from tests.fhir.helpers import fhir_json, resources_of

FHIR = "application/fhir+json"


def post(client, bundle):
    return client.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR)


def _okafor(cast, sign_in):
    return sign_in(cast.users["okafor"], cast.organizations["northfield"])


def _codings(concept):
    return {(x["system"], x["code"]) for x in (concept or {}).get("coding", [])}


def _extension_codings(resource):
    return {pair for e in resource.get("extension", []) for pair in _codings(e.get("valueCodeableConcept"))}


def test_the_mcode_breast_cancer_record_round_trips(cast, sign_in):
    client = _okafor(cast, sign_in)
    entries, urls = mcode_breast_cancer()
    answer = fhir_json(post(client, transaction(entries, publish=True)))
    assert answer["type"] == "transaction-response"
    responses = [e["response"] for e in answer["entry"]]
    assert [r["status"] for r in responses] == ["201 Created"] * len(entries)
    patient_id = responses[0]["location"].split("/")[1]
    patient = NetworkPatient.objects.get(uuid=patient_id)
    # Shown on the chart.
    chart = client.get(f"/patients/{patient.uuid}/")
    assert chart.status_code == 200
    page = chart.content.decode()
    for text in ("Invasive ductal carcinoma of right breast", "IIB", "doxorubicin", "paclitaxel", "lumpectomy"):
        assert text in page, text
    # Read back with $everything: the same codes, values and profiles.
    everything = fhir_json(client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything"))
    read = {f"{r['resourceType']}/{r['id']}": r for r in resources_of(everything)}
    [read_patient] = resources_of(everything, "Patient")
    assert read_patient["name"][0]["family"] == "Brightwater" and read_patient["birthDate"] == "1968-05-14"
    assert {i["value"] for i in read_patient["identifier"]} == {"EHR-55501"}
    compared = 0
    for sent, response in zip(entries[1:], responses[1:], strict=True):
        resource = sent["resource"]
        location = response["location"].rsplit("/_history/", 1)[0]
        back = read[location]
        assert back["meta"]["profile"] == resource["meta"]["profile"], location
        if "code" in resource:
            assert _codings(resource["code"]) <= _codings(back["code"]), location
            assert resource["code"].get("text", back["code"].get("text")) == back["code"].get("text"), location
        assert _extension_codings(resource) <= _extension_codings(back), location
        for value in ("valueCodeableConcept", "valueInteger"):
            if value == "valueCodeableConcept" and value in resource:
                assert _codings(resource[value]) <= _codings(back[value]), location
            elif value in resource:
                assert back[value] == resource[value], location
        if "medicationCodeableConcept" in resource:
            assert back["medicationCodeableConcept"]["text"] == resource["medicationCodeableConcept"]["text"]
            assert back["status"] == resource["status"]
        if resource["resourceType"] == "Procedure":
            assert back["status"] == resource["status"]
            assert back["performedPeriod"] == resource["performedPeriod"]
        compared += 1
    assert compared == 15
    condition = read[responses[1]["location"].rsplit("/_history/", 1)[0]]
    assert condition["extension"][0]["valueCodeableConcept"]["text"] == "Invasive ductal carcinoma, grade 2"
    stage = read[responses[5]["location"].rsplit("/_history/", 1)[0]]
    assert [m["reference"] for m in stage["hasMember"]] == [
        r["location"].rsplit("/_history/", 1)[0] for r in responses[2:5]
    ]
    # Imported as Dr. Okafor's items of Northfield, published: each in the registry.
    assert RegistryEntry.objects.filter(patient=patient, organization=cast.organizations["northfield"]).count() == 6
