"""Importing transaction and batch Bundles: the mCODE round trip, drafts and publishing,
references, idempotency, the registration rules, and what an import refuses."""

from __future__ import annotations

import json

from portal.fhir import codes as c
from portal.fhir.importing.inverse import IMPORT_TAG_SYSTEM
from portal.patients.models import NetworkPatient, RegistryEntry
from portal.records.models import ClinicalItem
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


def _counts(organization):
    from django_tenants.utils import schema_context

    from portal.patients.models import CareRelationship, PatientIdentifier, PatientMatchCandidate
    from portal.records.models import ImportedResource

    with schema_context(organization.schema_name):
        local = (ClinicalItem.objects.count(), ImportedResource.objects.count())
    return (
        *local,
        NetworkPatient.objects.count(),
        PatientIdentifier.objects.count(),
        CareRelationship.objects.count(),
        RegistryEntry.objects.count(),
        PatientMatchCandidate.objects.count(),
    )


def test_items_are_drafts_unless_the_bundle_asks_to_publish(cast, sign_in):
    client = _okafor(cast, sign_in)
    entries, _urls = mcode_breast_cancer(mrn="EHR-61000", given="Noor", family="Halloway")
    answer = fhir_json(post(client, transaction(entries)))
    responses = [e["response"] for e in answer["entry"]]
    assert all("location" not in r for r in responses[1:])
    assert "draft" in responses[1]["outcome"]["issue"][0]["diagnostics"]
    patient = NetworkPatient.objects.get(uuid=responses[0]["location"].split("/")[1])
    assert not RegistryEntry.objects.filter(patient=patient).exists()
    from django_tenants.utils import schema_context

    with schema_context(cast.organizations["northfield"].schema_name):
        items = ClinicalItem.objects.filter(patient=patient)
        assert {i.status for i in items} == {"draft"} and items.count() == 6
        diagnosis = items.get(kind="cancer_diagnosis")
    assert diagnosis.data["stage_group"] == "IIB" and diagnosis.data["stage_t"] == "2"
    assert (diagnosis.data["er"], diagnosis.data["pr"], diagnosis.data["her2"]) == ("positive", "positive", "negative")
    assert diagnosis.data["ecog"] == 1 and diagnosis.data["disease_status"] == "responding"
    assert diagnosis.author == cast.users["okafor"]


def test_a_transaction_whose_last_entry_is_invalid_leaves_nothing(cast, sign_in):
    client = _okafor(cast, sign_in)
    northfield = cast.organizations["northfield"]
    entries, _urls = mcode_breast_cancer(mrn="EHR-62000", given="Tobias", family="Wrenfield")
    entries[-1]["resource"]["status"] = "bogus"  # R4B parses it; our required-binding check does not
    before = _counts(northfield)
    refused = post(client, transaction(entries, publish=True))
    outcome = fhir_json(refused, status=422)
    issue = outcome["issue"][0]
    assert issue["expression"] == [f"Bundle.entry[{len(entries) - 1}].resource.status"]
    assert "bogus" in issue["diagnostics"]
    assert _counts(northfield) == before
    # A resource that does not parse is named the same way.
    entries[-1]["resource"]["status"] = "completed"
    entries[-1]["resource"]["performedPeriod"] = {"start": "not a date"}
    outcome = fhir_json(post(client, transaction(entries)), status=422)
    assert outcome["issue"][0]["expression"][0].startswith(f"Bundle.entry[{len(entries) - 1}].resource.performedPeriod")
    assert _counts(northfield) == before


def test_a_reference_that_resolves_to_nothing_or_to_several_fails_naming_it(cast, sign_in):
    from tests.fhir.bundles import entry, patient

    client = _okafor(cast, sign_in)
    before = _counts(cast.organizations["northfield"])
    subject = "urn:uuid:9f0d8a52-0000-4000-8000-000000000001"
    problem = {
        "resourceType": "Condition",
        "code": {"text": "Hypertension"},
        "subject": {"reference": subject},
        "recorder": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1999999999"},
        "onsetDateTime": "2025-01-01",
    }
    sent = transaction([entry(patient(mrn="EHR-63000", given="Ivo", family="Stenmark"), url=subject), entry(problem)])
    outcome = fhir_json(post(client, sent), status=422)
    assert outcome["issue"][0]["expression"] == ["Bundle.entry[1].resource.recorder"]
    assert "matches no resource" in outcome["issue"][0]["diagnostics"]
    # Two Practitioners with that identifier in the Bundle: not exactly one.
    npi = {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1999999999"}
    doctors = [
        entry({"resourceType": "Practitioner", "identifier": [dict(npi)], "name": [{"family": f"Doe{i}"}]})
        for i in range(2)
    ]
    outcome = fhir_json(post(client, transaction([*sent["entry"], *doctors])), status=422)
    assert "matches 2 resources" in outcome["issue"][0]["diagnostics"]
    # A urn:uuid no entry has.
    problem["subject"] = {"reference": "urn:uuid:9f0d8a52-0000-4000-8000-00000000dead"}
    outcome = fhir_json(post(client, transaction(sent["entry"])), status=422)
    assert "names no entry of this Bundle" in outcome["issue"][0]["diagnostics"]
    assert _counts(cast.organizations["northfield"]) == before


def test_an_uncertain_patient_match_goes_to_the_queue_and_is_never_merged(cast, sign_in):
    from portal.patients.models import PatientMatchCandidate

    maria = cast.patients["maria"]
    client = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    entries, _urls = mcode_breast_cancer(
        mrn="CV-9001", given="Mariah", family="Alvarez", birth=maria.date_of_birth.isoformat()
    )
    answer = fhir_json(post(client, transaction(entries[:2])))
    assert answer["entry"][0]["response"]["status"] == "201 Created"
    created = answer["entry"][0]["response"]["location"].split("/")[1]
    assert created != str(maria.uuid)
    match = PatientMatchCandidate.objects.get(patient__uuid=created)
    assert match.candidate == maria and match.status == "pending"
    assert match.organization == cast.organizations["cedarvalley"]


def test_a_clinic_importing_a_patient_known_elsewhere_sees_only_its_own_entries(cast, sign_in):
    maria = cast.patients["maria"]
    chen, cedar = cast.users["chen"], cast.organizations["cedarvalley"]
    client = sign_in(chen, cedar)
    others = RegistryEntry.objects.filter(patient=maria).count()
    assert others > 0
    entries, _urls = mcode_breast_cancer(
        mrn="CV-9002",
        given=maria.given_name,
        family=maria.family_name,
        birth=maria.date_of_birth.isoformat(),
        gender=maria.sex,
    )
    answer = fhir_json(post(client, transaction(entries[:2], publish=True)))
    # The answer is a registration's, whatever the network knows: nothing about the others.
    assert answer["entry"][0]["response"] == {"status": "201 Created", "location": f"Patient/{maria.uuid}"}
    assert "Northfield" not in json.dumps(answer) and "NCI-" not in json.dumps(answer)
    everything = fhir_json(client.get(f"/fhir/R4/Patient/{maria.uuid}/$everything"))
    owners = {r["agent"][-1]["who"]["reference"] for r in resources_of(everything, "Provenance")}
    assert owners == {f"Organization/{cedar.uuid}"}
    [patient] = resources_of(everything, "Patient")
    assert {i["value"] for i in patient["identifier"]} == {"CV-9002"}
    conditions = resources_of(everything, "Condition")
    assert len(conditions) == 1 and conditions[0]["code"]["text"] == "Invasive ductal carcinoma of right breast"
    assert RegistryEntry.objects.filter(patient=maria).count() == others + 1


def test_a_batch_answers_each_entry_and_keeps_what_succeeded(cast, sign_in):
    from tests.fhir.bundles import entry, patient

    client = _okafor(cast, sign_in)
    subject = "urn:uuid:9f0d8a52-0000-4000-8000-000000000002"
    good = {
        "resourceType": "AllergyIntolerance",
        "code": {"text": "Penicillin"},
        "patient": {"reference": subject},
        "recordedDate": "2025-02-01",
        "reaction": [{"manifestation": [{"text": "Hives"}], "severity": "moderate"}],
    }
    bad = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": c.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": c.LOINC, "code": "718-8"}], "text": "Hemoglobin"},
        "subject": {"reference": subject},
        "effectiveDateTime": "2025-02-01",
        "valueQuantity": {"value": 12.1, "unit": "g/dL"},
    }
    claim = {"resourceType": "Basic", "code": {"text": "something we do not keep"}}
    sent = transaction(
        [
            entry(patient(mrn="EHR-64000", given="Pia", family="Landvik"), url=subject),
            entry(good),
            entry(bad),
            entry(claim),
        ],
        kind="batch",
    )
    answer = fhir_json(post(client, sent))
    assert answer["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses == ["201 Created", "201 Created", "422 Unprocessable Entity", "200 OK"]
    assert "check digit" in answer["entry"][2]["response"]["outcome"]["issue"][0]["diagnostics"]
    kept = answer["entry"][3]["response"]["outcome"]["issue"][0]
    assert kept["severity"] == "information" and "Basic is not kept" in kept["diagnostics"]
    from django_tenants.utils import schema_context

    patient_uuid = answer["entry"][0]["response"]["location"].split("/")[1]
    with schema_context(cast.organizations["northfield"].schema_name):
        assert list(ClinicalItem.objects.filter(patient__uuid=patient_uuid).values_list("kind", flat=True)) == [
            "allergy"
        ]


def test_who_may_import(cast, sign_in, anonymous):
    entries, _urls = mcode_breast_cancer(mrn="EHR-65000", given="Ada", family="Quellwood")
    sent = transaction(entries, publish=True)
    northfield = cast.organizations["northfield"]
    before = _counts(northfield)
    assert post(anonymous(northfield), sent).status_code == 401
    navigator = sign_in(cast.users["navarro"], northfield)
    assert fhir_json(post(navigator, sent), status=403)["issue"][0]["code"] == "forbidden"
    outsider = sign_in(cast.users["park"], cast.organizations["maple"])
    # Park at Maple imports into Maple, never into Northfield: nothing changes here.
    assert _counts(northfield) == before
    assert post(outsider, {"resourceType": "Bundle", "type": "transaction", "entry": []}).status_code == 200
    assert _counts(northfield) == before


def test_bad_input_is_a_4xx_operation_outcome(cast, sign_in):
    client = _okafor(cast, sign_in)
    before = _counts(cast.organizations["northfield"])
    cases = [
        (b"{not json", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [{"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}],
                }
            ).encode(),
            400,
        ),
        (json.dumps({"resourceType": "Patient"}).encode(), 400),
        (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}).encode(), 400),
        (
            json.dumps(
                {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Patient"}}]}
            ).encode(),
            422,
        ),
        (
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [
                        {"request": {"method": "DELETE", "url": "Patient/1"}, "resource": {"resourceType": "Patient"}}
                    ],
                }
            ).encode(),
            405,
        ),
        (
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [
                        {"request": {"method": "POST", "url": "Nothing"}, "resource": {"resourceType": "Nothing"}}
                    ],
                }
            ).encode(),
            422,
        ),
        (b'{"resourceType": "Bundle", "type": "transaction", "entry": [], "n": 1e999}', 400),
        ("\xff".encode("latin-1"), 400),
    ]
    for body, status in cases:
        answer = client.post("/fhir/R4/", data=body, content_type=FHIR)
        assert answer.status_code == status, (body[:60], answer.content[:300])
        assert fhir_json(answer, status=status)["resourceType"] == "OperationOutcome"
    assert client.post("/fhir/R4/", data=b"<Bundle/>", content_type="application/xml").status_code == 415
    from django.test import override_settings

    with override_settings(FHIR_IMPORT_MAX_BYTES=2048):
        huge = json.dumps(transaction(mcode_breast_cancer()[0])).encode()
        assert (
            fhir_json(client.post("/fhir/R4/", data=huge, content_type=FHIR), status=413)["issue"][0]["code"]
            == "too-long"
        )
    assert _counts(cast.organizations["northfield"]) == before


def test_scopes_narrow_what_a_client_may_write():
    from portal.fhir.importing.services import scope_allows

    assert scope_allows(None, "Observation", "c")
    assert scope_allows(["system/Observation.write"], "Observation", "c")
    assert scope_allows(["system/Observation.cu"], "Observation", "c")
    assert scope_allows(["system/*.*"], "Condition", "c")
    assert not scope_allows(["system/Observation.rs"], "Observation", "c")
    assert not scope_allows(["system/Observation.write"], "Condition", "c")
    assert not scope_allows([], "Patient", "c")


def test_the_import_tag_is_documented_in_code():
    assert IMPORT_TAG_SYSTEM == c.OUR_SYSTEM + "import"


def test_writing_about_a_patient_one_may_not_see_is_the_same_as_about_nobody(cast, sign_in):
    import uuid

    from tests.fhir.bundles import entry

    maria = cast.patients["maria"]
    client = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    before = _counts(cast.organizations["cedarvalley"])
    answers = []
    for patient_id in (maria.uuid, uuid.uuid4()):
        allergy = {
            "resourceType": "AllergyIntolerance",
            "code": {"text": "Penicillin"},
            "patient": {"reference": f"Patient/{patient_id}"},
            "recordedDate": "2025-02-01",
        }
        outcome = fhir_json(post(client, transaction([entry(allergy)], publish=True)), status=422)
        answers.append(outcome["issue"][0]["diagnostics"].replace(str(patient_id), "<id>"))
    assert answers[0] == answers[1] and "names no patient you may see here" in answers[0]
    assert _counts(cast.organizations["cedarvalley"]) == before


def test_a_put_is_idempotent_and_a_patient_is_not_changed_by_one(cast, sign_in):
    client = _okafor(cast, sign_in)
    northfield = cast.organizations["northfield"]
    entries, _urls = mcode_breast_cancer(mrn="EHR-66000", given="Rhea", family="Castellan")
    problem = {
        "resourceType": "Condition",
        "id": "ehr-problem-1",
        "code": {"text": "Essential hypertension"},
        "subject": {"reference": entries[0]["fullUrl"]},
        "onsetDateTime": "2024-06-01",
    }
    put = {"resource": problem, "request": {"method": "PUT", "url": "Condition/ehr-problem-1"}}
    sent = transaction([entries[0], put], publish=True)
    first = fhir_json(post(client, sent))
    assert [e["response"]["status"] for e in first["entry"]] == ["201 Created", "201 Created"]
    before = _counts(northfield)
    again = fhir_json(post(client, sent))
    assert [e["response"]["status"] for e in again["entry"]] == ["200 OK", "200 OK"]
    assert again["entry"][1]["response"]["location"] == first["entry"][1]["response"]["location"]
    # New content corrects the item (tests/fhir/test_import_update.py); a Patient PUT again with
    # other details is refused: a person's identity changes on the pages.
    entries[0]["request"] = {"method": "PUT", "url": "Patient?identifier=https://ehr.example.org/mrn|EHR-66000"}
    entries[0]["resource"]["name"][0]["given"] = ["Rhia"]
    changed = fhir_json(post(client, sent), status=409)
    assert changed["issue"][0]["expression"] == ["Bundle.entry[0]"]
    assert _counts(northfield) == before
