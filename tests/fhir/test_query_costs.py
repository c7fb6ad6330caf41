"""What FHIR reads and imports cost in queries (they must not grow with the record or the
Bundle), and entries remembered once mapped (``portal.fhir.cache``): the same answer with
fewer queries, never a stale record, and nothing the reader may not see."""

from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from bench.fhir_import_data import synthetic_record
from portal.accounts.models import Membership, User
from portal.accounts.roles import Role
from portal.fhir.cache import MAPPED, MappedEntries, mapped_entry
from portal.fhir.mapping import practitioner_id
from portal.patients.models import CareRelationship, RegistryEntry
from portal.patients.services import care_relationship_end
from portal.records.models import ClinicalItem
from portal.records.services import item_correct, item_create, item_publish, item_withdraw
from tests.fhir.helpers import fhir_json, resources_of
from tests.fhir.test_fhir_access import MARIA

FHIR = "application/fhir+json"
POTASSIUM = {"test": "Potassium", "loinc": "2823-3", "unit": "mmol/L", "reference_low": "3.5", "reference_high": "5.1"}


def _queries(call):
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


def _answer(response):
    """The Bundle without what differs between two answers (its id and time)."""
    body = fhir_json(response)
    body.pop("id")
    body["meta"].pop("lastUpdated")
    return body


def _everything(client, patient, query=""):
    return client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything{query}")


def test_an_import_costs_the_same_queries_whatever_its_size(cast, sign_in, django_assert_max_num_queries):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    warm = synthetic_record(size=20, seed=3, publish=True)  # the per-process caches (permission ids)
    assert okafor.post("/fhir/R4/", data=json.dumps(warm), content_type=FHIR).status_code == 200
    small = synthetic_record(size=100, seed=1, publish=True)
    large = synthetic_record(size=400, seed=2, publish=True)
    counts = []
    for bundle in (small, large):
        with django_assert_max_num_queries(42):
            response, queries = _queries(
                lambda bundle=bundle: okafor.post("/fhir/R4/", data=json.dumps(bundle), content_type=FHIR)
            )
        assert response.status_code == 200
        counts.append(queries)
    assert counts[0] == counts[1]  # four times the entries, not one query more
    # The same Bundle again finds every entry and creates nothing, in fewer queries still.
    with django_assert_max_num_queries(12):
        again = fhir_json(okafor.post("/fhir/R4/", data=json.dumps(large), content_type=FHIR))
    assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}


def test_everything_answered_again_is_the_same_in_fewer_queries(cast, sign_in, django_assert_max_num_queries):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    first, cold = _queries(lambda: _everything(park, maria))
    assert len(MAPPED) > 10
    with django_assert_max_num_queries(16):
        second, warm = _queries(lambda: _everything(park, maria))
    assert warm < cold
    assert _answer(second) == _answer(first)
    # A page and a search are made of the same remembered entries.
    page = _answer(_everything(park, maria, "?_count=5"))
    assert [e["resource"] for e in page["entry"] if e["search"]["mode"] == "match"] == [
        e["resource"] for e in _answer(first)["entry"] if e["search"]["mode"] == "match"
    ][:5]


def test_a_remembered_entry_never_shows_a_stale_record(cast, sign_in):
    maria, maple, park_user = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    # A second physician at Maple drafts a result that Dr. Park publishes: its author is not
    # its publisher (the author's name is not part of what the entry says).
    ward = User.objects.create_user("lena.ward@maple.example", "x-long-password-123", full_name="Lena Ward")
    Membership.objects.create(user=ward, organization=maple, role=Role.PRIMARY_CARE_PHYSICIAN)
    today = timezone.localdate().isoformat()
    with schema_context(maple.schema_name):
        item = item_create(
            user=ward,
            organization=maple,
            patient=maria,
            kind="lab_result",
            values={**POTASSIUM, "effective_date": today, "value": "5.9"},
        )
        entry = item_publish(user=park_user, organization=maple, item=item)
    park = sign_in(park_user, maple)

    def read(resource_type, resource_id):
        body = fhir_json(_everything(park, maria))
        return {(r["resourceType"], r["id"]): r for r in resources_of(body)}[(resource_type, resource_id)]

    def agent(provenance, role):
        return next(a for a in provenance["agent"] if a["type"]["coding"][0]["code"] == role)

    assert read("Observation", str(entry.uuid))["valueQuantity"]["value"] == 5.9
    assert len(MAPPED) > 1
    # The people and the organization named are shown as they are called now.
    ward.full_name = "Lena Ward-Okoro"
    ward.save(update_fields=["full_name"])
    assert read("Observation", str(entry.uuid))["performer"][0]["display"] == "Lena Ward-Okoro"
    provenance = read("Provenance", f"{entry.uuid}-provenance")
    assert agent(provenance, "author")["who"] == {
        "reference": f"Practitioner/{practitioner_id(ward.pk)}",
        "display": "Lena Ward-Okoro",
    }
    park_user.full_name = "Peter Park-Lee"
    park_user.save(update_fields=["full_name"])
    assert agent(read("Provenance", f"{entry.uuid}-provenance"), "verifier")["who"]["display"] == "Peter Park-Lee"
    maple.name = "Maple Family Medicine (renamed)"
    maple.save(update_fields=["name"])
    provenance = read("Provenance", f"{entry.uuid}-provenance")
    assert agent(provenance, "author")["onBehalfOf"]["display"] == "Maple Family Medicine (renamed)"
    # A correction and a withdrawal show at once.
    with schema_context(maple.schema_name):
        corrected = item_correct(
            user=park_user,
            organization=maple,
            item=ClinicalItem.objects.get(pk=item.pk),
            values={**POTASSIUM, "effective_date": today, "value": "4.9"},
        )
    observation = read("Observation", str(entry.uuid))
    assert observation["valueQuantity"]["value"] == 4.9 and observation["meta"]["versionId"] == "2"
    with schema_context(maple.schema_name):
        item_withdraw(
            user=park_user, organization=maple, item=ClinicalItem.objects.get(pk=corrected.pk), reason="Wrong patient"
        )
    assert read("Observation", str(entry.uuid))["status"] == "entered-in-error"
    assert read("Provenance", f"{entry.uuid}-provenance")["activity"]["coding"][0]["code"] == "NULLIFY"


def test_what_is_remembered_opens_nothing_to_a_reader_who_may_not_see_it(cast, sign_in):
    maria, maple, park = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    cedar, chen = cast.organizations["cedarvalley"], cast.users["chen"]
    park_client = sign_in(park, maple)
    shared = {r["id"] for r in resources_of(fhir_json(_everything(park_client, maria)))}
    others = {str(e.uuid) for e in RegistryEntry.objects.filter(patient=maria).exclude(organization=cedar)}
    assert others <= shared and len(MAPPED) >= len(others)
    chen_client = sign_in(chen, cedar)
    assert _everything(chen_client, maria).status_code == 404
    # Registering the patient opens only Cedar Valley's own entries, remembered or not.
    assert chen_client.post("/patients/register/", {**MARIA, "mrn": "CVC-4243"}).status_code in (200, 302)
    seen = {r["id"] for r in resources_of(fhir_json(_everything(chen_client, maria)))}
    assert not seen & {i for i in shared if i[:36] in others}
    assert not fhir_json(chen_client.get(f"/fhir/R4/Observation?patient={maria.uuid}")).get("entry")
    # Once Maple's relationship ends, what Park read before is no longer his to read.
    for relationship in CareRelationship.objects.active().filter(patient=maria, organization=maple):
        care_relationship_end(relationship=relationship, ended_by=cast.users["maple_admin"])
    assert _everything(park_client, maria).status_code == 404


def test_a_process_keeps_mapped_entries_within_its_memory_budget():
    def mapped(kind):
        return mapped_entry(
            author_id=None,
            author_name="",
            publisher_name="",
            resources=[{"resourceType": "Observation", "id": kind, "status": "final"}],
            provenance={"resourceType": "Provenance", "id": f"{kind}-provenance"},
        )

    size = mapped("a").size
    kept = MappedEntries(max_bytes=3 * size)
    for key in "abc":
        kept.put(key, mapped(key))
    assert kept.get("a") is not None  # used: the least recently used is now b
    kept.put("d", mapped("d"))
    assert (kept.get("b"), len(kept), kept.size) == (None, 3, 3 * size)
    assert [r["id"] for r in kept.get("a").resources] == ["a"]
    for budget in (size - 1, 0):  # one too large for the budget, or no budget: nothing kept
        small = MappedEntries(max_bytes=budget)
        small.put("e", mapped("e"))
        assert (len(small), small.size, small.get("e")) == (0, 0, None)
