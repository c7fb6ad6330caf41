"""Bundles to import in the tests: an mCODE breast-cancer record, written by hand in the
shape mCODE's examples have (invented patient and values)."""

from __future__ import annotations

import uuid
from typing import Any

from portal.fhir import codes as c
from portal.fhir.codes import Profile

SENDER = "https://ehr.example.org/fhir/identifiers"


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def entry(resource: dict[str, Any], *, key: str | None = None, url: str | None = None) -> dict[str, Any]:
    """A POST entry; with ``key`` the resource carries that identifier and is a conditional create."""
    full_url = url or _urn()
    request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
    if key:
        resource.setdefault("identifier", []).append({"system": SENDER, "value": key})
        request["ifNoneExist"] = f"identifier={SENDER}|{key}"
    return {"fullUrl": full_url, "resource": resource, "request": request}


def transaction(entries: list[dict[str, Any]], *, publish: bool = False, kind: str = "transaction") -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": kind, "entry": entries}
    if publish:
        bundle["meta"] = {"tag": [{"system": c.OUR_SYSTEM + "import", "code": "publish"}]}
    return bundle


def patient(
    *,
    given: str = "Ellen",
    family: str = "Brightwater",
    birth: str = "1968-05-14",
    mrn: str = "EHR-55501",
    **extra: Any,
) -> dict[str, Any]:
    resource = {
        "resourceType": "Patient",
        "meta": {"profile": [Profile.CANCER_PATIENT]},
        "identifier": [
            {
                "type": {"coding": [coding(c.IDENTIFIER_TYPE, "MR")]},
                "system": "https://ehr.example.org/mrn",
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": birth,
    }
    resource.update(extra)
    return resource


def mcode_breast_cancer(*, prefix: str = "bc", **patient_fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The record of issue #16's round trip: a primary breast cancer with its clinical TNM and
    stage group, ER/PR/HER2, ECOG, disease status, three chemotherapy requests, a surgery and a
    radiotherapy course. Returns the Bundle's entries' list (as a transaction) and the fullUrls
    by name."""
    urls = {name: _urn() for name in ("patient", "condition", "stage", "t", "n", "m")}
    subject = {"reference": urls["patient"]}
    focus = [{"reference": urls["condition"]}]
    entries = [entry(patient(**patient_fields), url=urls["patient"], key=f"{prefix}-patient")]
    entries[0]["resource"]["identifier"].pop()  # the MRN is the Patient's key
    entries[0]["request"]["ifNoneExist"] = "identifier=https://ehr.example.org/mrn|" + patient_fields.get(
        "mrn", "EHR-55501"
    )
    condition = {
        "resourceType": "Condition",
        "meta": {"profile": [Profile.PRIMARY_CANCER_CONDITION]},
        "extension": [
            {
                "url": c.HISTOLOGY_EXTENSION,
                "valueCodeableConcept": {"text": "Invasive ductal carcinoma, grade 2"},
            }
        ],
        "clinicalStatus": {"coding": [coding(c.CONDITION_CLINICAL, "active")]},
        "verificationStatus": {"coding": [coding(c.CONDITION_VERIFICATION, "confirmed")]},
        "category": [{"coding": [coding(c.CONDITION_CATEGORY, "problem-list-item")]}],
        "code": {
            "coding": [coding(c.ICD10, "C50.411", "Malignant neoplasm of upper-outer quadrant of right female breast")],
            "text": "Invasive ductal carcinoma of right breast",
        },
        "subject": subject,
        "onsetDateTime": "2026-03-02",
    }
    entries.append(entry(condition, url=urls["condition"], key=f"{prefix}-condition"))

    def observation(profile: str, loinc: str, display: str, **values: Any) -> dict[str, Any]:
        resource = {
            "resourceType": "Observation",
            "meta": {"profile": [profile]},
            "status": "final",
            "code": {"coding": [coding(c.LOINC, loinc, display)]},
            "subject": subject,
            "effectiveDateTime": "2026-03-09",
        }
        resource.update(values)
        return resource

    method = {"coding": [coding(*c.AJCC_METHOD)]}
    for key, value in (("t", "cT2"), ("n", "cN1"), ("m", "cM0")):
        loinc, display, profile = c.TNM_CODES[key]
        resource = observation(
            profile, loinc, display, valueCodeableConcept={"coding": [coding(c.AJCC, value)]}, method=method
        )
        resource["focus"] = focus
        entries.append(entry(resource, url=urls[key], key=f"{prefix}-{key}"))
    stage = observation(
        Profile.TNM_STAGE_GROUP,
        *c.STAGE_GROUP_CODE,
        valueCodeableConcept={"coding": [coding(c.AJCC, "IIB")], "text": "Stage IIB"},
        method=method,
        hasMember=[{"reference": urls[k]} for k in ("t", "n", "m")],
        focus=focus,
    )
    entries.append(entry(stage, url=urls["stage"], key=f"{prefix}-stage"))
    lab = [{"coding": [coding(c.OBSERVATION_CATEGORY, "laboratory")]}]
    for key, result in (("er", "positive"), ("pr", "positive"), ("her2", "negative")):
        loinc, display = c.MARKERS[key]
        snomed, text = c.MARKER_RESULT[result]
        resource = observation(
            Profile.TUMOR_MARKER,
            loinc,
            display,
            category=lab,
            valueCodeableConcept={"coding": [coding(c.SNOMED, snomed, text)], "text": text},
            focus=focus,
        )
        entries.append(entry(resource, key=f"{prefix}-{key}"))
    ecog = observation(
        Profile.ECOG,
        *c.ECOG_CODE,
        category=[{"coding": [coding(c.OBSERVATION_CATEGORY, "survey")]}],
        valueInteger=1,
        interpretation=[{"coding": [coding(c.LOINC, *c.ECOG_ANSWERS[1])]}],
    )
    entries.append(entry(ecog, key=f"{prefix}-ecog"))
    code, text = c.DISEASE_STATUS["responding"]
    status = observation(
        Profile.DISEASE_STATUS,
        *c.DISEASE_STATUS_CODE,
        category=[{"coding": [coding(c.OBSERVATION_CATEGORY, "exam")]}],
        valueCodeableConcept={"coding": [coding(c.SNOMED, code, text)], "text": text},
        focus=focus,
    )
    entries.append(entry(status, key=f"{prefix}-status"))
    for index, (agent, start, end) in enumerate(
        (
            ("doxorubicin", "2026-03-16", "2026-05-11"),
            ("cyclophosphamide", "2026-03-16", "2026-05-11"),
            ("paclitaxel", "2026-05-25", "2026-08-10"),
        ),
        start=1,
    ):
        request = {
            "resourceType": "MedicationRequest",
            "meta": {"profile": [Profile.MEDICATION_REQUEST]},
            "extension": [
                {
                    "url": c.TREATMENT_INTENT_EXTENSION,
                    "valueCodeableConcept": {"coding": [coding(c.SNOMED, *c.INTENT["neoadjuvant"])]},
                }
            ],
            "status": "completed",
            "intent": "order",
            "category": [{"text": "Chemotherapy"}],
            "medicationCodeableConcept": {"text": agent},
            "subject": subject,
            "authoredOn": start,
            "reasonReference": [{"reference": urls["condition"]}],
            "dosageInstruction": [
                {
                    "text": f"{agent} per AC-T protocol",
                    "timing": {"repeat": {"boundsPeriod": {"start": start, "end": end}}},
                }
            ],
        }
        entries.append(entry(request, key=f"{prefix}-chemo-{index}"))
    surgery = {
        "resourceType": "Procedure",
        "meta": {"profile": [Profile.SURGICAL_PROCEDURE]},
        "extension": [
            {
                "url": c.PROCEDURE_INTENT_EXTENSION,
                "valueCodeableConcept": {"coding": [coding(c.SNOMED, *c.INTENT["curative"])]},
            }
        ],
        "status": "completed",
        "category": {"coding": [coding(c.SNOMED, *c.SURGERY_CATEGORY)]},
        "code": {"text": "Right breast lumpectomy with sentinel node biopsy"},
        "subject": subject,
        "performedPeriod": {"start": "2026-09-01", "end": "2026-09-01"},
        "reasonReference": [{"reference": urls["condition"]}],
    }
    entries.append(entry(surgery, key=f"{prefix}-surgery"))
    radiotherapy = {
        "resourceType": "Procedure",
        "meta": {"profile": [Profile.RADIOTHERAPY_SUMMARY]},
        "extension": [
            {
                "url": c.PROCEDURE_INTENT_EXTENSION,
                "valueCodeableConcept": {"coding": [coding(c.SNOMED, *c.INTENT["adjuvant"])]},
            }
        ],
        "status": "completed",
        "category": {"coding": [coding(c.SNOMED, *c.RADIOTHERAPY_CATEGORY)]},
        "code": {"coding": [coding(c.SNOMED, *c.RADIOTHERAPY_CODE)], "text": "Whole-breast radiotherapy"},
        "subject": subject,
        "performedPeriod": {"start": "2026-10-05", "end": "2026-11-13"},
    }
    entries.append(entry(radiotherapy, key=f"{prefix}-radiotherapy"))
    return entries, urls
