"""``GET /fhir/R4/metadata``: what this endpoint does, as a CapabilityStatement."""

from __future__ import annotations

from typing import Any

from portal.fhir.codes import FHIR_VERSION, Profile

COMMON_SEARCH = [
    ("patient", "reference", "The patient the resources are about (one at a time)"),
    ("_id", "token", "The resource's id"),
    ("_lastUpdated", "date", "When the resource last changed (prefixes eq, ne, gt, lt, ge, le, sa, eb)"),
]
CODED_SEARCH = [
    ("category", "token", "The resource's category (system|code or code)"),
    ("code", "token", "The resource's code (system|code or code)"),
    ("date", "date", "The clinically relevant date (prefixes eq, ne, gt, lt, ge, le, sa, eb)"),
]

# type → (profiles, search parameters beyond the common ones, has history)
RESOURCES: dict[str, tuple[list[str], list[tuple[str, str, str]], bool]] = {
    "Patient": ([Profile.CANCER_PATIENT], [("identifier", "token", "An organization's MRN (system|value)")], True),
    "Condition": (
        [Profile.PRIMARY_CANCER_CONDITION, Profile.SECONDARY_CANCER_CONDITION, Profile.PROBLEM],
        CODED_SEARCH,
        True,
    ),
    "Observation": (
        [
            Profile.LAB,
            Profile.TNM_STAGE_GROUP,
            Profile.TNM_T,
            Profile.TNM_N,
            Profile.TNM_M,
            Profile.TUMOR_MARKER,
            Profile.ECOG,
            Profile.DISEASE_STATUS,
        ],
        CODED_SEARCH,
        True,
    ),
    "MedicationRequest": ([Profile.MEDICATION_REQUEST], CODED_SEARCH, True),
    "Procedure": ([Profile.SURGICAL_PROCEDURE, Profile.RADIOTHERAPY_SUMMARY], CODED_SEARCH, True),
    "MedicationStatement": ([Profile.MEDICATION_STATEMENT], CODED_SEARCH, True),
    "AllergyIntolerance": ([Profile.ALLERGY], CODED_SEARCH, True),
    "DiagnosticReport": ([Profile.REPORT], CODED_SEARCH, True),
    "DocumentReference": ([Profile.DOCUMENT], CODED_SEARCH, True),
    "Binary": ([], [], False),
    "Provenance": ([Profile.PROVENANCE], [("date", "date", "When it was recorded")], True),
    "ServiceRequest": ([Profile.SERVICE_REQUEST], CODED_SEARCH, False),
    "Task": (
        [Profile.REFERRAL_TASK, Profile.TASK],
        [("code", "token", "The task's code"), ("date", "date", "Authored on")],
        False,
    ),
    "CarePlan": (
        [Profile.CARE_PLAN],
        [("category", "token", "The plan's category"), ("date", "date", "Created")],
        False,
    ),
    "Communication": ([Profile.COMMUNICATION], [("date", "date", "Sent")], False),
    "CareTeam": ([Profile.CARE_TEAM], [], False),
    "Organization": ([Profile.ORGANIZATION], [], False),
    "Practitioner": ([Profile.PRACTITIONER], [], False),
    "AuditEvent": ([Profile.AUDIT_EVENT], [("date", "date", "When it was recorded")], False),
}


# Bulk Data 2.0 (portal/fhir/bulk/): Patient/$export, and the organization's Group (read, $export).
BULK_PATIENT_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
GROUP: dict[str, Any] = {
    "type": "Group",
    "documentation": "The organization's own Group (its id is the organization's uuid): the patients it cares for.",
    "interaction": [{"code": "read"}],
    "versioning": "no-version",
    "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}],
}


def capability_statement(*, base: str, software_date: str) -> dict[str, Any]:
    resources = []
    for resource_type, (profiles, params, versioned) in RESOURCES.items():
        interactions = [{"code": "read"}]
        if resource_type not in ("Binary",):
            interactions.append({"code": "search-type"})
        if versioned:
            interactions += [{"code": "vread"}, {"code": "history-instance"}]
        resource: dict[str, Any] = {
            "type": resource_type,
            "interaction": interactions,
            "versioning": "versioned" if versioned else "no-version",
            "readHistory": versioned,
            "conditionalCreate": False,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
        }
        if profiles:
            resource["profile"] = profiles[0]
            if len(profiles) > 1:
                resource["supportedProfile"] = profiles
        if resource_type not in ("Binary",):
            search = [] if resource_type in ("Organization", "Practitioner", "AuditEvent") else COMMON_SEARCH
            resource["searchParam"] = [
                {"name": name, "type": kind, "documentation": text} for name, kind, text in [*search, *params]
            ]
        if resource_type == "Observation":
            resource["searchInclude"] = ["Observation:has-member"]
        if resource_type not in ("Binary", "Provenance", "Organization", "Practitioner", "AuditEvent"):
            resource["searchRevInclude"] = ["Provenance:target"]
        if resource_type == "Patient":
            resource["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
                {"name": "export", "definition": BULK_PATIENT_EXPORT},
            ]
        resources.append(resource)
    resources.append(GROUP)
    return {
        "resourceType": "CapabilityStatement",
        "id": "continuum",
        "url": f"{base}metadata",
        "name": "ContinuumFHIR",
        "title": "Continuum FHIR R4 endpoint",
        "status": "active",
        "date": software_date,
        "publisher": "Continuum",
        "kind": "instance",
        "software": {"name": "Continuum"},
        "implementation": {"description": "The shared record of a cancer-care network", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "implementationGuide": [
            "http://hl7.org/fhir/us/mcode/ImplementationGuide/hl7.fhir.us.mcode",
            "http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core",
        ],
        "rest": [
            {
                "mode": "server",
                "documentation": "Signed in at the organization's address (the portal's session; CSRF token on "
                "POST), or a backend client's bearer token from this address's token endpoint (SMART Backend "
                "Services; system scopes narrow what the organization may see). Every read goes through the "
                "organization's access rule: forbidden and missing are the same 404.",
                "security": {
                    "cors": False,
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": f"{base}auth/token"}],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "Session cookie of the organization's address, second factor verified; or "
                    "Authorization: Bearer with a token of the client credentials grant (private_key_jwt, RS384 "
                    "or ES384), valid five minutes, at this organization's address only.",
                },
                "resource": resources,
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": "POST / with a transaction Bundle: imported all or nothing, as drafts of "
                        "the organization (published with the meta.tag urn:continuum:fhir:CodeSystem:import|publish).",
                    },
                    {"code": "batch", "documentation": "POST / with a batch Bundle: one answer per entry."},
                ],
                "operation": [
                    {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
                    {"name": "export", "definition": BULK_PATIENT_EXPORT},
                ],
            }
        ],
    }
