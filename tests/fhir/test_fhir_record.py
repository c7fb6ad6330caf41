"""What the record looks like in FHIR: mCODE and US Core shapes, search, paging, includes,
versions, closing-the-loop objects, and the number of queries an answer costs."""

import base64
import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.care.services import care_task_create, handoff_send
from portal.fhir import codes
from portal.fhir.mapping import practitioner_id
from portal.messaging.services import Recipient, thread_start
from portal.patients.models import RegistryEntry
from portal.records.models import ClinicalItem
from portal.records.services import item_correct, item_create, item_withdraw
from tests.care.helpers import advance, maple_to_northfield, receiver_step
from tests.fhir.helpers import fhir_json, resources_of


def _png() -> bytes:
    """A small real PNG (uploads are checked by decoding them)."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()


def _park(cast, sign_in):
    return sign_in(cast.users["park"], cast.organizations["maple"])


def _by_id(resources):
    return {r["id"]: r for r in resources}


def _coding(concept, system):
    return next(c["code"] for c in concept["coding"] if c["system"] == system)


def test_the_breast_cancer_diagnosis_reads_as_mcode(cast, sign_in):
    maria = cast.patients["maria"]
    diagnosis = RegistryEntry.objects.get(patient=maria, kind="cancer_diagnosis")
    treatment = RegistryEntry.objects.get(patient=maria, kind="treatment")
    body = fhir_json(_park(cast, sign_in).get(f"/fhir/R4/Patient/{maria.uuid}/$everything"))
    resources = _by_id(resources_of(body))
    d = str(diagnosis.uuid)
    [patient] = resources_of(body, "Patient")
    assert patient["meta"]["profile"] == [codes.Profile.CANCER_PATIENT]
    assert {i["value"] for i in patient["identifier"]} >= {"NCI-100234"}
    condition = resources[d]
    assert condition["meta"]["profile"] == [codes.Profile.PRIMARY_CANCER_CONDITION]
    assert _coding(condition["code"], codes.ICD10) == "C50.212"
    assert condition["extension"][0]["url"] == codes.HISTOLOGY_EXTENSION
    assert condition["extension"][0]["valueCodeableConcept"]["text"] == "Invasive ductal carcinoma, grade 2"
    stage = resources[f"{d}-stage"]
    assert stage["meta"]["profile"] == [codes.Profile.TNM_STAGE_GROUP]
    assert _coding(stage["code"], codes.LOINC) == "21908-9"
    assert _coding(stage["valueCodeableConcept"], codes.AJCC) == "IIB"
    assert [m["reference"] for m in stage["hasMember"]] == [f"Observation/{d}-{k}" for k in ("t", "n", "m")]
    assert [_coding(resources[f"{d}-{k}"]["valueCodeableConcept"], codes.AJCC) for k in ("t", "n", "m")] == [
        "cT2",
        "cN1",
        "cM0",
    ]
    assert resources[f"{d}-t"]["meta"]["profile"] == [codes.Profile.TNM_T]
    markers = {k: resources[f"{d}-{k}"] for k in ("er", "pr", "her2")}
    assert {k: _coding(v["code"], codes.LOINC) for k, v in markers.items()} == {
        "er": "16112-5",
        "pr": "16113-3",
        "her2": "48676-1",
    }
    assert [_coding(v["valueCodeableConcept"], codes.SNOMED) for v in markers.values()] == [
        "10828004",
        "10828004",
        "260385009",
    ]
    assert all(v["meta"]["profile"] == [codes.Profile.TUMOR_MARKER] for v in markers.values())
    assert resources[f"{d}-marker-1"]["valueString"] == "Ki-67 18%"
    ecog = resources[f"{d}-ecog"]
    assert ecog["meta"]["profile"] == [codes.Profile.ECOG] and ecog["valueInteger"] == 1
    status = resources[f"{d}-status"]
    assert status["meta"]["profile"] == [codes.Profile.DISEASE_STATUS]
    assert _coding(status["valueCodeableConcept"], codes.SNOMED) == "268910001"
    chemo = resources[str(treatment.uuid)]
    assert chemo["resourceType"] == "MedicationRequest"
    assert chemo["meta"]["profile"] == [codes.Profile.MEDICATION_REQUEST]
    assert _coding(chemo["extension"][0]["valueCodeableConcept"], codes.SNOMED) == "373847000"  # neoadjuvant
    assert chemo["medicationCodeableConcept"]["text"] == "doxorubicin, cyclophosphamide, paclitaxel"
    # Labs: LOINC, UCUM, reference range, interpretation.
    hemoglobin = next(r for r in resources_of(body, "Observation") if r.get("code", {}).get("text") == "Hemoglobin")
    assert hemoglobin["meta"]["profile"] == [codes.Profile.LAB]
    assert _coding(hemoglobin["code"], codes.LOINC) == "718-7"
    assert hemoglobin["valueQuantity"]["system"] == codes.UCUM and hemoglobin["valueQuantity"]["code"] == "g/dL"
    assert hemoglobin["referenceRange"][0]["low"]["value"] == 12.0
    assert _coding(hemoglobin["interpretation"][0], codes.INTERPRETATION) == "L"
    types = {r["resourceType"] for r in resources_of(body)}
    assert {"MedicationStatement", "AllergyIntolerance", "DiagnosticReport", "DocumentReference", "Provenance"} <= types
    report = next(r for r in resources_of(body, "DiagnosticReport") if "biopsy" in r["code"]["text"])
    assert base64.b64decode(report["presentedForm"][0]["data"]).decode().startswith("Invasive ductal carcinoma")


def test_surgery_radiation_and_documents_map_to_their_profiles(cast, sign_in):
    maria, northfield, okafor = cast.patients["maria"], cast.organizations["northfield"], cast.users["okafor"]
    today = timezone.localdate().isoformat()
    with schema_context(northfield.schema_name):
        surgery = item_create(
            user=okafor,
            organization=northfield,
            patient=maria,
            kind="treatment",
            publish=True,
            values={
                "effective_date": today,
                "modality": "surgery",
                "regimen": "Lumpectomy",
                "intent": "curative",
                "treatment_status": "completed",
            },
        )
        radiation = item_create(
            user=okafor,
            organization=northfield,
            patient=maria,
            kind="treatment",
            publish=True,
            values={
                "effective_date": today,
                "modality": "radiation",
                "regimen": "Whole-breast RT",
                "intent": "adjuvant",
                "treatment_status": "planned",
            },
        )
        document = item_create(
            user=okafor,
            organization=northfield,
            patient=maria,
            kind="document",
            publish=True,
            values={"effective_date": today, "description": "Outside pathology scan"},
            files={"file": SimpleUploadedFile("scan.png", PNG, content_type="image/png")},
        )
    entry = {
        item: RegistryEntry.objects.get(organization=northfield, item_uuid=item.pk)
        for item in (surgery, radiation, document)
    }
    park = _park(cast, sign_in)
    procedure = fhir_json(park.get(f"/fhir/R4/Procedure/{entry[surgery].uuid}"))
    assert procedure["meta"]["profile"] == [codes.Profile.SURGICAL_PROCEDURE] and procedure["status"] == "completed"
    assert procedure["extension"][0]["url"] == codes.PROCEDURE_INTENT_EXTENSION
    course = fhir_json(park.get(f"/fhir/R4/Procedure/{entry[radiation].uuid}"))
    assert course["meta"]["profile"] == [codes.Profile.RADIOTHERAPY_SUMMARY] and course["status"] == "preparation"
    reference = fhir_json(park.get(f"/fhir/R4/DocumentReference/{entry[document].uuid}"))
    assert reference["content"][0]["attachment"]["url"] == f"Binary/{entry[document].uuid}"
    binary = fhir_json(park.get(f"/fhir/R4/Binary/{entry[document].uuid}", HTTP_ACCEPT="application/fhir+json"))
    assert base64.b64decode(binary["data"]) == PNG and binary["contentType"] == "image/png"
    raw = park.get(f"/fhir/R4/Binary/{entry[document].uuid}", HTTP_ACCEPT="image/png")
    assert raw.content == PNG and raw["Content-Type"] == "image/png"
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(f"/fhir/R4/Binary/{entry[document].uuid}").status_code == 404


def test_search_by_category_code_date_last_updated_and_id_with_next_links(cast, sign_in):
    maria = cast.patients["maria"]
    park = _park(cast, sign_in)
    base = f"/fhir/R4/Observation?patient={maria.uuid}"
    labs = fhir_json(park.get(base + "&category=laboratory&_count=500"))
    assert labs["total"] == len(resources_of(labs)) > 6
    assert all(
        any(c["code"] == "laboratory" for cat in r["category"] for c in cat["coding"]) for r in resources_of(labs)
    )
    hemoglobin = fhir_json(park.get(base + f"&code={codes.LOINC}|718-7"))
    assert hemoglobin["total"] >= 2 and all(r["code"]["coding"][0]["code"] == "718-7" for r in resources_of(hemoglobin))
    assert fhir_json(park.get(base + "&code=http://snomed.info/sct|718-7"))["total"] == 0
    recent_day = (timezone.now() - dt.timedelta(days=10)).date().isoformat()
    recent = fhir_json(park.get(base + f"&code=718-7&date=ge{recent_day}"))
    assert recent["total"] == 1
    old = fhir_json(park.get(base + f"&code=718-7&date=lt{recent_day}"))
    assert old["total"] == hemoglobin["total"] - 1
    assert fhir_json(park.get(base + "&_lastUpdated=gt2999-01-01"))["total"] == 0
    assert fhir_json(park.get(base + "&_lastUpdated=ge2000-01-01"))["total"] == fhir_json(park.get(base))["total"]
    one = resources_of(hemoglobin)[0]["id"]
    by_id = fhir_json(park.get(base + f"&_id={one}"))
    assert [r["id"] for r in resources_of(by_id)] == [one]
    # Paging: _count with next links that walk every match once.
    seen, url, pages = [], base + "&_count=4", 0
    total = fhir_json(park.get(base))["total"]
    while url:
        page = fhir_json(park.get(url))
        seen += [r["id"] for r in resources_of(page)]
        links = {link["relation"]: link["url"] for link in page["link"]}
        url = links.get("next", "").replace("http://maple.localhost", "") or None
        pages += 1
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 4)
    conditions = fhir_json(park.get(f"/fhir/R4/Condition?patient={maria.uuid}&category=problem-list-item"))
    assert conditions["total"] >= 1


def test_include_has_member_and_revinclude_provenance(cast, sign_in):
    maria = cast.patients["maria"]
    d = RegistryEntry.objects.get(patient=maria, kind="cancer_diagnosis").uuid
    park = _park(cast, sign_in)
    body = fhir_json(
        park.get(
            f"/fhir/R4/Observation?patient={maria.uuid}&code=21908-9"
            "&_include=Observation:has-member&_revinclude=Provenance:target"
        )
    )
    modes = {(e["resource"]["resourceType"], e["resource"]["id"]): e["search"]["mode"] for e in body["entry"]}
    assert modes[("Observation", f"{d}-stage")] == "match"
    assert {modes[("Observation", f"{d}-{k}")] for k in ("t", "n", "m")} == {"include"}
    [provenance] = resources_of(body, "Provenance")
    assert provenance["id"] == f"{d}-provenance" and modes[("Provenance", provenance["id"])] == "include"
    assert f"Observation/{d}-stage/_history/1" in {t["reference"] for t in provenance["target"]}
    northfield = cast.organizations["northfield"]
    assert {"reference": f"Organization/{northfield.uuid}", "display": northfield.name} in [
        a.get("onBehalfOf") for a in provenance["agent"]
    ]
    assert provenance["activity"]["coding"][0]["code"] == "CREATE"
    unknown = park.get(f"/fhir/R4/Observation?patient={maria.uuid}&_include=Observation:subject")
    assert fhir_json(unknown, 400)["issue"][0]["code"] == "invalid"


def test_a_correction_is_a_new_version_and_a_withdrawn_entry_reads_entered_in_error(cast, sign_in):
    maria, maple, park_user = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    with schema_context(maple.schema_name):
        item = item_create(
            user=park_user,
            organization=maple,
            patient=maria,
            kind="lab_result",
            publish=True,
            values={
                "effective_date": timezone.localdate().isoformat(),
                "test": "Potassium",
                "loinc": "2823-3",
                "value": "5.9",
                "unit": "mmol/L",
                "reference_low": "3.5",
                "reference_high": "5.1",
            },
        )
        corrected = item_correct(
            user=park_user,
            organization=maple,
            item=item,
            values={
                "effective_date": timezone.localdate().isoformat(),
                "test": "Potassium",
                "loinc": "2823-3",
                "value": "4.9",
                "unit": "mmol/L",
                "reference_low": "3.5",
                "reference_high": "5.1",
            },
        )
    entry = RegistryEntry.objects.get(organization=maple, item_uuid=corrected.pk)
    park = _park(cast, sign_in)
    current = fhir_json(park.get(f"/fhir/R4/Observation/{entry.uuid}"))
    assert current["meta"]["versionId"] == "2" and current["status"] == "amended"
    assert current["valueQuantity"]["value"] == 4.9
    history = fhir_json(park.get(f"/fhir/R4/Observation/{entry.uuid}/_history"))
    assert history["type"] == "history"
    assert [r["meta"]["versionId"] for r in resources_of(history)] == ["2", "1"]
    first = fhir_json(park.get(f"/fhir/R4/Observation/{entry.uuid}/_history/1"))
    assert first["valueQuantity"]["value"] == 5.9 and first["status"] == "final"
    assert park.get(f"/fhir/R4/Observation/{entry.uuid}/_history/3").status_code == 404
    provenance = fhir_json(park.get(f"/fhir/R4/Provenance/{entry.uuid}-provenance"))
    assert provenance["activity"]["coding"][0]["code"] == "UPDATE"
    assert provenance["entity"][0]["what"]["reference"] == f"Observation/{entry.uuid}/_history/1"
    with schema_context(maple.schema_name):
        item_withdraw(
            user=park_user, organization=maple, item=ClinicalItem.objects.get(pk=corrected.pk), reason="Wrong patient"
        )
    withdrawn = fhir_json(park.get(f"/fhir/R4/Observation/{entry.uuid}"))
    assert withdrawn["status"] == "entered-in-error"
    provenance = fhir_json(park.get(f"/fhir/R4/Provenance/{entry.uuid}-provenance"))
    assert provenance["activity"]["coding"][0]["code"] == "NULLIFY"
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    assert fhir_json(okafor.get(f"/fhir/R4/Observation/{entry.uuid}"))["status"] == "entered-in-error"


def test_referral_moves_appear_as_task_status_and_business_status(cast, sign_in):
    park = _park(cast, sign_in)
    expected = {
        "requested": "requested",
        "received": "received",
        "accepted": "accepted",
        "scheduled": "in-progress",
        "completed": "completed",
        "cancelled": "cancelled",
    }
    for state, status in expected.items():
        referral = advance(cast, maple_to_northfield(cast), state)
        task = fhir_json(park.get(f"/fhir/R4/Task/{referral.uuid}-task"))
        assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == (status, state)
        assert task["focus"]["reference"] == f"ServiceRequest/{referral.uuid}"
        assert task["requester"]["reference"] == f"Organization/{cast.organizations['maple'].uuid}"
        assert task["owner"]["reference"] == f"Organization/{cast.organizations['northfield'].uuid}"
        if state == "completed":
            assert (
                task["output"][0]["valueReference"]["reference"] == f"DocumentReference/{referral.outcome_entry.uuid}"
            )
        service = fhir_json(park.get(f"/fhir/R4/ServiceRequest/{referral.uuid}"))
        assert service["code"]["text"] == "Hematology/oncology consult"
    referral = maple_to_northfield(cast)
    referral = receiver_step(cast, referral, "receive")
    referral = receiver_step(cast, referral, "decline", reason="No capacity this month; please try Lakeside")
    task = fhir_json(park.get(f"/fhir/R4/Task/{referral.uuid}-task"))
    assert task["status"] == "rejected" and task["businessStatus"]["coding"][0]["code"] == "declined"
    assert task["statusReason"]["text"] == "No capacity this month; please try Lakeside"
    maria = cast.patients["maria"]
    tasks = fhir_json(park.get(f"/fhir/R4/Task?patient={maria.uuid}&_count=100"))
    assert f"{referral.uuid}-task" in {r["id"] for r in resources_of(tasks)}
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(f"/fhir/R4/Task/{referral.uuid}-task").status_code == 404
    assert chen.get(f"/fhir/R4/ServiceRequest/{referral.uuid}").status_code == 404


def test_care_tasks_hand_offs_messages_and_the_care_team(cast, sign_in):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    okafor, park_user = cast.users["okafor"], cast.users["park"]
    task = care_task_create(
        user=okafor,
        organization=northfield,
        patient=maria,
        owner_organization=maple,
        title="CBC twice a week",
        code="58410-2",
        recurrence="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4",
        starts_at=timezone.now(),
    )
    handoff = handoff_send(
        user=okafor,
        organization=northfield,
        patient=maria,
        to_organization=maple,
        kind="survivorship",
        treatment_summary="AC-T completed",
        items=[{"section": "surveillance", "text": "Mammogram yearly", "responsible": "primary_care"}],
    )
    thread_start(
        sender=okafor,
        organization=northfield,
        subject="Labs after cycle 3",
        patient=maria,
        recipients=[Recipient(organization=maple, user=park_user)],
        body="Please draw a CBC on Thursday.",
    )
    park = _park(cast, sign_in)
    body = fhir_json(park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything?_type=Task,CarePlan,Communication,CareTeam"))
    resources = _by_id(resources_of(body))
    main = resources[str(task.uuid)]
    assert main["status"] == "in-progress" and main["owner"]["reference"] == f"Organization/{maple.uuid}"
    occurrences = [r for r in resources.values() if r.get("partOf") == [{"reference": f"Task/{task.uuid}"}]]
    assert len(occurrences) == 4 and {o["status"] for o in occurrences} == {"ready"}
    plan = resources[str(handoff.uuid)]
    assert plan["status"] == "active"
    detail = plan["activity"][0]["detail"]
    assert detail["performer"][0]["reference"] == f"Organization/{maple.uuid}"
    assert detail["reasonCode"][0]["coding"][0]["code"] == "primary_care"
    [message] = resources_of(body, "Communication")
    assert message["payload"][0]["contentString"] == "Please draw a CBC on Thursday."
    assert message["sender"]["reference"] == f"Practitioner/{practitioner_id(okafor.pk)}"
    [team] = resources_of(body, "CareTeam")
    members = {p["member"]["reference"] for p in team["participant"]}
    assert {f"Practitioner/{practitioner_id(okafor.pk)}", f"Practitioner/{practitioner_id(park_user.pk)}"} <= members
    assert {r["resourceType"] for r in resources_of(body)} <= {"Task", "CarePlan", "Communication", "CareTeam"}


def test_everything_since_type_and_count_paging(cast, sign_in):
    maria = cast.patients["maria"]
    park = _park(cast, sign_in)
    full = fhir_json(park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything"))
    matches = [e for e in full["entry"] if e["search"]["mode"] == "match"]
    assert full["total"] == len(matches)
    only = fhir_json(park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything?_type=Condition"))
    assert {r["resourceType"] for r in resources_of(only)} == {"Condition"}
    future = (timezone.now() + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    since = fhir_json(park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything?_since={future}"))
    assert {
        r["resourceType"] for r in resources_of(since) if r["resourceType"] not in ("Organization", "Practitioner")
    } <= {"Patient", "CareTeam"}
    seen, url = [], f"/fhir/R4/Patient/{maria.uuid}/$everything?_count=10"
    while url:
        page = fhir_json(park.get(url))
        seen += [
            (e["resource"]["resourceType"], e["resource"]["id"])
            for e in page["entry"]
            if e["search"]["mode"] == "match"
        ]
        links = {link["relation"]: link["url"] for link in page.get("link", [])}
        url = links.get("next", "").replace("http://maple.localhost", "") or None
    assert len(seen) == len(set(seen)) == len(matches)


def test_query_counts_do_not_grow_with_the_record(cast, sign_in, django_assert_max_num_queries):
    maria, maple, park_user = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    park = _park(cast, sign_in)
    park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything")  # warm the per-process caches
    with schema_context(maple.schema_name):
        for day in range(30):
            item_create(
                user=park_user,
                organization=maple,
                patient=maria,
                kind="lab_result",
                publish=True,
                values={
                    "effective_date": (timezone.localdate() - dt.timedelta(days=day)).isoformat(),
                    "test": "Glucose",
                    "loinc": "2345-7",
                    "value": "101",
                    "unit": "mg/dL",
                },
            )
    with django_assert_max_num_queries(36):
        assert park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything").status_code == 200
    with django_assert_max_num_queries(18):
        assert (
            park.get(f"/fhir/R4/Observation?patient={maria.uuid}&_count=10&_revinclude=Provenance:target").status_code
            == 200
        )


def test_a_large_search_pages_by_cursor_and_walks_every_match_once(cast, sign_in, monkeypatch):
    from portal.fhir import record

    maria = cast.patients["maria"]
    park = _park(cast, sign_in)
    base = f"/fhir/R4/Observation?patient={maria.uuid}"
    exact = fhir_json(park.get(base + "&_count=500"))
    expected = [r["id"] for r in resources_of(exact)]
    monkeypatch.setattr(record, "EXACT_SEARCH_ENTRIES", 3)
    monkeypatch.setattr(record, "CHUNK_ENTRIES", 2)
    seen, url = [], base + "&_count=4"
    while url:
        page = fhir_json(park.get(url))
        assert "total" not in page and len(resources_of(page)) <= 4
        seen += [r["id"] for r in resources_of(page)]
        links = {link["relation"]: link["url"] for link in page["link"]}
        url = links.get("next", "").replace("http://maple.localhost", "") or None
        assert url is None or "_cursor=" in url
    assert seen == expected
    counted = fhir_json(park.get(base + "&_total=accurate&_count=2"))
    assert counted["total"] == len(expected)
