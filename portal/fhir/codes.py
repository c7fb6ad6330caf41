"""The code systems, profiles and required-binding code lists the FHIR mapping uses.

Our own states (a referral's, an item's kind) are coded in systems under ``OUR_SYSTEM``;
everything else comes from the standard terminologies (LOINC, SNOMED CT, ICD-10-CM,
UCUM) and FHIR's own code systems.
"""

from __future__ import annotations

FHIR_VERSION = "4.0.1"
CONTENT_TYPE = "application/fhir+json"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
AJCC = "http://cancerstaging.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PROVENANCE_AGENT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
AUDIT_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
CARE_TEAM_CATEGORY = LOINC
OPERATION_OUTCOME_ISSUE = "http://hl7.org/fhir/issue-type"

# Our own code systems (states and kinds that no standard terminology names).
OUR_SYSTEM = "urn:continuum:fhir:CodeSystem:"
REFERRAL_STATE_SYSTEM = OUR_SYSTEM + "referral-state"
RELATIONSHIP_KIND_SYSTEM = OUR_SYSTEM + "care-relationship-kind"
RESPONSIBLE_SYSTEM = OUR_SYSTEM + "responsible-side"
MRN_SYSTEM = "urn:continuum:fhir:mrn:"  # + the organization's uuid

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
BSER = "http://hl7.org/fhir/us/bser/StructureDefinition/"


class Profile:
    CANCER_PATIENT = MCODE + "mcode-cancer-patient"
    PRIMARY_CANCER_CONDITION = MCODE + "mcode-primary-cancer-condition"
    SECONDARY_CANCER_CONDITION = MCODE + "mcode-secondary-cancer-condition"
    TNM_STAGE_GROUP = MCODE + "mcode-tnm-stage-group"
    TNM_T = MCODE + "mcode-tnm-primary-tumor-category"
    TNM_N = MCODE + "mcode-tnm-regional-nodes-category"
    TNM_M = MCODE + "mcode-tnm-distant-metastases-category"
    TUMOR_MARKER = MCODE + "mcode-tumor-marker-test"
    ECOG = MCODE + "mcode-ecog-performance-status"
    DISEASE_STATUS = MCODE + "mcode-cancer-disease-status"
    MEDICATION_REQUEST = MCODE + "mcode-cancer-related-medication-request"
    SURGICAL_PROCEDURE = MCODE + "mcode-cancer-related-surgical-procedure"
    RADIOTHERAPY_SUMMARY = MCODE + "mcode-radiotherapy-course-summary"
    LAB = US_CORE + "us-core-observation-lab"
    PROBLEM = US_CORE + "us-core-condition-problems-health-concerns"
    MEDICATION_STATEMENT = "http://hl7.org/fhir/StructureDefinition/MedicationStatement"
    ALLERGY = US_CORE + "us-core-allergyintolerance"
    REPORT = US_CORE + "us-core-diagnosticreport-note"
    DOCUMENT = US_CORE + "us-core-documentreference"
    ORGANIZATION = US_CORE + "us-core-organization"
    PRACTITIONER = US_CORE + "us-core-practitioner"
    CARE_TEAM = US_CORE + "us-core-careteam"
    CARE_PLAN = US_CORE + "us-core-careplan"
    PROVENANCE = US_CORE + "us-core-provenance"
    SERVICE_REQUEST = BSER + "BSeR-ReferralServiceRequest"
    REFERRAL_TASK = BSER + "BSeR-ReferralTask"
    TASK = "http://hl7.org/fhir/StructureDefinition/Task"
    COMMUNICATION = "http://hl7.org/fhir/StructureDefinition/Communication"
    AUDIT_EVENT = "http://hl7.org/fhir/StructureDefinition/AuditEvent"
    BINARY = "http://hl7.org/fhir/StructureDefinition/Binary"


HISTOLOGY_EXTENSION = MCODE + "mcode-histology-morphology-behavior"
PROCEDURE_INTENT_EXTENSION = MCODE + "mcode-procedure-intent"
TREATMENT_INTENT_EXTENSION = MCODE + "mcode-treatment-intent"

# SNOMED CT codes of a treatment's intent.
INTENT = {
    "curative": ("373808002", "Curative - procedure intent"),
    "adjuvant": ("373846009", "Adjuvant - intent"),
    "neoadjuvant": ("373847000", "Neo-adjuvant - intent"),
    "palliative": ("363676003", "Palliative - procedure intent"),
}

# TNM: clinical stage group and categories (LOINC), staging method (AJCC 8th edition).
STAGE_GROUP_CODE = ("21908-9", "Stage group.clinical Cancer")
TNM_CODES = {
    "t": ("21905-5", "Primary tumor.clinical [Class] Cancer", Profile.TNM_T),
    "n": ("21906-3", "Regional lymph nodes.clinical [Class] Cancer", Profile.TNM_N),
    "m": ("21907-1", "Distant metastases.clinical [Class] Cancer", Profile.TNM_M),
}
AJCC_METHOD = (SNOMED, "897275008", "American Joint Commission on Cancer, Cancer Staging Manual, 8th edition")

MARKERS = {
    "er": ("16112-5", "Estrogen receptor [Interpretation] in Tissue"),
    "pr": ("16113-3", "Progesterone receptor [Interpretation] in Tissue"),
    "her2": ("48676-1", "HER2 [Interpretation] in Tissue"),
}
MARKER_RESULT = {
    "positive": ("10828004", "Positive"),
    "negative": ("260385009", "Negative"),
    "equivocal": ("42425007", "Equivocal"),
}
ECOG_CODE = ("89247-1", "ECOG Performance Status score")
ECOG_ANSWERS = {
    0: ("LA9622-7", "Fully active, able to carry on all pre-disease performance without restriction"),
    1: ("LA9623-5", "Restricted in physically strenuous activity but ambulatory and able to carry out work"),
    2: ("LA9624-3", "Ambulatory and capable of all selfcare but unable to carry out any work activities"),
    3: ("LA9625-0", "Capable of only limited selfcare, confined to bed or chair more than 50% of waking hours"),
    4: ("LA9626-8", "Completely disabled. Cannot carry on any selfcare. Totally confined to bed or chair"),
}
DISEASE_STATUS_CODE = ("97509-4", "Cancer disease progression")
DISEASE_STATUS = {
    "no_evidence": ("260415000", "Not detected (qualifier value)"),
    "responding": ("268910001", "Patient's condition improved (finding)"),
    "stable": ("359746009", "Patient's condition stable (finding)"),
    "progressing": ("271299001", "Patient's condition worsened (finding)"),
}
SURGERY_CATEGORY = ("387713003", "Surgical procedure")
RADIOTHERAPY_CODE = ("1217123003", "Radiotherapy course of treatment (regime/therapy)")
RADIOTHERAPY_CATEGORY = ("108290001", "Radiation oncology AND/OR radiotherapy (procedure)")

REPORT_CODES = {
    "imaging_report": ("18748-4", "Diagnostic imaging study", "LP29684-5", "Radiology"),
    "pathology_report": ("11526-1", "Pathology study", "LP7839-6", "Pathology"),
}
NOTE_TYPES = {
    "progress": ("11506-3", "Progress note"),
    "encounter": ("34109-9", "Note"),
    "consult": ("11488-4", "Consult note"),
    "telephone": ("34748-4", "Telephone encounter Note"),
    "discharge": ("18842-5", "Discharge summary"),
    "document": ("34109-9", "Note"),
}

# The codes of required bindings the API emits (fhir.resources does not check codes).
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
    ("DiagnosticReport", "status"): frozenset(
        {
            "registered",
            "partial",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "appended",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    ("DocumentReference", "status"): frozenset({"current", "superseded", "entered-in-error"}),
    ("DocumentReference", "docStatus"): frozenset({"preliminary", "final", "amended", "entered-in-error"}),
    ("MedicationRequest", "status"): frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
    ),
    ("MedicationRequest", "intent"): frozenset(
        {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"}
    ),
    ("MedicationStatement", "status"): frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
    ),
    ("Procedure", "status"): frozenset(
        {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
    ),
    ("ServiceRequest", "status"): frozenset(
        {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
    ),
    ("ServiceRequest", "intent"): frozenset(
        {
            "proposal",
            "plan",
            "directive",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        }
    ),
    ("ServiceRequest", "priority"): frozenset({"routine", "urgent", "asap", "stat"}),
    ("Task", "status"): frozenset(
        {
            "draft",
            "requested",
            "received",
            "accepted",
            "rejected",
            "ready",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        }
    ),
    ("Task", "intent"): frozenset(
        {
            "unknown",
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        }
    ),
    ("Task", "priority"): frozenset({"routine", "urgent", "asap", "stat"}),
    ("CarePlan", "status"): frozenset(
        {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
    ),
    ("CarePlan", "intent"): frozenset({"proposal", "plan", "order", "option"}),
    ("CareTeam", "status"): frozenset({"proposed", "active", "suspended", "inactive", "entered-in-error"}),
    ("Communication", "status"): frozenset(
        {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
    ),
    ("Communication", "priority"): frozenset({"routine", "urgent", "asap", "stat"}),
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Bundle", "type"): frozenset(
        {
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        }
    ),
    ("AllergyIntolerance", "criticality"): frozenset({"low", "high", "unable-to-assess"}),
    ("AuditEvent", "action"): frozenset({"C", "R", "U", "D", "E"}),
    ("AuditEvent", "outcome"): frozenset({"0", "4", "8", "12"}),
    ("OperationOutcome", "severity"): frozenset({"fatal", "error", "warning", "information"}),
    ("CapabilityStatement", "status"): frozenset({"draft", "active", "retired", "unknown"}),
    ("CapabilityStatement", "kind"): frozenset({"instance", "capability", "requirements"}),
}
# Codings whose code must come from one system's list (status CodeableConcepts).
REQUIRED_CODINGS: dict[str, frozenset[str]] = {
    CONDITION_CLINICAL: frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"}),
    CONDITION_VERIFICATION: frozenset(
        {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
    ),
    ALLERGY_CLINICAL: frozenset({"active", "inactive", "resolved"}),
    ALLERGY_VERIFICATION: frozenset({"unconfirmed", "confirmed", "refuted", "entered-in-error"}),
    OBSERVATION_CATEGORY: frozenset(
        {"social-history", "vital-signs", "imaging", "laboratory", "procedure", "survey", "exam", "therapy", "activity"}
    ),
    INTERPRETATION: frozenset({"L", "H", "N", "A", "LL", "HH"}),
    DATA_OPERATION: frozenset({"CREATE", "UPDATE", "DELETE", "NULLIFY", "APPEND", "ABORT"}),
}
