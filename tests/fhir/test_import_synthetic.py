"""A Synthea-shaped record of more than a thousand resources, with conditional references to
its Practitioners, Organization and Location, imported twice: the second time creates nothing."""

from __future__ import annotations

import json

from django_tenants.utils import schema_context

from bench.fhir_import_data import LABS, synthetic_record
from portal.audit.models import AuditEvent
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier, RegistryEntry
from portal.records.kinds import loinc_is_valid
from portal.records.models import ClinicalItem, ImportedResource
from tests.fhir.helpers import fhir_json

FHIR = "application/fhir+json"


def _counts(organization):
    with schema_context(organization.schema_name):
        items = ClinicalItem.objects.count()
        imported = ImportedResource.objects.count()
    return {
        "items": items,
        "imported": imported,
        "patients": NetworkPatient.objects.count(),
        "identifiers": PatientIdentifier.objects.count(),
        "relationships": CareRelationship.objects.count(),
        "entries": RegistryEntry.objects.count(),
    }


def test_the_generator_uses_real_loinc_codes():
    assert all(loinc_is_valid(code) for code, *_rest in LABS)


def test_a_synthea_shaped_record_imported_twice_creates_nothing_the_second_time(cast, sign_in):
    park, maple = cast.users["park"], cast.organizations["maple"]
    client = sign_in(park, maple)
    bundle = synthetic_record(size=1100, seed=7)
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Practitioner", "Organization", "Location", "Encounter", "Claim", "ExplanationOfBenefit"} <= types
    conditional = [e for e in bundle["entry"] if "Practitioner?identifier=" in json.dumps(e["resource"])]
    assert len(conditional) > 300
    before = _counts(maple)
    first = fhir_json(client.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR))
    statuses = [e["response"]["status"] for e in first["entry"]]
    assert len(statuses) == 1100
    not_kept = [
        e
        for e in first["entry"]
        if e["response"].get("outcome", {}).get("issue", [{}])[0].get("code") == "not-supported"
    ]
    kept = statuses.count("201 Created")
    assert kept + len(not_kept) == 1100 and kept > 400
    # Every entry we do not keep says so, and why.
    sent = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {sent[e["fullUrl"]] for e in not_kept} == {"Encounter", "Claim", "ExplanationOfBenefit", "Observation"}
    after_first = _counts(maple)
    assert after_first["patients"] == before["patients"] + 1
    assert after_first["items"] - before["items"] == kept - 5  # the patient and 4 directory resources are no items
    assert after_first["entries"] == before["entries"]  # drafts: nothing published
    # The second time: every entry is found, nothing is written.
    events = AuditEvent.objects.count()
    second = fhir_json(client.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR))
    again = [e["response"]["status"] for e in second["entry"]]
    assert again.count("201 Created") == 0
    assert again.count("200 OK") == 1100
    assert _counts(maple) == after_first
    assert AuditEvent.objects.count() == events + 1  # the import itself is audited
