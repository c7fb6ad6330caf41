"""Bulk export's ``_typeFilter``: the resources of a filtered type are written when they match
one of its queries (``Observation?category=laboratory``), their Provenance with them; a filter
this server cannot honour is a 400 that starts nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from portal.audit.models import AuditEvent
from portal.fhir.models import ExportJob
from tests.fhir.helpers import fhir_json
from tests.fhir.test_export import ASYNC, everything_exported, kickoff, run


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Any) -> Any:
    settings.FHIR_EXPORT_ROOT = tmp_path
    return tmp_path


def _categories(resource: dict[str, Any]) -> set[str]:
    return {coding["code"] for concept in resource.get("category", []) for coding in concept.get("coding", [])}


def test_type_filter_keeps_the_laboratory_observations_and_their_provenance(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    unfiltered = kickoff(client, "/fhir/R4/Patient/$export?_type=Observation,Provenance,Condition")
    run(unfiltered)
    every = everything_exported(client, unfiltered)
    labs = [r for r in every["Observation"] if "laboratory" in _categories(r)]
    assert labs and len(labs) < len(every["Observation"])  # stage, ECOG… are not laboratory

    query = quote("Observation?category=laboratory", safe="")
    filtered = kickoff(client, f"/fhir/R4/Patient/$export?_type=Observation,Provenance,Condition&_typeFilter={query}")
    job = run(filtered)
    assert job.type_filters == {"Observation": ["category=laboratory"]}
    exported = everything_exported(client, filtered)
    assert sorted(r["id"] for r in exported["Observation"]) == sorted(r["id"] for r in labs)
    assert exported["Condition"] == every["Condition"]  # an unfiltered type is whole
    # Provenance: never of an entry the filter left out whole.
    left_out = {f"Observation/{r['id']}" for r in every["Observation"]} - {f"Observation/{r['id']}" for r in labs}
    targets = set()
    for provenance in exported["Provenance"]:
        named = {target["reference"].split("/_history/")[0] for target in provenance["target"]}
        assert not named <= left_out, provenance["id"]
        targets |= named
    assert {f"Observation/{r['id']}" for r in labs} <= targets
    event = AuditEvent.objects.get(action="export", object_id=f"$export {job.uuid}", data_owner=job.organization)
    assert event.detail["type_filters"] == {"Observation": ["category=laboratory"]}

    # One lab test by its LOINC code: the other labs and their Provenance are left out.
    code = labs[0]["code"]["coding"][0]
    others = [r for r in labs if all(c["code"] != code["code"] for c in r["code"].get("coding", []))]
    assert others
    by_code = quote(f"Observation?code={code['system']}|{code['code']}", safe="")
    survey = quote("Observation?category=survey", safe="")
    either = kickoff(
        client, f"/fhir/R4/Patient/$export?_type=Observation,Provenance&_typeFilter={by_code}&_typeFilter={survey}"
    )
    run(either)
    chosen = everything_exported(client, either)
    assert {r["id"] for r in chosen["Observation"]} >= {r["id"] for r in labs if r not in others}
    assert all(
        "survey" in _categories(r) or any(c["code"] == code["code"] for c in r["code"].get("coding", []))
        for r in chosen["Observation"]
    )
    # A Provenance of an entry with Observations goes with one whose Observation was chosen.
    chosen_entries = {r["id"][:36] for r in chosen["Observation"]}
    observed = [p for p in chosen["Provenance"] if any(t["reference"].startswith("Observation/") for t in p["target"])]
    assert observed and all(p["id"][:36] in chosen_entries for p in observed)
    excluded = {r["id"][:36] for r in every["Observation"]} - chosen_entries
    assert excluded and not {p["id"][:36] for p in chosen["Provenance"]} & excluded


def test_a_type_filter_that_cannot_be_honoured_is_a_400_that_starts_nothing(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    before = ExportJob.objects.count()
    for path in (
        "/fhir/R4/Patient/$export?_type=Observation&_typeFilter=" + quote("Condition?category=problem-list-item"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Observation?subject=Patient/1"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Observation?category=laboratory&_sort=date"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Patient?birthdate=1960"),
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Claim?status=active"),
        "/fhir/R4/Patient/$export?_typeFilter=laboratory",
        "/fhir/R4/Patient/$export?_typeFilter=" + quote("Observation?date=yesterday"),
    ):
        refused = fhir_json(client.get(path, **ASYNC), status=400)
        assert refused["issue"][0]["diagnostics"].startswith("_typeFilter"), path
    assert ExportJob.objects.count() == before
