"""FHIR resources as our records: the inverse of ``portal.fhir.mapping``, pure functions.

Each resource of an import gets a ``Plan``: a Patient to register; a directory resource
(Practitioner, Organization, Location) to remember by its keys; a clinical item of one of our
kinds with the values of its form (``portal.records.kinds``, which validates them); a part of a
cancer diagnosis (its TNM stage group, T, N and M, a tumor marker, ECOG, disease status: our
diagnosis keeps them on one item, as mCODE's Condition and its Observations read back); or a
resource we do not keep, with the reason. What cannot be read as our record although it is of
a kind we keep (a lab result without a unit, a treatment without its intent) is an
``ImportFailure`` naming the element.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from portal.fhir import codes as c
from portal.fhir.codes import Profile
from portal.fhir.importing.parse import ImportFailure

IMPORT_TAG_SYSTEM = c.OUR_SYSTEM + "import"
PUBLISH_TAG = "publish"
DIRECTORY_TYPES = frozenset({"Practitioner", "PractitionerRole", "Organization", "Location"})
ICD10_SYSTEMS = frozenset({c.ICD10, "http://hl7.org/fhir/sid/icd-10"})

# LOINC codes of the diagnosis' parts (clinical and pathological TNM; ER/PR/HER2 by
# interpretation or by immune stain).
STAGE_GROUP_CODES = frozenset({c.STAGE_GROUP_CODE[0], "21902-2"})
TNM_PART_CODES = {
    "21905-5": "t",
    "21906-3": "n",
    "21907-1": "m",
    "21899-0": "t",
    "21900-6": "n",
    "21901-4": "m",
}
TNM_PROFILES = {Profile.TNM_T: "t", Profile.TNM_N: "n", Profile.TNM_M: "m"}
MARKER_CODES = {
    **{loinc: key for key, (loinc, _display) in c.MARKERS.items()},
    "85337-4": "er",
    "85339-0": "pr",
    "85319-2": "her2",
}
MARKER_VALUES = {code: value for value, (code, _display) in c.MARKER_RESULT.items()}
ECOG_VALUES = {code: score for score, (code, _display) in c.ECOG_ANSWERS.items()}
DISEASE_STATUS_VALUES = {code: value for value, (code, _display) in c.DISEASE_STATUS.items()}
INTENT_VALUES = {code: value for value, (code, _display) in c.INTENT.items()}
MODALITIES = (
    ("immuno", "immunotherapy"),
    ("hormon", "hormonal"),
    ("endocrine", "hormonal"),
    ("targeted", "targeted"),
    ("chemo", "chemotherapy"),
)
CONSULT_NOTE, PROGRESS_NOTE, TELEPHONE_NOTE = "11488-4", "11506-3", "34748-4"
RADIOLOGY, PATHOLOGY = "LP29684-5", "LP7839-6"
IMAGING_CODE, PATHOLOGY_CODE = c.REPORT_CODES["imaging_report"][0], c.REPORT_CODES["pathology_report"][0]
TEXT_TYPES = ("text/plain", "text/markdown", "text/html")


@dataclass
class Plan:
    """What one resource of an import becomes."""

    role: str  # "patient", "directory", "item", "part" or "not_kept"
    kind: str = ""  # the item's kind (role "item")
    values: dict[str, Any] = field(default_factory=dict)  # the kind's form values
    part: str = ""  # role "part": stage, t, n, m, er, pr, her2, marker, ecog, status
    part_value: Any = None
    part_date: str = ""  # the part's own date (staging date)
    focus: list[str] = field(default_factory=list)  # references the part names as its focus
    members: list[str] = field(default_factory=list)  # a stage group's hasMember references
    subject: str = ""  # the reference to the patient
    read_as: str = ""  # the resource type it reads back as (when not its own)
    medication_reference: str = ""
    reason: str = ""  # role "not_kept": why
    # An uploaded file (kind "document"): its bytes from attachment.data, declared type, name.
    file: bytes | None = None
    file_type: str = ""
    file_name: str = ""


def not_kept(reason: str) -> Plan:
    return Plan(role="not_kept", reason=reason)


# --- reading FHIR values ----------------------------------------------------------------


def profiles(resource: dict[str, Any]) -> set[str]:
    return {p.split("|")[0] for p in (resource.get("meta") or {}).get("profile") or []}


def tagged_publish(resource: dict[str, Any]) -> bool:
    return any(
        tag.get("system") == IMPORT_TAG_SYSTEM and tag.get("code") == PUBLISH_TAG
        for tag in (resource.get("meta") or {}).get("tag") or []
    )


def codes_of(concept: Any, systems: frozenset[str] | str) -> list[str]:
    wanted = {systems} if isinstance(systems, str) else systems
    return [
        coding["code"]
        for coding in (concept or {}).get("coding") or []
        if coding.get("system") in wanted and isinstance(coding.get("code"), str)
    ]


def text_of(concept: Any) -> str:
    """A CodeableConcept's words: its text, else its first coding's display, else its code."""
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"]).strip()
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"]).strip()
    for coding in concept.get("coding") or []:
        if coding.get("code"):
            return str(coding["code"]).strip()
    return ""


def day_of(value: Any) -> str:
    """A FHIR date or dateTime as ``YYYY-MM-DD`` (a year or a month: its first day)."""
    if not isinstance(value, str) or not value:
        return ""
    text = value[:10]
    if len(text) == 4:
        return f"{text}-01-01"
    if len(text) == 7:
        return f"{text}-01"
    return text


def first_day(resource: dict[str, Any], *paths: str) -> str:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        found = day_of(value)
        if found:
            return found
    return ""


def reference_of(value: Any) -> str:
    return str(value.get("reference") or "") if isinstance(value, dict) else ""


def extension_concept(resource: dict[str, Any], url: str) -> Any:
    for extension in resource.get("extension") or []:
        if extension.get("url") == url:
            return extension.get("valueCodeableConcept")
    return None


def attachment_text(attachment: dict[str, Any], where: str) -> str:
    data = attachment.get("data")
    if not data:
        raise ImportFailure(
            422,
            f"{where}: the attachment has no data (a url alone is not fetched); send the text itself.",
            code="required",
            expression=where,
        )
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ImportFailure(422, f"{where}: the attachment's data is not base64 of UTF-8 text.", expression=where)


def _required(value: str, what: str, where: str) -> str:
    if not value:
        raise ImportFailure(422, f"{where}: {what}.", code="required", expression=where)
    return value


def _status_code(concept: Any, system: str) -> str:
    found = codes_of(concept, system)
    return found[0] if found else ""


# --- one resource -------------------------------------------------------------------------


def plan_for(resource: dict[str, Any], where: str) -> Plan:
    kind = resource["resourceType"]
    if kind == "Patient":
        return Plan(role="patient")
    if kind in DIRECTORY_TYPES:
        return Plan(role="directory")
    planner = PLANNERS.get(kind)
    if planner is None:
        return not_kept(f"{kind} is not kept by Continuum: nothing was stored for this entry.")
    return planner(resource, where)


def _condition(resource: dict[str, Any], where: str) -> Plan:
    if _status_code(resource.get("verificationStatus"), c.CONDITION_VERIFICATION) in ("entered-in-error", "refuted"):
        return not_kept("A Condition entered in error or refuted is not kept.")
    found = profiles(resource)
    name = text_of(resource.get("code"))
    icd = next(iter(codes_of(resource.get("code"), ICD10_SYSTEMS)), "")
    date = _required(
        first_day(resource, "onsetDateTime", "onsetPeriod.start", "recordedDate"),
        "a Condition needs onsetDateTime, onsetPeriod.start or recordedDate",
        where,
    )
    subject = reference_of(resource.get("subject"))
    if found & {Profile.PRIMARY_CANCER_CONDITION, Profile.SECONDARY_CANCER_CONDITION}:
        histology = text_of(extension_concept(resource, c.HISTOLOGY_EXTENSION))
        values = {
            "effective_date": date,
            "condition": _required(name, "the Condition's code has no text or display", where),
            "icd10": icd,
            "role": "secondary" if Profile.SECONDARY_CANCER_CONDITION in found else "primary",
            "histology": histology,
        }
        return Plan(role="item", kind="cancer_diagnosis", values=values, subject=subject)
    clinical = _status_code(resource.get("clinicalStatus"), c.CONDITION_CLINICAL)
    values = {
        "effective_date": date,
        "name": _required(name, "the Condition's code has no text or display", where),
        "icd10": icd,
        "problem_status": "resolved" if clinical in ("resolved", "inactive", "remission") else "active",
    }
    return Plan(role="item", kind="problem", values=values, subject=subject)


def _value_code(resource: dict[str, Any]) -> tuple[list[str], str]:
    """An Observation's coded value: (its codes of any system, its words)."""
    concept = resource.get("valueCodeableConcept")
    if concept:
        return [coding.get("code", "") for coding in concept.get("coding") or []], text_of(concept)
    if "valueString" in resource:
        return [], str(resource["valueString"])
    return [], ""


def _observation(resource: dict[str, Any], where: str) -> Plan:
    if resource.get("status") in ("entered-in-error", "cancelled"):
        return not_kept("An Observation entered in error or cancelled is not kept.")
    found = profiles(resource)
    loinc = codes_of(resource.get("code"), c.LOINC)
    subject = reference_of(resource.get("subject"))
    focus = [reference_of(f) for f in resource.get("focus") or [] if reference_of(f)]
    date = first_day(resource, "effectiveDateTime", "effectivePeriod.start", "issued")

    def part(name: str, value: Any) -> Plan:
        return Plan(role="part", part=name, part_value=value, part_date=date, focus=focus, subject=subject)

    value_codes, value_text = _value_code(resource)
    if Profile.TNM_STAGE_GROUP in found or STAGE_GROUP_CODES & set(loinc):
        ajcc = next(iter(codes_of(resource.get("valueCodeableConcept"), c.AJCC)), "")
        stage = ajcc or re.sub(r"^stage\s+", "", value_text, flags=re.IGNORECASE)
        plan = part("stage", stage)
        plan.members = [reference_of(m) for m in resource.get("hasMember") or [] if reference_of(m)]
        return plan
    tnm = next((TNM_PART_CODES[code] for code in loinc if code in TNM_PART_CODES), None) or next(
        (key for profile, key in TNM_PROFILES.items() if profile in found), None
    )
    if tnm:
        code = next(iter(codes_of(resource.get("valueCodeableConcept"), c.AJCC)), "") or value_text
        match = re.match(r"^([cpy]?)([TNM])(.+)$", code.strip())
        if match is None:
            raise ImportFailure(
                422,
                f"{where}.valueCodeableConcept: {code!r} is not a {tnm.upper()} category such as c{tnm.upper()}1.",
                expression=f"{where}.valueCodeableConcept",
            )
        prefix, _letter, rest = match.groups()
        return part(tnm, rest if prefix in ("", "c") else f"{prefix}{rest}")
    marker = next((MARKER_CODES[code] for code in loinc if code in MARKER_CODES), None)
    if marker:
        result = next((MARKER_VALUES[code] for code in value_codes if code in MARKER_VALUES), None)
        if result is None and value_text.lower() in ("positive", "negative", "equivocal"):
            result = value_text.lower()
        if result is None or (result == "equivocal" and marker != "her2"):
            raise ImportFailure(
                422,
                f"{where}.valueCodeableConcept: a {marker.upper()} result is positive or negative"
                + (" (or equivocal)" if marker == "her2" else "")
                + f", not {value_text or 'missing'}.",
                code="code-invalid",
                expression=f"{where}.valueCodeableConcept",
            )
        return part(marker, result)
    if Profile.TUMOR_MARKER in found:
        label = text_of(resource.get("code"))
        value = value_text or _quantity_text(resource.get("valueQuantity"))
        words = value if label in ("", "Tumor marker") else f"{label} {value}".strip()
        return part("marker", _required(words, "a tumor marker test needs a value", where))
    if c.ECOG_CODE[0] in loinc or Profile.ECOG in found:
        score = resource.get("valueInteger")
        if score is None:
            score = next((ECOG_VALUES[code] for code in value_codes if code in ECOG_VALUES), None)
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 4:
            raise ImportFailure(422, f"{where}: an ECOG score is 0 to 4.", expression=f"{where}.valueInteger")
        return part("ecog", score)
    if c.DISEASE_STATUS_CODE[0] in loinc or Profile.DISEASE_STATUS in found:
        status = next((DISEASE_STATUS_VALUES[code] for code in value_codes if code in DISEASE_STATUS_VALUES), None)
        if status is None:
            raise ImportFailure(
                422,
                f"{where}.valueCodeableConcept: a disease status is one of SNOMED CT "
                + ", ".join(DISEASE_STATUS_VALUES)
                + ".",
                code="code-invalid",
                expression=f"{where}.valueCodeableConcept",
            )
        return part("status", status)
    categories = {
        code for concept in resource.get("category") or [] for code in codes_of(concept, c.OBSERVATION_CATEGORY)
    }
    if "laboratory" not in categories and Profile.LAB not in found:
        shown = ", ".join(sorted(categories)) or "no category"
        return not_kept(f"Observations of {shown} are not kept (laboratory results and mCODE's are).")
    return _lab(resource, where, loinc, date, subject)


def _quantity_text(quantity: Any) -> str:
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return ""
    return f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip()


def _lab(resource: dict[str, Any], where: str, loinc: list[str], date: str, subject: str) -> Plan:
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return not_kept("A laboratory result without a numeric value (valueQuantity) is not kept.")
    unit = str(quantity.get("unit") or quantity.get("code") or "").strip()
    low = high = None
    for bounds in resource.get("referenceRange") or []:
        low = (bounds.get("low") or {}).get("value", low)
        high = (bounds.get("high") or {}).get("value", high)
        break
    panel = ""
    for note in resource.get("note") or []:
        text = str(note.get("text") or "")
        if text.startswith("Panel: "):
            panel = text.removeprefix("Panel: ")
    values = {
        "effective_date": _required(date, "a laboratory result needs effectiveDateTime or issued", where),
        "test": _required(text_of(resource.get("code")), "the Observation's code has no text or display", where),
        "loinc": loinc[0] if loinc else "",
        "panel": panel,
        "value": str(quantity["value"]),
        "unit": _required(unit, "a laboratory result needs the unit of its valueQuantity", f"{where}.valueQuantity"),
        "reference_low": "" if low is None else str(low),
        "reference_high": "" if high is None else str(high),
    }
    return Plan(role="item", kind="lab_result", values=values, subject=subject)


def _intent(resource: dict[str, Any], url: str, where: str) -> str:
    concept = extension_concept(resource, url)
    found = next((INTENT_VALUES[code] for code in codes_of(concept, c.SNOMED) if code in INTENT_VALUES), None)
    if found is None and text_of(concept).lower() in INTENT_VALUES.values():
        found = text_of(concept).lower()
    if found is None:
        raise ImportFailure(
            422,
            f"{where}: a cancer treatment needs its intent (extension {url}: SNOMED CT curative, adjuvant, "
            "neoadjuvant or palliative).",
            code="required",
            expression=f"{where}.extension",
        )
    return found


TREATMENT_STATUS = {
    "draft": "planned",
    "preparation": "planned",
    "active": "active",
    "in-progress": "active",
    "on-hold": "active",
    "completed": "completed",
    "stopped": "stopped",
    "cancelled": "stopped",
    "not-done": "stopped",
}


def _medication_name(resource: dict[str, Any]) -> tuple[str, str]:
    """(the medication's words, a reference to a Medication resource to read them from)."""
    concept = resource.get("medicationCodeableConcept")
    if concept:
        return text_of(concept), ""
    reference = resource.get("medicationReference") or {}
    return str(reference.get("display") or ""), "" if reference.get("display") else reference_of(reference)


def _medication_request(resource: dict[str, Any], where: str) -> Plan:
    if resource.get("status") == "entered-in-error":
        return not_kept("A MedicationRequest entered in error is not kept.")
    subject = reference_of(resource.get("subject"))
    name, medication_reference = _medication_name(resource)
    dosage = (resource.get("dosageInstruction") or [{}])[0]
    period = ((dosage.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}
    start = day_of(period.get("start")) or day_of(resource.get("authoredOn"))
    status = resource.get("status", "")
    cancer = Profile.MEDICATION_REQUEST in profiles(resource) or extension_concept(
        resource, c.TREATMENT_INTENT_EXTENSION
    )
    if cancer:
        words = " ".join(text_of(concept).lower() for concept in resource.get("category") or [])
        modality = next((value for stem, value in MODALITIES if stem in words), "chemotherapy")
        regimen = ""
        for note in resource.get("note") or []:
            if str(note.get("text") or "").startswith("Regimen: "):
                regimen = str(note["text"]).removeprefix("Regimen: ")
        regimen = regimen or str(dosage.get("text") or "") or name
        values = {
            "effective_date": _required(start, "a treatment needs authoredOn or a dosage boundsPeriod.start", where),
            "modality": modality,
            "regimen": _required(regimen, "a treatment needs its medication or regimen", where),
            "agents": name if name != regimen else "",
            "intent": _intent(resource, c.TREATMENT_INTENT_EXTENSION, where),
            "end_date": day_of(period.get("end")),
            "treatment_status": TREATMENT_STATUS.get(status, "active"),
        }
        return Plan(
            role="item", kind="treatment", values=values, subject=subject, medication_reference=medication_reference
        )
    values = _medication_values(name, dosage, status in ("completed", "stopped", "cancelled"))
    values["effective_date"] = _required(start, "a MedicationRequest needs authoredOn", where)
    return Plan(
        role="item",
        kind="medication",
        values=values,
        subject=subject,
        read_as="MedicationStatement",
        medication_reference=medication_reference,
    )


def _medication_values(name: str, dosage: dict[str, Any], stopped: bool) -> dict[str, Any]:
    dose = ""
    for rate in dosage.get("doseAndRate") or []:
        dose = _quantity_text(rate.get("doseQuantity")) or dose
    route = text_of(dosage.get("route"))
    frequency = text_of((dosage.get("timing") or {}).get("code")) or str(dosage.get("text") or "")
    return {
        "name": name,
        "dose": dose[:60],
        "route": route[:30],
        "frequency": frequency[:60],
        "medication_status": "stopped" if stopped else "active",
    }


def _medication_statement(resource: dict[str, Any], where: str) -> Plan:
    status = resource.get("status", "")
    if status == "entered-in-error":
        return not_kept("A MedicationStatement entered in error is not kept.")
    name, medication_reference = _medication_name(resource)
    dosage = (resource.get("dosage") or [{}])[0]
    values = _medication_values(name, dosage, status in ("completed", "stopped", "not-taken"))
    values["effective_date"] = _required(
        first_day(resource, "effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
        "a MedicationStatement needs effectiveDateTime or dateAsserted",
        where,
    )
    return Plan(
        role="item",
        kind="medication",
        values=values,
        subject=reference_of(resource.get("subject")),
        medication_reference=medication_reference,
    )


def _allergy(resource: dict[str, Any], where: str) -> Plan:
    if _status_code(resource.get("verificationStatus"), c.ALLERGY_VERIFICATION) in ("entered-in-error", "refuted"):
        return not_kept("An AllergyIntolerance entered in error or refuted is not kept.")
    reaction = (resource.get("reaction") or [{}])[0]
    manifestation = text_of((reaction.get("manifestation") or [{}])[0])
    severity = reaction.get("severity") or ("severe" if resource.get("criticality") == "high" else "mild")
    values = {
        "effective_date": _required(
            first_day(resource, "recordedDate", "onsetDateTime", "onsetPeriod.start"),
            "an AllergyIntolerance needs recordedDate or onsetDateTime",
            where,
        ),
        "substance": _required(text_of(resource.get("code")), "the allergy's code has no text or display", where),
        "reaction": manifestation,
        "severity": severity,
    }
    return Plan(role="item", kind="allergy", values=values, subject=reference_of(resource.get("patient")))


def _procedure(resource: dict[str, Any], where: str) -> Plan:
    if resource.get("status") == "entered-in-error":
        return not_kept("A Procedure entered in error is not kept.")
    found = profiles(resource)
    category = set(codes_of(resource.get("category"), c.SNOMED))
    code = set(codes_of(resource.get("code"), c.SNOMED))
    if Profile.SURGICAL_PROCEDURE in found or c.SURGERY_CATEGORY[0] in category:
        modality = "surgery"
    elif Profile.RADIOTHERAPY_SUMMARY in found or {c.RADIOTHERAPY_CATEGORY[0], c.RADIOTHERAPY_CODE[0]} & (
        category | code
    ):
        modality = "radiation"
    else:
        return not_kept("A Procedure is kept when it is cancer-related surgery or a radiotherapy course.")
    period = resource.get("performedPeriod") or {}
    values = {
        "effective_date": _required(
            day_of(period.get("start")) or day_of(resource.get("performedDateTime")),
            "a treatment needs performedPeriod.start or performedDateTime",
            where,
        ),
        "modality": modality,
        "regimen": _required(text_of(resource.get("code")), "the Procedure's code has no text or display", where),
        "agents": "",
        "intent": _intent(resource, c.PROCEDURE_INTENT_EXTENSION, where),
        "end_date": day_of(period.get("end")),
        "treatment_status": TREATMENT_STATUS.get(resource.get("status", ""), "active"),
    }
    return Plan(role="item", kind="treatment", values=values, subject=reference_of(resource.get("subject")))


def _report(resource: dict[str, Any], where: str) -> Plan:
    if resource.get("status") in ("entered-in-error", "cancelled"):
        return not_kept("A DiagnosticReport entered in error or cancelled is not kept.")
    categories = {code for concept in resource.get("category") or [] for code in codes_of(concept, c.LOINC)}
    code = set(codes_of(resource.get("code"), c.LOINC))
    if PATHOLOGY in categories or PATHOLOGY_CODE in code:
        kind = "pathology_report"
    elif RADIOLOGY in categories or IMAGING_CODE in code:
        kind = "imaging_report"
    else:
        return not_kept(
            "A DiagnosticReport is kept when it is an imaging or pathology report; lab results are kept as Observations."
        )
    findings = ""
    for index, form in enumerate(resource.get("presentedForm") or []):
        if str(form.get("contentType") or "").startswith(TEXT_TYPES) and form.get("data"):
            findings = attachment_text(form, f"{where}.presentedForm[{index}]")
            break
    conclusion = str(resource.get("conclusion") or "")
    if not findings and not conclusion:
        raise ImportFailure(
            422, f"{where}: a report needs its conclusion or a text presentedForm.", code="required", expression=where
        )
    values = {
        "effective_date": _required(
            first_day(resource, "effectiveDateTime", "effectivePeriod.start", "issued"),
            "a report needs effectiveDateTime or issued",
            where,
        ),
        "study": _required(text_of(resource.get("code")), "the report's code has no text or display", where),
        "findings": findings or conclusion,
        "impression": conclusion or findings[:2000],
    }
    return Plan(role="item", kind=kind, values=values, subject=reference_of(resource.get("subject")))


def _document(resource: dict[str, Any], where: str) -> Plan:
    if resource.get("status") == "entered-in-error" or resource.get("docStatus") == "entered-in-error":
        return not_kept("A DocumentReference entered in error is not kept.")
    content = resource.get("content") or [{}]
    attachment = content[0].get("attachment") or {}
    content_type = str(attachment.get("contentType") or "")
    if content_type.split(";")[0].strip() in FILE_TYPES:
        return _file(resource, attachment, content_type.split(";")[0].strip(), where)
    if not content_type.startswith(TEXT_TYPES):
        raise ImportFailure(
            422,
            f"{where}.content[0].attachment: a note's text (text/plain) or a file (PDF, PNG or JPEG) is imported, "
            f"not {content_type or 'an attachment without contentType'}.",
            code="not-supported",
            expression=f"{where}.content[0].attachment.contentType",
        )
    text = attachment_text(attachment, f"{where}.content[0].attachment")
    type_codes = set(codes_of(resource.get("type"), c.LOINC))
    kind, note_type = "note", "encounter"
    if CONSULT_NOTE in type_codes:
        kind, note_type = "consult_note", "consult"
    elif PROGRESS_NOTE in type_codes:
        note_type = "progress"
    elif TELEPHONE_NOTE in type_codes:
        note_type = "telephone"
    subject_text = (
        str(resource.get("description") or "")
        or str(attachment.get("title") or "")
        or text_of(resource.get("type"))
        or "Note"
    )
    values = {
        "effective_date": _required(
            first_day(resource, "context.period.start", "date"),
            "a DocumentReference needs context.period.start or date",
            where,
        ),
        "note_type": note_type,
        "subject": subject_text[:150],
        "text": text,
    }
    return Plan(role="item", kind=kind, values=values, subject=reference_of(resource.get("subject")))


FILE_TYPES = ("application/pdf", "image/png", "image/jpeg")
FILE_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
MAX_FILE_BYTES = 10 * 1024 * 1024


def _file(resource: dict[str, Any], attachment: dict[str, Any], content_type: str, where: str) -> Plan:
    """A DocumentReference with a PDF or image inline (``attachment.data``): an uploaded file of
    the chart; its content is checked as the upload page checks it when it is written."""
    at = f"{where}.content[0].attachment"
    data = attachment.get("data")
    if not isinstance(data, str) or not data:
        raise ImportFailure(
            422,
            f"{at}: the file is sent inline as attachment.data (base64); a url alone is not fetched.",
            code="required",
            expression=f"{at}.data",
        )
    if len(data) > (MAX_FILE_BYTES // 3 + 1) * 4:
        raise ImportFailure(
            422, f"{at}.data: the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.", expression=f"{at}.data"
        )
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ImportFailure(422, f"{at}.data: not valid base64.", expression=f"{at}.data")
    title = str(attachment.get("title") or resource.get("description") or text_of(resource.get("type")) or "Document")
    stem = re.sub(r"[^A-Za-z0-9 ._-]+", "", title.rsplit(".", 1)[0]).strip()[:100] or "document"
    values = {
        "effective_date": _required(
            first_day(resource, "context.period.start", "date"),
            "a DocumentReference needs context.period.start or date",
            where,
        ),
        "description": str(resource.get("description") or title)[:150],
    }
    return Plan(
        role="item",
        kind="document",
        values=values,
        subject=reference_of(resource.get("subject")),
        file=content,
        file_type=content_type,
        file_name=f"{stem}.{FILE_EXTENSIONS[content_type]}",
    )


PLANNERS = {
    "Condition": _condition,
    "Observation": _observation,
    "MedicationRequest": _medication_request,
    "MedicationStatement": _medication_statement,
    "AllergyIntolerance": _allergy,
    "Procedure": _procedure,
    "DiagnosticReport": _report,
    "DocumentReference": _document,
}


# --- a cancer diagnosis from its Condition and parts -------------------------------------


def diagnosis_values(condition: dict[str, Any], parts: list[Plan], where: str) -> dict[str, Any]:
    """The diagnosis' form values: the Condition's and those of the Observations folded into it."""
    values = dict(condition)
    markers: list[str] = []
    keys = {"stage": "stage_group", "t": "stage_t", "n": "stage_n", "m": "stage_m", "ecog": "ecog"}
    keys.update({"er": "er", "pr": "pr", "her2": "her2", "status": "disease_status"})
    for part in parts:
        if part.part == "marker":
            markers.append(str(part.part_value))
            continue
        key = keys[part.part]
        if values.get(key) not in (None, ""):
            raise ImportFailure(
                422,
                f"{where}: two Observations give this cancer Condition's {part.part.upper()}; "
                "send one per diagnosis (a later result is a new diagnosis entry or a correction).",
                code="duplicate",
                expression=where,
            )
        values[key] = part.part_value
        if part.part in ("stage", "t", "n", "m") and part.part_date and not values.get("staging_date"):
            values["staging_date"] = part.part_date
    if markers:
        values["other_markers"] = ", ".join(markers)
    return {key: ("" if value is None else value) for key, value in values.items()}
