"""Chart page cost, authoring from the chart, and the API's writes."""

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.patients.models import RegistryEntry, RelationshipKind
from portal.patients.services import care_relationship_start
from portal.records.models import ClinicalItem, ItemStatus


def _chart_queries(client, maria):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/patients/{maria.uuid}/").status_code == 200
    return len(captured)


def test_chart_query_count_stays_flat_as_organizations_and_entries_grow(cast, sign_in, django_assert_max_num_queries):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    baseline = _chart_queries(park, maria)
    for slug in ("lakeside", "stbrendans"):
        organization = cast.organizations[slug]
        care_relationship_start(patient=maria, organization=organization, kind=RelationshipKind.CARE_TEAM)
        RegistryEntry.objects.bulk_create(
            RegistryEntry(
                patient=maria,
                organization=organization,
                kind=kind,
                title=f"{kind} {n}",
                effective_at=timezone.now(),
                item_uuid=uuid.uuid4(),
                summary={"value": "1", "unit": "x"},
            )
            for n in range(40)
            for kind in ("lab_result", "medication", "problem", "note")
        )
    with django_assert_max_num_queries(baseline):
        page = park.get(f"/patients/{maria.uuid}/")
    assert "Lakeside Oncology Associates" in page.content.decode()
    assert baseline <= 32


def test_my_patients_page_query_count_is_bounded(cast, sign_in, django_assert_max_num_queries):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    with django_assert_max_num_queries(12):
        response = park.get("/patients/?show=all")
    assert response.status_code == 200


def test_a_clinician_writes_a_draft_then_publishes_it_from_the_chart(cast, sign_in):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    bad = park.post(
        f"/records/new/{maria.uuid}/lab_result/",
        {"effective_date": "2026-11-20", "test": "", "value": "x", "unit": "g/dL", "action": "draft"},
    )
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    response = park.post(
        f"/records/new/{maria.uuid}/lab_result/",
        {
            "effective_date": "2026-11-20",
            "test": "Creatinine",
            "loinc": "2160-0",
            "value": "0.9",
            "unit": "mg/dL",
            "reference_low": "0.6",
            "reference_high": "1.1",
            "action": "draft",
        },
    )
    assert response.status_code == 302
    with schema_context(maple.schema_name):
        item = ClinicalItem.objects.get(title="Creatinine")
    assert item.status == ItemStatus.DRAFT
    assert "Creatinine" in park.get(f"/patients/{maria.uuid}/").content.decode()  # listed among drafts
    assert park.post(f"/records/items/{item.pk}/publish/").status_code == 302
    assert RegistryEntry.objects.filter(item_uuid=item.pk).exists()


def test_the_other_organization_cannot_publish_or_correct_maples_item(cast, sign_in):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    park.post(
        f"/records/new/{maria.uuid}/problem/",
        {"effective_date": "2026-11-20", "name": "Gout", "problem_status": "active", "action": "draft"},
    )
    with schema_context(maple.schema_name):
        item = ClinicalItem.objects.get(title="Gout")
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    assert okafor.post(f"/records/items/{item.pk}/publish/").status_code == 404
    assert okafor.get(f"/records/items/{item.pk}/correct/").status_code == 404
    assert not RegistryEntry.objects.filter(item_uuid=item.pk).exists()


def test_api_creates_and_publishes_with_useful_errors(cast, sign_in):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    url = f"/api/v1/patients/{maria.uuid}/items/"
    bad = park.post(
        url,
        {"kind": "lab_result", "values": {"effective_date": "2026-11-20", "value": "x"}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "test" in bad.json()["errors"] and "value" in bad.json()["errors"]
    unknown = park.post(url, {"kind": "horoscope", "values": {}}, content_type="application/json")
    assert unknown.status_code == 400 and "kind" in unknown.json()["errors"]
    created = park.post(
        url,
        {"kind": "allergy", "values": {"effective_date": "2026-11-20", "substance": "Sulfa", "severity": "mild"}},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["status"] == "draft"
    published = park.post(f"/api/v1/items/{created.json()['id']}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = park.post(f"/api/v1/items/{created.json()['id']}/publish/")
    assert again.status_code == 400
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.post(url, {"kind": "allergy", "values": {}}, content_type="application/json").status_code == 404


def test_the_openapi_schema_describes_the_record_routes(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    schema = park.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert b"/api/v1/patients/{patient_uuid}/entries/" in schema.content


def test_the_chart_lists_the_patients_message_threads(cast, sign_in):
    from portal.messaging.demo import seed as seed_messages

    seed_messages(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get(f"/patients/{cast.patients['maria'].uuid}/").content.decode()
    assert "Messages about this patient" in page
    assert "Follow-up labs after cycle 3" in page
    chen_page = sign_in(cast.users["chen"], cast.organizations["cedarvalley"]).get("/messages/").content.decode()
    assert "Alvarez" not in chen_page
