"""Our records as FHIR R4 (4.0.1) resources: pure functions from the registry, the items of
the repositories and the care objects to plain JSON-ready dicts.

Nothing here reads the database or asks who may see what: the callers (``selectors``) hand
in only what the user may see. Ids are stable: a registry entry's uuid names the resource
an item maps to (a correction keeps it and raises ``meta.versionId``), and the resources
derived from one item (a diagnosis' stage, its T, N and M, markers, ECOG, disease status,
its Provenance) carry that uuid with a suffix (``<entry uuid>-stage``). Referrals, care
tasks, hand-offs, messages and organizations keep their own uuids; a person (who has no
uuid) is named by a uuid derived from their account.

Reads are answered with these dicts and the standard ``json`` module; ``fhir.resources``
(R4B) validates them in the tests only, as it costs 20–40 times more than the mapping.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from portal.fhir import codes as c
from portal.fhir.codes import Profile

PRACTITIONER_NAMESPACE = uuid.UUID("6f0b7c1e-3f5a-4f0e-9a57-2d1c6c0f4a11")

# --- small builders -----------------------------------------------------------------


@lru_cache(maxsize=4096)
def practitioner_id(user_id: int) -> str:
    return str(uuid.uuid5(PRACTITIONER_NAMESPACE, f"user:{user_id}"))


def ref(resource_type: str, resource_id: Any, display: str | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        reference["display"] = display
    return reference


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    result = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


def concept(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if codings:
        result["coding"] = list(codings)
    if text:
        result["text"] = text
    return result


def instant(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day(value: Any) -> str | None:
    """A FHIR date from our ISO date strings or dates (None when empty)."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def number(value: Any) -> int | float | None:
    """A decimal string as a JSON number (an int when whole), None when empty or not a number."""
    if value in (None, ""):
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        return None
    if not parsed.is_finite():
        return None
    return int(parsed) if parsed == parsed.to_integral_value() and "." not in str(value) else float(parsed)


def ucum(unit: str) -> str:
    """Our unit text as a UCUM code (``10^3/uL`` → ``10*3/uL``)."""
    return unit.strip().replace("^", "*").replace("µ", "u").replace(" ", "")


def quantity(value: Any, unit: str) -> dict[str, Any] | None:
    amount = number(value)
    if amount is None:
        return None
    result: dict[str, Any] = {"value": amount}
    if unit:
        result.update({"unit": unit, "system": c.UCUM, "code": ucum(unit)})
    return result


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def meta(profile: str | None, version: int | None = None, updated: dt.datetime | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if version is not None:
        result["versionId"] = str(version)
    if updated is not None:
        result["lastUpdated"] = instant(updated)
    if profile:
        result["profile"] = [profile]
    return result


def category(system: str, code: str, display: str | None = None) -> list[dict[str, Any]]:
    return [concept(coding(system, code, display))]


# --- what a mapping needs to know about an entry and its item -------------------------


@dataclass
class Source:
    """One version of a published item, with what its registry entry says about it."""

    entry_id: str
    kind: str
    patient_id: str
    organization_id: str
    organization_name: str
    version: int
    state: str  # "final" (first version), "amended" (a correction) or "withdrawn"
    effective_at: dt.datetime
    updated_at: dt.datetime
    title: str
    code: str
    data: dict[str, Any]
    author_id: int | None = None
    author_name: str = ""
    publisher_id: int | None = None
    publisher_name: str = ""
    withdrawn_reason: str = ""
    previous_updated_at: dt.datetime | None = None
    document: dict[str, Any] | None = None
    derived: list[str] = field(default_factory=list)  # filled by ``entry_resources``
    # The people themselves (for the Practitioner resources an answer includes).
    author_user: Any = None
    publisher_user: Any = None
    # The API client that wrote this version for its author (an import), if any.
    via_client_id: str = ""
    via_client_name: str = ""

    @property
    def withdrawn(self) -> bool:
        return self.state == "withdrawn"

    def subject(self) -> dict[str, Any]:
        return ref("Patient", self.patient_id)

    def owner(self) -> dict[str, Any]:
        return ref("Organization", self.organization_id, self.organization_name)

    def author(self) -> dict[str, Any] | None:
        return ref("Practitioner", practitioner_id(self.author_id), self.author_name) if self.author_id else None

    def meta(self, profile: str | None) -> dict[str, Any]:
        return meta(profile, self.version, self.updated_at)


def source_from(entry: Any, item: Any, *, current: bool = True) -> Source:
    """A ``Source`` from a registry entry (organization and published_by loaded) and one
    version of its item (the current one unless ``current`` is False; author loaded)."""
    version = item.version if item is not None else entry.version
    if current and entry.status == "withdrawn":
        state = "withdrawn"
    elif version > 1:
        state = "amended"
    else:
        state = "final"
    data = dict(item.data) if item is not None else {}
    document = None
    if item is not None and item.kind == "document":
        stored = getattr(item, "document", None)
        if stored is not None:
            document = {"content_type": stored.content_type, "name": stored.original_name, "size": stored.size}
    updated = (item.published_at if item is not None and not current else None) or entry.published_at
    author = getattr(item, "author", None) if item is not None else None
    publisher = entry.published_by if current else author
    return Source(
        entry_id=str(entry.uuid),
        kind=entry.kind,
        patient_id=str(entry.patient.uuid) if hasattr(entry, "patient") and entry.patient else "",
        organization_id=str(entry.organization.uuid),
        organization_name=entry.organization.name,
        version=version,
        state=state,
        effective_at=item.effective_at if item is not None else entry.effective_at,
        updated_at=updated,
        title=item.title if item is not None else entry.title,
        code=item.code if item is not None else entry.code,
        data=data,
        author_id=author.pk if author is not None else None,
        author_name=author.full_name if author is not None else "",
        publisher_id=publisher.pk if publisher is not None else None,
        publisher_name=publisher.full_name if publisher is not None else "",
        withdrawn_reason=(item.withdrawn_reason if item is not None else "") if state == "withdrawn" else "",
        document=document,
        author_user=author,
        publisher_user=publisher,
        via_client_id=getattr(item, "via_client_id", "") if item is not None else "",
        via_client_name=getattr(item, "via_client_name", "") if item is not None else "",
    )


# --- the patient, organizations, practitioners ---------------------------------------


def patient_resource(patient: Any, identifiers: Iterable[Any]) -> dict[str, Any]:
    """``identifiers``: the PatientIdentifier rows (organization loaded) the caller may see."""
    name: dict[str, Any] = {"use": "official", "family": patient.family_name, "given": [patient.given_name]}
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.uuid),
        "meta": meta(Profile.CANCER_PATIENT, 1, patient.created_at),
        "identifier": [
            {
                "use": "usual",
                "type": concept(coding(c.IDENTIFIER_TYPE, "MR", "Medical record number")),
                "system": c.MRN_SYSTEM + str(identifier.organization.uuid),
                "value": identifier.mrn,
                "assigner": ref("Organization", identifier.organization.uuid, identifier.organization.name),
            }
            for identifier in identifiers
        ],
        "active": True,
        "name": [name],
        "gender": patient.sex if patient.sex in ("male", "female", "other") else "unknown",
        "birthDate": day(patient.date_of_birth),
    }
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone}]
    if patient.postal_code:
        resource["address"] = [{"postalCode": patient.postal_code}]
    if not resource["identifier"]:
        del resource["identifier"]
    return resource


def organization_resource(organization: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(organization.uuid),
        "meta": meta(Profile.ORGANIZATION),
        "active": organization.status == "active",
        "name": organization.name,
    }
    if organization.npi:
        resource["identifier"] = [{"system": c.NPI, "value": organization.npi}]
    if organization.city:
        resource["address"] = [{"city": organization.city}]
    return resource


def practitioner_resource(user: Any) -> dict[str, Any]:
    parts = user.full_name.split()
    name: dict[str, Any] = {"text": user.full_name}
    if parts:
        name["family"] = parts[-1]
        if len(parts) > 1:
            name["given"] = parts[:-1]
    if user.credentials:
        name["suffix"] = [user.credentials]
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": practitioner_id(user.pk),
        "meta": meta(Profile.PRACTITIONER),
        "active": user.is_active,
        "name": [name],
    }
    if user.npi:
        resource["identifier"] = [{"system": c.NPI, "value": user.npi}]
    return resource


# --- clinical items ------------------------------------------------------------------


def _observation(
    source: Source, suffix: str, profile: str, code: dict[str, Any], categories: list[dict[str, Any]] | None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{source.entry_id}-{suffix}" if suffix else source.entry_id,
        "meta": source.meta(profile),
        "status": _observation_status(source),
    }
    if categories:
        resource["category"] = categories
    resource["code"] = code
    resource["subject"] = source.subject()
    return resource


def _observation_status(source: Source) -> str:
    return {"withdrawn": "entered-in-error", "amended": "amended"}.get(source.state, "final")


def _effective(source: Source, value: Any = None) -> str:
    return day(value) or instant(source.effective_at) or ""


def _performers(source: Source) -> list[dict[str, Any]]:
    performers = [source.owner()]
    author = source.author()
    if author:
        performers.insert(0, author)
    return performers


def cancer_diagnosis_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    primary = data.get("role", "primary") != "secondary"
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": source.entry_id,
        "meta": source.meta(Profile.PRIMARY_CANCER_CONDITION if primary else Profile.SECONDARY_CANCER_CONDITION),
    }
    if data.get("histology"):
        condition["extension"] = [{"url": c.HISTOLOGY_EXTENSION, "valueCodeableConcept": {"text": data["histology"]}}]
    if source.withdrawn:
        condition["verificationStatus"] = concept(coding(c.CONDITION_VERIFICATION, "entered-in-error"))
    else:
        condition["clinicalStatus"] = concept(
            coding(
                c.CONDITION_CLINICAL,
                "remission" if data.get("disease_status") == "no_evidence" else "active",
            )
        )
        condition["verificationStatus"] = concept(coding(c.CONDITION_VERIFICATION, "confirmed"))
    condition["category"] = category(c.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
    icd = data.get("icd10") or source.code
    condition["code"] = concept(*([coding(c.ICD10, icd)] if icd else []), text=data.get("condition") or source.title)
    condition["subject"] = source.subject()
    condition["onsetDateTime"] = _effective(source)
    condition["recordedDate"] = instant(source.updated_at)
    if source.author():
        condition["recorder"] = source.author()
    resources = [condition]
    staging_date = data.get("staging_date")
    focus = [ref("Condition", source.entry_id)]
    members: list[dict[str, Any]] = []
    for key in ("t", "n", "m"):
        value = data.get(f"stage_{key}")
        if not value:
            continue
        loinc, display, profile = c.TNM_CODES[key]
        observation = _observation(source, key, profile, concept(coding(c.LOINC, loinc, display)), None)
        observation["focus"] = focus
        observation["effectiveDateTime"] = _effective(source, staging_date)
        prefix = "" if str(value).lower().startswith(("c", "p", "y")) else "c"
        observation["valueCodeableConcept"] = concept(
            coding(c.AJCC, f"{prefix}{key.upper()}{value}"), text=f"{key.upper()}{value}"
        )
        observation["method"] = concept(coding(*c.AJCC_METHOD))
        members.append(ref("Observation", observation["id"]))
        resources.append(observation)
    if data.get("stage_group") or members:
        stage = _observation(
            source, "stage", Profile.TNM_STAGE_GROUP, concept(coding(c.LOINC, *c.STAGE_GROUP_CODE)), None
        )
        stage["focus"] = focus
        stage["effectiveDateTime"] = _effective(source, staging_date)
        if data.get("stage_group"):
            stage["valueCodeableConcept"] = concept(
                coding(c.AJCC, str(data["stage_group"])), text=f"Stage {data['stage_group']}"
            )
        else:
            stage["dataAbsentReason"] = concept(text="Not staged")
        stage["method"] = concept(coding(*c.AJCC_METHOD))
        if members:
            stage["hasMember"] = members
        resources.insert(1, stage)
    lab = category(c.OBSERVATION_CATEGORY, "laboratory", "Laboratory")
    for key, (loinc, display) in c.MARKERS.items():
        value = data.get(key)
        if not value:
            continue
        marker = _observation(source, key, Profile.TUMOR_MARKER, concept(coding(c.LOINC, loinc, display)), lab)
        marker["effectiveDateTime"] = _effective(source, staging_date)
        code, text = c.MARKER_RESULT.get(value, ("", value))
        marker["valueCodeableConcept"] = concept(*([coding(c.SNOMED, code, text)] if code else []), text=text)
        marker["focus"] = focus
        resources.append(marker)
    others = [part.strip() for part in str(data.get("other_markers") or "").split(",") if part.strip()]
    for index, text in enumerate(others, start=1):
        marker = _observation(source, f"marker-{index}", Profile.TUMOR_MARKER, concept(text="Tumor marker"), lab)
        marker["effectiveDateTime"] = _effective(source, staging_date)
        marker["valueString"] = text
        marker["focus"] = focus
        resources.append(marker)
    ecog = data.get("ecog")
    if ecog not in (None, ""):
        score = int(ecog)
        observation = _observation(
            source,
            "ecog",
            Profile.ECOG,
            concept(coding(c.LOINC, *c.ECOG_CODE)),
            category(c.OBSERVATION_CATEGORY, "survey", "Survey"),
        )
        observation["effectiveDateTime"] = _effective(source)
        answer = c.ECOG_ANSWERS.get(score)
        observation["valueInteger"] = score
        if answer:
            observation["interpretation"] = [concept(coding(c.LOINC, *answer))]
        resources.append(observation)
    status = data.get("disease_status")
    if status:
        observation = _observation(
            source,
            "status",
            Profile.DISEASE_STATUS,
            concept(coding(c.LOINC, *c.DISEASE_STATUS_CODE)),
            category(c.OBSERVATION_CATEGORY, "exam", "Exam"),
        )
        observation["focus"] = focus
        observation["effectiveDateTime"] = _effective(source)
        code, text = c.DISEASE_STATUS.get(status, ("", status))
        observation["valueCodeableConcept"] = concept(*([coding(c.SNOMED, code, text)] if code else []), text=text)
        resources.append(observation)
    return resources


def _intent(value: str) -> dict[str, Any]:
    code, display = c.INTENT.get(value, ("", value))
    return concept(*([coding(c.SNOMED, code, display)] if code else []), text=value.capitalize())


def treatment_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    modality = data.get("modality", "")
    status = data.get("treatment_status", "")
    period = {"start": _effective(source, source.effective_at)}
    if data.get("end_date"):
        period["end"] = day(data["end_date"]) or ""
    if modality in ("surgery", "radiation"):
        surgery = modality == "surgery"
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": source.entry_id,
            "meta": source.meta(Profile.SURGICAL_PROCEDURE if surgery else Profile.RADIOTHERAPY_SUMMARY),
            "extension": [
                {
                    "url": c.PROCEDURE_INTENT_EXTENSION,
                    "valueCodeableConcept": _intent(data.get("intent", "")),
                }
            ],
            "status": "entered-in-error"
            if source.withdrawn
            else {
                "planned": "preparation",
                "active": "in-progress",
                "completed": "completed",
                "stopped": "stopped",
            }.get(status, "unknown"),
            "category": concept(coding(c.SNOMED, *(c.SURGERY_CATEGORY if surgery else c.RADIOTHERAPY_CATEGORY))),
            "code": concept(text=data.get("regimen") or source.title)
            if surgery
            else concept(coding(c.SNOMED, *c.RADIOTHERAPY_CODE), text=data.get("regimen") or source.title),
            "subject": source.subject(),
            "performedPeriod": period,
        }
        performers: list[dict[str, Any]] = [{"actor": source.owner()}]
        author = source.author()
        if author:
            performers.insert(0, {"actor": author, "onBehalfOf": source.owner()})
        resource["performer"] = performers
        return [resource]
    medication = data.get("agents") or data.get("regimen") or source.title
    resource = {
        "resourceType": "MedicationRequest",
        "id": source.entry_id,
        "meta": source.meta(Profile.MEDICATION_REQUEST),
        "extension": [{"url": c.TREATMENT_INTENT_EXTENSION, "valueCodeableConcept": _intent(data.get("intent", ""))}],
        "status": "entered-in-error"
        if source.withdrawn
        else {"planned": "draft", "active": "active", "completed": "completed", "stopped": "stopped"}.get(
            status, "unknown"
        ),
        "intent": "plan" if status == "planned" else "order",
        "category": [concept(text=modality.capitalize())] if modality else [],
        "medicationCodeableConcept": concept(text=medication),
        "subject": source.subject(),
        "authoredOn": _effective(source, source.effective_at),
        "dosageInstruction": [
            {"text": data.get("regimen") or medication, "timing": {"repeat": {"boundsPeriod": period}}}
        ],
    }
    if not resource["category"]:
        del resource["category"]
    if source.author():
        resource["requester"] = source.author()
    if data.get("regimen"):
        resource["note"] = [{"text": f"Regimen: {data['regimen']}"}]
    return [resource]


def problem_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": source.entry_id,
        "meta": source.meta(Profile.PROBLEM),
    }
    if source.withdrawn:
        resource["verificationStatus"] = concept(coding(c.CONDITION_VERIFICATION, "entered-in-error"))
    else:
        resource["clinicalStatus"] = concept(
            coding(c.CONDITION_CLINICAL, "resolved" if data.get("problem_status") == "resolved" else "active")
        )
        resource["verificationStatus"] = concept(coding(c.CONDITION_VERIFICATION, "confirmed"))
    resource["category"] = category(c.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
    icd = data.get("icd10") or source.code
    resource["code"] = concept(*([coding(c.ICD10, icd)] if icd else []), text=data.get("name") or source.title)
    resource["subject"] = source.subject()
    resource["onsetDateTime"] = _effective(source)
    resource["recordedDate"] = instant(source.updated_at)
    if source.author():
        resource["recorder"] = source.author()
    return [resource]


def medication_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    dosage_text = " ".join(filter(None, [data.get("dose"), data.get("route"), data.get("frequency")]))
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": source.entry_id,
        "meta": source.meta(Profile.MEDICATION_STATEMENT),
        "status": "entered-in-error"
        if source.withdrawn
        else ("stopped" if data.get("medication_status") == "stopped" else "active"),
        "medicationCodeableConcept": concept(text=data.get("name") or source.title),
        "subject": source.subject(),
        "effectiveDateTime": _effective(source),
        "dateAsserted": instant(source.updated_at),
    }
    if source.author():
        resource["informationSource"] = source.author()
    if dosage_text:
        dosage: dict[str, Any] = {"text": dosage_text}
        if data.get("route"):
            dosage["route"] = concept(text=data["route"])
        resource["dosage"] = [dosage]
    return [resource]


def allergy_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": source.entry_id,
        "meta": source.meta(Profile.ALLERGY),
    }
    if source.withdrawn:
        resource["verificationStatus"] = concept(coding(c.ALLERGY_VERIFICATION, "entered-in-error"))
    else:
        resource["clinicalStatus"] = concept(coding(c.ALLERGY_CLINICAL, "active"))
        resource["verificationStatus"] = concept(coding(c.ALLERGY_VERIFICATION, "confirmed"))
    resource["criticality"] = "high" if data.get("severity") == "severe" else "low"
    resource["code"] = concept(text=data.get("substance") or source.title)
    resource["patient"] = source.subject()
    resource["recordedDate"] = _effective(source)
    if source.author():
        resource["recorder"] = source.author()
    if data.get("reaction"):
        reaction: dict[str, Any] = {"manifestation": [concept(text=data["reaction"])]}
        if data.get("severity") in ("mild", "moderate", "severe"):
            reaction["severity"] = data["severity"]
        resource["reaction"] = [reaction]
    return [resource]


def lab_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    loinc = data.get("loinc") or source.code
    observation = _observation(
        source,
        "",
        Profile.LAB,
        concept(*([coding(c.LOINC, loinc)] if loinc else []), text=data.get("test") or source.title),
        category(c.OBSERVATION_CATEGORY, "laboratory", "Laboratory"),
    )
    observation["effectiveDateTime"] = _effective(source)
    observation["issued"] = instant(source.updated_at)
    observation["performer"] = _performers(source)
    unit = data.get("unit", "")
    value = quantity(data.get("value"), unit)
    if value is not None:
        observation["valueQuantity"] = value
    else:
        observation["valueString"] = str(data.get("value", ""))
    low, high = quantity(data.get("reference_low"), unit), quantity(data.get("reference_high"), unit)
    if low or high:
        observation["referenceRange"] = [{key: q for key, q in (("low", low), ("high", high)) if q}]
        flag = _lab_flag(data)
        if flag:
            code = {"low": "L", "high": "H", "normal": "N"}[flag]
            observation["interpretation"] = [
                concept(coding(c.INTERPRETATION, code, {"L": "Low", "H": "High", "N": "Normal"}[code]))
            ]
    if data.get("panel"):
        observation["note"] = [{"text": f"Panel: {data['panel']}"}]
    return [observation]


def _lab_flag(data: dict[str, Any]) -> str:
    try:
        value = Decimal(str(data.get("value")))
        low = data.get("reference_low")
        high = data.get("reference_high")
        if low not in (None, "") and value < Decimal(str(low)):
            return "low"
        if high not in (None, "") and value > Decimal(str(high)):
            return "high"
        return "normal"
    except (InvalidOperation, ValueError):
        return ""


def report_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    loinc, display, category_code, category_display = c.REPORT_CODES[source.kind]
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": source.entry_id,
        "meta": source.meta(Profile.REPORT),
        "status": {"withdrawn": "entered-in-error", "amended": "amended"}.get(source.state, "final"),
        "category": category(c.LOINC, category_code, category_display),
        "code": concept(coding(c.LOINC, loinc, display), text=data.get("study") or source.title),
        "subject": source.subject(),
        "effectiveDateTime": _effective(source),
        "issued": instant(source.updated_at),
        "performer": [source.owner()],
    }
    if source.author():
        resource["resultsInterpreter"] = [source.author()]
    if data.get("impression"):
        resource["conclusion"] = data["impression"]
    if data.get("findings"):
        resource["presentedForm"] = [
            {"contentType": "text/plain; charset=utf-8", "data": b64(data["findings"]), "title": "Findings"}
        ]
    return [resource]


def document_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    note_type = "discharge" if source.kind == "discharge" else data.get("note_type") or source.kind
    if source.kind == "consult_note":
        note_type = "consult"
    loinc, display = c.NOTE_TYPES.get(note_type, c.NOTE_TYPES["document"])
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": source.entry_id,
        "meta": source.meta(Profile.DOCUMENT),
        "status": "entered-in-error" if source.withdrawn else "current",
        "docStatus": "amended" if source.state == "amended" else ("entered-in-error" if source.withdrawn else "final"),
        "type": concept(coding(c.LOINC, loinc, display)),
        "category": category(c.DOCUMENT_CATEGORY, "clinical-note", "Clinical Note"),
        "subject": source.subject(),
        "date": instant(source.updated_at),
        "custodian": source.owner(),
        "description": source.title,
        "context": {"period": {"start": _effective(source)}},
    }
    if source.author():
        resource["author"] = [source.author()]
    if source.kind == "document":
        document = source.document or {}
        attachment: dict[str, Any] = {
            "contentType": document.get("content_type") or "application/octet-stream",
            "url": f"Binary/{source.entry_id}",
            "title": document.get("name") or source.title,
        }
        if document.get("size"):
            attachment["size"] = document["size"]
        resource["content"] = [{"attachment": attachment}]
    else:
        if source.kind == "discharge":
            text = "\n".join(
                line
                for line in (
                    f"Admitted: {day(source.effective_at)}",
                    f"Discharged: {data.get('discharge_date', '')}",
                    f"Reason for admission: {data.get('reason', '')}",
                    f"Discharge diagnosis: {data.get('diagnosis', '')}",
                    f"Instructions: {data.get('instructions', '')}",
                    f"Follow-up: {data['follow_up']}" if data.get("follow_up") else "",
                )
                if line
            )
            resource["context"]["period"]["end"] = (
                day(data.get("discharge_date")) or resource["context"]["period"]["start"]
            )
        else:
            text = data.get("text", "")
        resource["content"] = [
            {"attachment": {"contentType": "text/plain; charset=utf-8", "data": b64(text), "title": source.title}}
        ]
    return [resource]


# A tumor board's finalised recommendation (a published entry of the board's organization) is
# a DocumentReference: the board's written consult on the case (LOINC 11488-4 "Consult note",
# with our record kind as a second coding), its text as a plain-text attachment, and the
# structured fields in one complex extension, since FHIR R4 and mCODE have no tumor-board
# resource: the category of treatment, the NCCN category of evidence, the clinical trial
# considered (or "none suitable"), the genetic counselling referral, dissent, and whether the
# quorum was met.
BOARD_RECOMMENDATION_EXTENSION = "urn:continuum:fhir:StructureDefinition:tumor-board-recommendation"
BOARD_CATEGORY_SYSTEM = c.OUR_SYSTEM + "tumor-board-recommendation-category"
NCCN_EVIDENCE_SYSTEM = c.OUR_SYSTEM + "nccn-evidence-category"
RECORD_KIND_SYSTEM = c.OUR_SYSTEM + "record-kind"
BOARD_CATEGORIES = {
    "surgery": "Surgery",
    "systemic_therapy": "Systemic therapy",
    "radiation": "Radiation",
    "surveillance": "Surveillance",
    "further_workup": "Further work-up",
    "palliative_care": "Palliative care",
}
NO_TRIAL_SUITABLE = "None suitable"


def board_recommendation_resources(source: Source) -> list[dict[str, Any]]:
    data = source.data
    [resource] = document_resources(source)
    resource["type"] = concept(
        coding(c.LOINC, "11488-4", "Consult note"),
        coding(RECORD_KIND_SYSTEM, "tumor_board_recommendation", "Tumor board recommendation"),
        text="Tumor board recommendation",
    )
    parts: list[dict[str, Any]] = []
    if data.get("category") in BOARD_CATEGORIES:
        label = BOARD_CATEGORIES[data["category"]]
        parts.append(
            {"url": "category", "valueCodeableConcept": concept(coding(BOARD_CATEGORY_SYSTEM, data["category"], label))}
        )
    if data.get("evidence"):
        code = str(data["evidence"])
        evidence = coding(NCCN_EVIDENCE_SYSTEM, code, f"NCCN category {code}")
        parts.append({"url": "evidenceCategory", "valueCodeableConcept": concept(evidence)})
    trial = str(data.get("clinical_trial") or "")
    if trial == NO_TRIAL_SUITABLE:
        parts.append({"url": "noClinicalTrialSuitable", "valueBoolean": True})
    elif trial:
        parts.append({"url": "clinicalTrial", "valueString": trial})
    parts.append({"url": "geneticCounsellingReferral", "valueBoolean": data.get("genetic_counselling") == "yes"})
    if data.get("dissent"):
        parts.append({"url": "dissent", "valueString": data["dissent"]})
    if data.get("quorum") in ("met", "not_met"):
        parts.append({"url": "quorumMet", "valueBoolean": data["quorum"] == "met"})
    if data.get("presentation"):
        parts.append({"url": "presentation", "valueString": data["presentation"]})
    resource["extension"] = [{"url": BOARD_RECOMMENDATION_EXTENSION, "extension": parts}]
    text = "\n".join(
        line
        for line in (
            f"Board: {data.get('board', '')} ({data.get('board_organization', '')})",
            f"Question: {data.get('question', '')}",
            f"Recommendation ({BOARD_CATEGORIES.get(data.get('category', ''), '')}, "
            f"NCCN category {data.get('evidence', '')}): {data.get('recommendation', '')}",
            f"Clinical trial: {trial or NO_TRIAL_SUITABLE}",
            f"Genetic counselling referral: {data.get('genetic_counselling', 'no')}",
            f"Dissent: {data['dissent']}" if data.get("dissent") else "",
            f"Quorum: {'met' if data.get('quorum') == 'met' else 'not met'}",
            f"Present: {data['attendees']}" if data.get("attendees") else "",
        )
        if line
    )
    resource["content"] = [
        {"attachment": {"contentType": "text/plain; charset=utf-8", "data": b64(text), "title": source.title}}
    ]
    return [resource]


def binary_resource(*, entry_id: str, content_type: str, content: bytes) -> dict[str, Any]:
    return {
        "resourceType": "Binary",
        "id": entry_id,
        "contentType": content_type,
        "data": base64.b64encode(content).decode("ascii"),
    }


KIND_MAPPERS: dict[str, Callable[[Source], list[dict[str, Any]]]] = {
    "cancer_diagnosis": cancer_diagnosis_resources,
    "treatment": treatment_resources,
    "problem": problem_resources,
    "medication": medication_resources,
    "allergy": allergy_resources,
    "lab_result": lab_resources,
    "imaging_report": report_resources,
    "pathology_report": report_resources,
    "note": document_resources,
    "consult_note": document_resources,
    "discharge": document_resources,
    "document": document_resources,
    "tumor_board_recommendation": board_recommendation_resources,
}

# The resource types each kind of item can produce (for choosing entries by type).
KIND_TYPES: dict[str, frozenset[str]] = {
    "cancer_diagnosis": frozenset({"Condition", "Observation"}),
    "treatment": frozenset({"MedicationRequest", "Procedure"}),
    "problem": frozenset({"Condition"}),
    "medication": frozenset({"MedicationStatement"}),
    "allergy": frozenset({"AllergyIntolerance"}),
    "lab_result": frozenset({"Observation"}),
    "imaging_report": frozenset({"DiagnosticReport"}),
    "pathology_report": frozenset({"DiagnosticReport"}),
    "note": frozenset({"DocumentReference"}),
    "consult_note": frozenset({"DocumentReference"}),
    "discharge": frozenset({"DocumentReference"}),
    "document": frozenset({"DocumentReference"}),
    "tumor_board_recommendation": frozenset({"DocumentReference"}),
}


def entry_resources(source: Source) -> list[dict[str, Any]]:
    """Every resource one version of an item maps to (its main resource first)."""
    mapper = KIND_MAPPERS.get(source.kind)
    if mapper is None:
        return []
    resources = mapper(source)
    source.derived = [f"{r['resourceType']}/{r['id']}" for r in resources]
    return resources


API_CLIENT_SYSTEM = "urn:continuum:fhir:api-client"


def provenance_resource(source: Source, targets: list[str]) -> dict[str, Any]:
    """Who published the entry for which organization, and when it was published, corrected
    or withdrawn; ``targets``: the resources its item maps to (``Type/id``)."""
    activity = {"withdrawn": "NULLIFY", "amended": "UPDATE"}.get(source.state, "CREATE")
    agents: list[dict[str, Any]] = []
    if source.author_id:
        agents.append(
            {
                "type": concept(coding(c.PROVENANCE_AGENT_TYPE, "author", "Author")),
                "who": ref("Practitioner", practitioner_id(source.author_id), source.author_name),
                "onBehalfOf": source.owner(),
            }
        )
    if source.publisher_id and source.publisher_id != source.author_id:
        agents.append(
            {
                "type": concept(coding(c.PROVENANCE_AGENT_TYPE, "verifier", "Verifier")),
                "who": ref("Practitioner", practitioner_id(source.publisher_id), source.publisher_name),
                "onBehalfOf": source.owner(),
            }
        )
    if source.via_client_id:
        # The partner system that sent it (an API client importing for the author): named by
        # its client id, as the access log names it; no Device resource is served.
        who: dict[str, Any] = {
            "type": "Device",
            "identifier": {"system": API_CLIENT_SYSTEM, "value": source.via_client_id},
            "display": f"API client {source.via_client_name}",
        }
        agents.append(
            {
                "type": concept(coding(c.PROVENANCE_AGENT_TYPE, "informant", "Informant")),
                "who": who,
                "onBehalfOf": ref("Practitioner", practitioner_id(source.author_id), source.author_name)
                if source.author_id
                else source.owner(),
            }
        )
    agents.append({"type": concept(coding(c.PROVENANCE_AGENT_TYPE, "custodian", "Custodian")), "who": source.owner()})
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": f"{source.entry_id}-provenance",
        "meta": source.meta(Profile.PROVENANCE),
        "target": [{"reference": f"{target}/_history/{source.version}"} for target in targets],
        "occurredDateTime": instant(source.effective_at),
        "recorded": instant(source.updated_at),
        "activity": concept(coding(c.DATA_OPERATION, activity)),
        "agent": agents,
    }
    if source.withdrawn and source.withdrawn_reason:
        resource["reason"] = [concept(text=f"Withdrawn: {source.withdrawn_reason}")]
    if source.version > 1 and targets:
        resource["entity"] = [
            {"role": "revision", "what": {"reference": f"{targets[0]}/_history/{source.version - 1}"}}
        ]
    return resource


# --- closing the loop ----------------------------------------------------------------

REFERRAL_TASK_STATUS = {
    "requested": "requested",
    "received": "received",
    "accepted": "accepted",
    "declined": "rejected",
    "scheduled": "in-progress",
    "completed": "completed",
    "cancelled": "cancelled",
}
REFERRAL_STATE_LABELS = {
    "requested": "Requested",
    "received": "Received",
    "accepted": "Accepted",
    "declined": "Declined",
    "scheduled": "Scheduled",
    "completed": "Closed with outcome",
    "cancel_requested": "Cancellation requested",
    "cancelled": "Cancelled",
}


def referral_task_status(referral: Any) -> str:
    if referral.state == "cancel_requested":
        return REFERRAL_TASK_STATUS.get(referral.state_before_cancel or "requested", "requested")
    return REFERRAL_TASK_STATUS[referral.state]


def referral_resources(referral: Any, *, visible_entry_ids: set[str]) -> list[dict[str, Any]]:
    """A referral as BSeR's pair: the ServiceRequest (what is asked) and the Task (where it is)."""
    patient = ref("Patient", referral.patient.uuid)
    referrer = ref("Organization", referral.referring_organization.uuid, referral.referring_organization.name)
    receiver = ref("Organization", referral.receiving_organization.uuid, referral.receiving_organization.name)
    service_status = {"completed": "completed", "cancelled": "revoked", "declined": "revoked"}.get(
        referral.state, "active"
    )
    service: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(referral.uuid),
        "meta": meta(Profile.SERVICE_REQUEST, None, referral.updated_at),
        "status": service_status,
        "intent": "order",
        "category": [concept(coding(c.SNOMED, "3457005", "Patient referral"))],
        "priority": referral.priority if referral.priority in ("routine", "urgent") else "routine",
        "code": concept(text=referral.specialty),
        "subject": patient,
        "authoredOn": instant(referral.created_at),
        "requester": ref("Practitioner", practitioner_id(referral.referred_by_id), referral.referred_by.full_name),
        "performer": [receiver],
    }
    if referral.reason:
        service["reasonCode"] = [concept(text=referral.reason)]
    attached = [
        ref(_entry_type(entry.kind), entry.uuid)
        for entry in referral.attachments.all()
        if str(entry.uuid) in visible_entry_ids
    ]
    if attached:
        service["supportingInfo"] = attached
    if referral.appointment_at:
        service["occurrenceDateTime"] = instant(referral.appointment_at)
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"{referral.uuid}-task",
        "meta": meta(Profile.REFERRAL_TASK, None, referral.updated_at),
        "basedOn": [ref("ServiceRequest", referral.uuid)],
        "status": referral_task_status(referral),
        "businessStatus": concept(
            coding(c.REFERRAL_STATE_SYSTEM, referral.state, REFERRAL_STATE_LABELS.get(referral.state)),
            text=REFERRAL_STATE_LABELS.get(referral.state),
        ),
        "intent": "order",
        "priority": service["priority"],
        "code": concept(coding("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request")),
        "focus": ref("ServiceRequest", referral.uuid),
        "for": patient,
        "authoredOn": instant(referral.created_at),
        "lastModified": instant(referral.updated_at),
        "requester": referrer,
        "owner": receiver,
    }
    if referral.state == "declined" and referral.decline_reason:
        task["statusReason"] = concept(text=referral.decline_reason)
    if referral.state in ("cancelled", "cancel_requested") and referral.cancel_reason:
        task["statusReason"] = concept(text=referral.cancel_reason)
    if referral.appointment_at:
        task["restriction"] = {"period": {"start": instant(referral.appointment_at)}}
    outcome = referral.outcome_entry
    if outcome is not None and str(outcome.uuid) in visible_entry_ids:
        task["output"] = [
            {
                "type": concept(coding(c.LOINC, "11488-4", "Consult note"), text="Consult report"),
                "valueReference": ref(_entry_type(outcome.kind), outcome.uuid),
            }
        ]
    return [service, task]


def _entry_type(kind: str) -> str:
    """The main resource type of an entry of this kind (what ``Type/<entry uuid>`` names)."""
    return {
        "cancer_diagnosis": "Condition",
        "treatment": "MedicationRequest",
        "problem": "Condition",
        "medication": "MedicationStatement",
        "allergy": "AllergyIntolerance",
        "lab_result": "Observation",
        "imaging_report": "DiagnosticReport",
        "pathology_report": "DiagnosticReport",
    }.get(kind, "DocumentReference")


def entry_reference(entry: Any) -> dict[str, Any]:
    kind_type = _entry_type(entry.kind)
    if entry.kind == "treatment" and (entry.summary or {}).get("modality") in ("surgery", "radiation"):
        kind_type = "Procedure"
    return ref(kind_type, entry.uuid)


def care_task_resources(task: Any, occurrences: list[Any], *, visible_entry_ids: set[str]) -> list[dict[str, Any]]:
    """A care task, and one Task per occurrence (``partOf`` the first), each done when a
    result is linked."""
    owner = ref("Organization", task.owner_organization.uuid, task.owner_organization.name)
    creator = ref("Organization", task.creating_organization.uuid, task.creating_organization.name)
    patient = ref("Patient", task.patient.uuid)
    main: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(task.uuid),
        "meta": meta(Profile.TASK, None, task.completed_at or task.created_at),
        "status": {"open": "in-progress", "done": "completed", "cancelled": "cancelled"}[task.status],
        "intent": "order",
        "code": concept(*([coding(c.LOINC, task.code)] if task.code else []), text=task.title),
        "description": task.title,
        "for": patient,
        "authoredOn": instant(task.created_at),
        "requester": creator,
        "owner": owner,
    }
    if task.instructions:
        main["note"] = [{"text": task.instructions}]
    if task.recurrence:
        main["input"] = [{"type": concept(text="Recurrence (RFC 5545)"), "valueString": task.recurrence}]
    resources = [main]
    now = dt.datetime.now(dt.UTC)
    for occurrence in occurrences:
        done = occurrence.done_at is not None
        status = "completed" if done else ("cancelled" if task.status == "cancelled" else "ready")
        item: dict[str, Any] = {
            "resourceType": "Task",
            "id": f"{task.uuid}-{occurrence.pk}",
            "meta": meta(Profile.TASK, None, occurrence.done_at or task.created_at),
            "partOf": [ref("Task", task.uuid)],
            "status": status,
            "businessStatus": concept(text="done" if done else ("overdue" if occurrence.due_at < now else "upcoming")),
            "intent": "order",
            "code": main["code"],
            "for": patient,
            "requester": creator,
            "owner": owner,
            "executionPeriod": {"end": instant(occurrence.due_at)},
        }
        result = occurrence.result_entry
        if result is not None and str(result.uuid) in visible_entry_ids:
            item["output"] = [{"type": concept(text="Result"), "valueReference": entry_reference(result)}]
        resources.append(item)
    return resources


RESPONSIBLE_LABELS = {"oncology": "Oncology", "primary_care": "Primary care"}


def handoff_resource(handoff: Any) -> dict[str, Any]:
    sender = ref("Organization", handoff.from_organization.uuid, handoff.from_organization.name)
    receiver = ref("Organization", handoff.to_organization.uuid, handoff.to_organization.name)
    activities = []
    for item in handoff.items or []:
        side = item.get("responsible", "")
        detail: dict[str, Any] = {
            "kind": "ServiceRequest",
            "code": concept(text=str(item.get("section", "")).replace("_", " ").capitalize() or "Follow-up"),
            "status": "completed" if handoff.acknowledged_at else "not-started",
            "description": item.get("text", ""),
        }
        if side in RESPONSIBLE_LABELS:
            detail["performer"] = [
                {
                    **(sender if side == "oncology" else receiver),
                    "display": f"{RESPONSIBLE_LABELS[side]}: "
                    + (handoff.from_organization.name if side == "oncology" else handoff.to_organization.name),
                }
            ]
            detail["reasonCode"] = [
                concept(coding(c.RESPONSIBLE_SYSTEM, side, RESPONSIBLE_LABELS[side]), text="Responsible side")
            ]
        activities.append({"detail": detail})
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(handoff.uuid),
        "meta": meta(Profile.CARE_PLAN, None, handoff.acknowledged_at or handoff.sent_at),
        "status": "completed" if handoff.acknowledged_at else "active",
        "intent": "plan",
        "category": [
            concept(coding("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan")),
            concept(text="Survivorship care plan" if handoff.kind == "survivorship" else "Discharge hand-off"),
        ],
        "title": "Survivorship care plan" if handoff.kind == "survivorship" else "Discharge hand-off",
        "description": handoff.treatment_summary,
        "subject": ref("Patient", handoff.patient.uuid),
        "created": instant(handoff.sent_at),
        "author": ref("Practitioner", practitioner_id(handoff.from_user_id), handoff.from_user.full_name),
        "contributor": [sender, receiver],
    }
    if activities:
        resource["activity"] = activities
    return resource


def communication_resource(message: Any, *, patient_id: str, visible_entry_ids: set[str]) -> dict[str, Any]:
    thread = message.thread
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(message.uuid),
        "meta": meta(Profile.COMMUNICATION, None, message.created_at),
        "status": "completed",
        "priority": "urgent" if message.urgent else "routine",
        "subject": ref("Patient", patient_id),
        "topic": concept(text=thread.subject),
        "sent": instant(message.created_at),
        "sender": ref("Practitioner", practitioner_id(message.sender_id), message.sender.full_name),
        "payload": [{"contentString": message.body}],
    }
    about = [entry_reference(entry) for entry in message.entries.all() if str(entry.uuid) in visible_entry_ids]
    if about:
        resource["about"] = about
    return resource


def care_team_resource(patient: Any, relationships: list[Any]) -> dict[str, Any]:
    """The patient's active care relationships (those the caller may know of) as one team."""
    participants = []
    for relationship in relationships:
        organization = ref("Organization", relationship.organization.uuid, relationship.organization.name)
        role = [
            concept(
                coding(c.RELATIONSHIP_KIND_SYSTEM, relationship.kind, relationship.get_kind_display()),
                text=relationship.get_kind_display(),
            )
        ]
        period: dict[str, Any] = {"start": instant(relationship.starts_at)}
        if relationship.ends_at:
            period["end"] = instant(relationship.ends_at)
        if relationship.clinician_id:
            participants.append(
                {
                    "role": role,
                    "member": ref(
                        "Practitioner", practitioner_id(relationship.clinician_id), relationship.clinician.full_name
                    ),
                    "onBehalfOf": organization,
                    "period": period,
                }
            )
        else:
            participants.append({"role": role, "member": organization, "period": period})
    resource: dict[str, Any] = {
        "resourceType": "CareTeam",
        "id": f"{patient.uuid}-careteam",
        "meta": meta(Profile.CARE_TEAM),
        "status": "active",
        "name": "Care team",
        "subject": ref("Patient", patient.uuid),
    }
    if participants:
        resource["participant"] = participants
    return resource


# --- audit ---------------------------------------------------------------------------

AUDIT_ACTIONS = {"read": "R", "search": "E", "create": "C", "update": "U", "publish": "U", "export": "R"}


def audit_event_resource(event: Any) -> dict[str, Any]:
    agent: dict[str, Any] = {
        "requestor": True,
        "who": ref("Practitioner", practitioner_id(event.actor_id), event.actor_label)
        if event.actor_id
        else {"display": event.actor_label or "system"},
    }
    if event.ip_address:
        agent["network"] = {"address": event.ip_address, "type": "2"}
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(event.uuid),
        "meta": meta(Profile.AUDIT_EVENT, 1, event.occurred_at),
        "type": coding(c.AUDIT_EVENT_TYPE, "rest", "RESTful Operation"),
        "subtype": [coding(OUR_AUDIT_ACTION_SYSTEM, event.action)],
        "action": AUDIT_ACTIONS.get(event.action, "E"),
        "recorded": instant(event.occurred_at),
        "outcome": "0" if event.outcome == "allowed" else "4",
        "agent": [agent],
        "source": {
            "observer": ref("Organization", event.acting_organization.uuid, event.acting_organization.name)
            if event.acting_organization_id
            else {"display": "Continuum"}
        },
    }
    entities: list[dict[str, Any]] = []
    if event.patient_id:
        entities.append(
            {"what": ref("Patient", event.patient.uuid), "type": coding(c.AUDIT_ENTITY_TYPE, "1", "Person")}
        )
    if event.object_type:
        entities.append({"name": event.object_type, "description": event.object_id or None})
    if event.emergency:
        resource["purposeOfEvent"] = [concept(coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "ETREAT"))]
    if entities:
        resource["entity"] = [{k: v for k, v in entity.items() if v is not None} for entity in entities]
    return resource


OUR_AUDIT_ACTION_SYSTEM = c.OUR_SYSTEM + "audit-action"


# --- errors and bundles --------------------------------------------------------------


def operation_outcome(diagnostics: str, *, code: str = "processing", severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def bundle(
    kind: str,
    entries: list[tuple[dict[str, Any], str | None]],
    *,
    base: str,
    total: int | None = None,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``entries``: (resource, search mode or None)."""
    result: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(dt.datetime.now(dt.UTC))},
        "type": kind,
    }
    if total is not None:
        result["total"] = total
    if links:
        result["link"] = [{"relation": relation, "url": url} for relation, url in links.items()]
    items = []
    for resource, mode in entries:
        item: dict[str, Any] = {"fullUrl": f"{base}{resource['resourceType']}/{resource['id']}", "resource": resource}
        if mode:
            item["search"] = {"mode": mode}
        items.append(item)
    result["entry"] = items
    return result
