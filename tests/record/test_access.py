"""The four actors on every route of the shared record; guessed ids; ended relationships."""

import uuid
from datetime import timedelta

from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.patients.models import CareRelationship
from portal.patients.selectors import patient_search, user_can_view_patient, visible_patients
from portal.patients.services import care_relationship_end


def _routes(maria, entry):
    return [
        f"/patients/{maria.uuid}/",
        f"/patients/{maria.uuid}/entries/{entry.uuid}/",
        f"/patients/{maria.uuid}/timeline/",
        f"/api/v1/patients/{maria.uuid}/",
        f"/api/v1/patients/{maria.uuid}/entries/",
        f"/api/v1/patients/{maria.uuid}/entries/{entry.uuid}/",
    ]


def test_park_the_right_member_reads_every_route(cast, sign_in, maria_entry):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    for route in _routes(cast.patients["maria"], maria_entry):
        response = park.get(route)
        assert response.status_code == 200, route


def test_anonymous_gets_nothing(cast, anonymous, maria_entry):
    client = anonymous(cast.organizations["maple"])
    before = AuditEvent.objects.filter(action="read").count()
    for route in _routes(cast.patients["maria"], maria_entry):
        response = client.get(route)
        assert response.status_code in (302, 401, 403), route
        assert "Alvarez" not in response.content.decode()
    assert AuditEvent.objects.filter(action="read").count() == before


def test_chen_at_her_own_address_gets_nothing_about_maria(cast, sign_in, maria_entry):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    before = AuditEvent.objects.filter(action="read", outcome="allowed").count()
    routes = _routes(cast.patients["maria"], maria_entry)
    for route in routes:
        response = chen.get(route)
        assert response.status_code == 404, route
        assert "Alvarez" not in response.content.decode()
    for query in ("Maria Alvarez", "Alvarez", "1961-04-12", "NCI-100234", "MFM-55871"):
        page = chen.post("/patients/search/", {"q": query}).content.decode()
        assert str(cast.patients["maria"].uuid) not in page
        assert "No patient you care for matches" in page
        assert chen.post("/api/v1/patients/search/", {"q": query}, content_type="application/json").json() == []
    assert AuditEvent.objects.filter(action="read", outcome="allowed").count() == before
    # Each refused read is in the audit log as denied (who, which route, the ids asked).
    denied = AuditEvent.objects.filter(action="read", outcome="denied", actor=cast.users["chen"])
    assert denied.count() == len(routes)
    assert all(str(cast.patients["maria"].uuid) in event.detail["ids"].values() for event in denied)


def test_chen_session_is_refused_at_maples_address(cast, sign_in, maria_entry):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    response = chen.get(f"/patients/{cast.patients['maria'].uuid}/", HTTP_HOST="maple.localhost")
    assert response.status_code == 302


def test_a_member_without_a_clinical_role_gets_nothing(cast, sign_in, maria_entry):
    admin = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    for route in _routes(cast.patients["maria"], maria_entry):
        assert admin.get(route).status_code in (403, 404), route
    assert admin.get("/patients/").status_code == 404


def test_guessed_uuids_are_indistinguishable_from_forbidden(cast, sign_in, maria_entry):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    maria = cast.patients["maria"]
    for client in (park, chen):
        assert client.get(f"/patients/{uuid.uuid4()}/").status_code == 404
        assert client.get(f"/patients/{maria.uuid}/entries/{uuid.uuid4()}/").status_code in (404,)
        assert client.get(f"/api/v1/patients/{uuid.uuid4()}/").status_code == 404


def test_an_entry_of_another_patient_cannot_be_opened_through_a_visible_one(cast, sign_in, maria_entry):
    from portal.patients.models import NetworkPatient

    other = (
        NetworkPatient.objects.exclude(pk=cast.patients["maria"].pk)
        .filter(care_relationships__organization=cast.organizations["cedarvalley"])
        .first()
    )
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(f"/patients/{other.uuid}/entries/{maria_entry.uuid}/").status_code == 404


def test_ending_the_relationship_cuts_access_at_once(cast, sign_in):
    maria, maple, park = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    client = sign_in(park, maple)
    assert client.get(f"/patients/{maria.uuid}/").status_code == 200
    assert str(maria.uuid) in client.post("/patients/search/", {"q": "Alvarez"}).content.decode()
    for relationship in CareRelationship.objects.active().filter(patient=maria, organization=maple):
        care_relationship_end(relationship=relationship, ended_by=cast.users["maple_admin"])
    assert client.get(f"/patients/{maria.uuid}/").status_code == 404
    assert not visible_patients(user=park, organization=maple).filter(pk=maria.pk).exists()
    assert str(maria.uuid) not in client.post("/patients/search/", {"q": "Alvarez"}).content.decode()


def test_a_relationship_past_its_end_time_cuts_access_without_anyone_acting(cast):
    maria, maple, park = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    CareRelationship.objects.filter(patient=maria, organization=maple).update(
        ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert not user_can_view_patient(user=park, organization=maple, patient=maria)
    assert maria not in patient_search(user=park, organization=maple, query="Maria Alvarez")
    from portal.patients.access import relationships_expire
    from portal.patients.models import NetworkPatientGroupObjectPermission

    assert relationships_expire() >= 1
    assert not NetworkPatientGroupObjectPermission.objects.filter(
        group__name=f"org:{maple.schema_name}:clinical", content_object=maria
    ).exists()
    assert relationships_expire() == 0


def test_name_search_needs_the_permission_as_well_as_the_relationship(cast):
    """Both halves of the rule hold for a search by name too: without the guardian
    permission an active relationship finds nothing, and it finds the patient again once
    the permission is back."""
    from portal.patients.access import chart_permission_sync
    from portal.patients.models import NetworkPatientGroupObjectPermission

    maria, maple, park = cast.patients["maria"], cast.organizations["maple"], cast.users["park"]
    assert maria in patient_search(user=park, organization=maple, query="Maria Alvarex")
    NetworkPatientGroupObjectPermission.objects.filter(
        group__name=f"org:{maple.schema_name}:clinical", content_object=maria
    ).delete()
    assert maria not in patient_search(user=park, organization=maple, query="Maria Alvarex")
    assert chart_permission_sync(organization=maple, patient=maria)
    assert maria in patient_search(user=park, organization=maple, query="Maria Alvarex")


def test_access_is_derived_as_a_guardian_object_permission(cast):
    from guardian.shortcuts import get_groups_with_perms

    groups = {group.name for group in get_groups_with_perms(cast.patients["maria"], attach_perms=False)}
    assert "org:org_maple:clinical" in groups
    assert "org:org_northfield:clinical" in groups
    assert "org:org_cedarvalley:clinical" not in groups


def test_lists_and_search_show_only_related_patients(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    link = f"/patients/{cast.patients['maria'].uuid}/"
    assert link in park.get("/patients/?show=all").content.decode()
    assert link not in chen.get("/patients/?show=all").content.decode()
    assert link in park.post("/patients/search/", {"q": "alv"}).content.decode()
    assert link not in chen.post("/patients/search/", {"q": "alv"}).content.decode()


def test_search_terms_travel_in_the_body_never_in_the_address(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    link = f"/patients/{cast.patients['maria'].uuid}/"
    form = park.get("/patients/search/").content.decode()
    assert 'method="post"' in form and "hx-push-url" not in form
    assert link not in park.get("/patients/search/?q=alvarez").content.decode()  # a term in the URL is not searched
    assert 'method="post"' in park.get("/").content.decode()  # the home page's search box too
    api = park.post("/api/v1/patients/search/", {"q": "Alvarex"}, content_type="application/json")
    assert api.status_code == 200 and [p["uuid"] for p in api.json()] == [str(cast.patients["maria"].uuid)]
    empty = park.post("/api/v1/patients/search/", {}, content_type="application/json")
    assert empty.status_code == 400 and "q" in empty.json()["errors"]
    assert park.get("/api/v1/patients/search/?q=alvarez").status_code == 405
