"""A synthetic patient record in the shape Synthea's transaction Bundles have, for the import
tests and ``bench/fhir_import_bench.py``: invented names and values, made here (nothing is
copied from Synthea's output).

Like Synthea's, the Bundle carries the Organization, Practitioners and Location as conditional
creates (``ifNoneExist`` on their identifiers) and every encounter, claim and observation names
them by conditional references (``Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|…``).
Every entry is a conditional create on a stable identifier, so the same Bundle posted twice
creates nothing the second time. Encounters, vital signs, immunizations, claims and
explanations of benefit are in it too: resources Continuum does not keep, which an import
lists without storing.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import uuid
from typing import Any

SYNTHEA = "https://github.com/synthetichealth/synthea"
NPI = "http://hl7.org/fhir/sid/us-npi"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
NAMESPACE = uuid.UUID("1b6f2b0c-5b6e-4d3a-9f57-6a2f7e0d9c31")

GIVEN = ["Wren", "Idris", "Marisol", "Thaddeus", "Oona", "Basil", "Calla", "Emrys", "Linnea", "Oskar"]
FAMILY = ["Quillfeather", "Ashgrove", "Merriweather", "Tamsworth", "Pellingham", "Brackenridge", "Corvell"]
LABS = [
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11.5, 15.5),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4.0, 10.5),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.2),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 136, 145),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6),
]
VITALS = [
    ("8302-2", "Body Height", "cm", 150, 190),
    ("29463-7", "Body Weight", "kg", 50, 110),
    ("8867-4", "Heart rate", "/min", 55, 100),
]
CONDITIONS = [
    ("44054006", "Diabetes mellitus type 2"),
    ("38341003", "Hypertensive disorder"),
    ("195662009", "Acute viral pharyngitis"),
    ("10509002", "Acute bronchitis"),
    ("55822004", "Hyperlipidemia"),
]
MEDICATIONS = ["metformin 500 MG Oral Tablet", "lisinopril 10 MG Oral Tablet", "amoxicillin 250 MG Oral Capsule"]


class Record:
    """Builds one patient's Bundle, entry by entry, with stable identifiers."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.random = random.Random(seed)
        self.entries: list[dict[str, Any]] = []

    def key(self, *parts: Any) -> str:
        return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in (self.seed, *parts))))

    def add(self, resource: dict[str, Any], key: str, system: str = SYNTHEA) -> str:
        resource.setdefault("identifier", []).append({"system": system, "value": key})
        full_url = f"urn:uuid:{self.key('url', key)}"
        self.entries.append(
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {
                    "method": "POST",
                    "url": resource["resourceType"],
                    "ifNoneExist": f"identifier={system}|{key}",
                },
            }
        )
        return full_url


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def synthetic_record(*, size: int = 1448, seed: int = 1, publish: bool = False) -> dict[str, Any]:
    """A transaction Bundle of exactly ``size`` entries (at least 20) about one invented patient."""
    record = Record(seed)
    r = record.random
    organization_key, location_key = record.key("organization"), record.key("location")
    npis = [str(1_000_000_000 + r.randrange(10**8)) for _ in range(2)]
    record.add({"resourceType": "Organization", "name": "Brookmere Community Health", "active": True}, organization_key)
    for index, npi in enumerate(npis):
        record.add(
            {
                "resourceType": "Practitioner",
                "name": [{"family": FAMILY[(seed + index) % len(FAMILY)], "given": [GIVEN[index]], "prefix": ["Dr."]}],
                "active": True,
            },
            npi,
            system=NPI,
        )
    record.add(
        {
            "resourceType": "Location",
            "name": "Brookmere Community Health, main clinic",
            "status": "active",
            "managingOrganization": {"reference": f"Organization?identifier={SYNTHEA}|{organization_key}"},
        },
        location_key,
    )
    given, family = GIVEN[seed % len(GIVEN)], FAMILY[seed % len(FAMILY)]
    born = dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(365 * 40))
    patient_key = record.key("patient")
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "http://hospital.smarthealthit.org",
                "value": f"SYN-{seed:05d}",
            }
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female" if seed % 2 else "male",
        "birthDate": born.isoformat(),
    }
    subject = {"reference": record.add(patient, patient_key)}
    organization = {"reference": f"Organization?identifier={SYNTHEA}|{organization_key}"}
    location = {"reference": f"Location?identifier={SYNTHEA}|{location_key}"}
    start = dt.datetime(2024, 11, 1, 9, 0, tzinfo=dt.UTC)
    for index in range(2):
        record.add(
            {
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": _coding(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"
                ),
                "verificationStatus": _coding(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"
                ),
                "type": "allergy",
                "criticality": "low",
                "code": _coding(
                    SNOMED, ("300916003", "91935009")[index], ("Latex allergy", "Allergy to peanuts")[index]
                ),
                "patient": subject,
                "recordedDate": (start.date() - dt.timedelta(days=400 + index)).isoformat(),
                "reaction": [{"manifestation": [_coding(SNOMED, "247472004", "Wheal")], "severity": "mild"}],
            },
            record.key("allergy", index),
        )
    visit = 0
    while len(record.entries) < size:
        when = start + dt.timedelta(days=visit * 5, hours=r.randrange(8))
        practitioner = {"reference": f"Practitioner?identifier={NPI}|{npis[visit % 2]}"}
        encounter_url = record.add(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                    "display": "ambulatory",
                },
                "type": [_coding(SNOMED, "185349003", "Encounter for check up")],
                "subject": subject,
                "participant": [{"individual": practitioner}],
                "period": {"start": when.isoformat(), "end": (when + dt.timedelta(minutes=30)).isoformat()},
                "location": [{"location": location}],
                "serviceProvider": organization,
            },
            record.key("encounter", visit),
        )
        encounter = {"reference": encounter_url}
        plan: list[Any] = []
        plan += [("vital", v) for v in VITALS]
        plan += [("lab", lab) for lab in r.sample(LABS, 4)]
        plan += [("note", None), ("claim", None), ("eob", None)]
        if visit % 9 == 0:
            plan.append(("condition", CONDITIONS[(visit // 9) % len(CONDITIONS)]))
        if visit % 11 == 0:
            plan.append(("medication", MEDICATIONS[(visit // 11) % len(MEDICATIONS)]))
        for position, (kind, what) in enumerate(plan):
            if len(record.entries) >= size:
                break
            key = record.key(kind, visit, position)
            if kind in ("vital", "lab"):
                code, display, unit, low, high = what
                value = round(r.uniform(low * 0.9, high * 1.1), 1)
                resource: dict[str, Any] = {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [_coding(CATEGORY, "vital-signs" if kind == "vital" else "laboratory", kind)],
                    "code": _coding(LOINC, code, display),
                    "subject": subject,
                    "encounter": encounter,
                    "effectiveDateTime": when.isoformat(),
                    "issued": when.isoformat(),
                    "valueQuantity": {
                        "value": value,
                        "unit": unit,
                        "system": "http://unitsofmeasure.org",
                        "code": unit,
                    },
                }
                if kind == "lab":
                    resource["referenceRange"] = [{"low": {"value": low}, "high": {"value": high}}]
                    resource["performer"] = [practitioner]
                record.add(resource, key)
            elif kind == "note":
                text = f"Check-up visit {visit + 1}. Patient well; plan reviewed and continued."
                record.add(
                    {
                        "resourceType": "DocumentReference",
                        "status": "current",
                        "type": _coding(LOINC, "34117-2", "History and physical note"),
                        "category": [
                            _coding(
                                "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                "clinical-note",
                                "Clinical Note",
                            )
                        ],
                        "subject": subject,
                        "date": when.isoformat(),
                        "author": [practitioner, organization],
                        "custodian": organization,
                        "content": [
                            {
                                "attachment": {
                                    "contentType": "text/plain; charset=utf-8",
                                    "data": base64.b64encode(text.encode()).decode(),
                                }
                            }
                        ],
                        "context": {"encounter": [encounter], "period": {"start": when.isoformat()}},
                    },
                    key,
                )
            elif kind == "condition":
                code, display = what
                record.add(
                    {
                        "resourceType": "Condition",
                        "clinicalStatus": _coding(
                            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
                        ),
                        "verificationStatus": _coding(
                            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
                        ),
                        "category": [
                            _coding(
                                "http://terminology.hl7.org/CodeSystem/condition-category",
                                "encounter-diagnosis",
                                "Encounter Diagnosis",
                            )
                        ],
                        "code": _coding(SNOMED, code, display),
                        "subject": subject,
                        "encounter": encounter,
                        "onsetDateTime": when.isoformat(),
                        "recordedDate": when.isoformat(),
                    },
                    key,
                )
            elif kind == "medication":
                record.add(
                    {
                        "resourceType": "MedicationRequest",
                        "status": "active",
                        "intent": "order",
                        "medicationCodeableConcept": {"text": what},
                        "subject": subject,
                        "encounter": encounter,
                        "authoredOn": when.isoformat(),
                        "requester": practitioner,
                        "dosageInstruction": [{"text": "Take one daily", "timing": {"code": {"text": "daily"}}}],
                    },
                    key,
                )
            else:
                claim = {
                    "resourceType": "Claim" if kind == "claim" else "ExplanationOfBenefit",
                    "status": "active",
                    "type": _coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional"),
                    "use": "claim",
                    "patient": subject,
                    "created": when.isoformat(),
                    "provider": organization,
                    "insurer": {"display": "Invented Mutual"},
                    "priority": _coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal"),
                    "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Invented Mutual"}}],
                }
                if kind == "eob":
                    claim.update({"outcome": "complete", "careTeam": [{"sequence": 1, "provider": practitioner}]})
                    del claim["priority"]
                    claim["insurance"] = [{"focal": True, "coverage": {"display": "Invented Mutual"}}]
                record.add(claim, key)
        visit += 1
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction", "entry": record.entries[:size]}
    if publish:
        bundle["meta"] = {"tag": [{"system": "urn:continuum:fhir:CodeSystem:import", "code": "publish"}]}
    return bundle
