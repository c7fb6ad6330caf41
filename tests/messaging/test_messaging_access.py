"""Who may do what with a thread, on every route: anonymous, a member of another
organization, a member without a clinical role, and the right member. Every refusal
changes nothing and sends nothing."""

import json
import uuid

import pytest

from portal.messaging.models import Participant
from tests.messaging.helpers import okafor_writes_park, snapshot

PAGE_ROUTES = [
    ("get", "/messages/{thread}/", None),
    ("post", "/messages/{thread}/reply/", {"body": "Hello"}),
    ("post", "/messages/{thread}/participants/", {"recipient": "p:{maple}"}),
    ("post", "/messages/{thread}/archive/", {"archived": "1"}),
]
API_ROUTES = [
    ("get", "/api/v1/threads/{thread}/", None),
    ("post", "/api/v1/threads/{thread}/messages/", {"body": "Hello"}),
    ("get", "/api/v1/threads/{thread}/read/", None),
    ("post", "/api/v1/threads/{thread}/read/", {}),
    ("post", "/api/v1/threads/{thread}/participants/", {"organization": "maple"}),
    ("post", "/api/v1/threads/{thread}/archive/", {"archived": True}),
]


def _call(client, method, template, data, thread, cast, api=False):
    url = template.format(thread=thread.uuid)
    if data is not None:
        data = {
            k: (v.format(maple=cast.organizations["maple"].pk) if isinstance(v, str) else v) for k, v in data.items()
        }
    if method == "get":
        return client.get(url)
    if api:
        return client.post(url, json.dumps(data), content_type="application/json")
    return client.post(url, data)


@pytest.mark.parametrize(("method", "route", "data"), PAGE_ROUTES)
def test_thread_pages_refuse_all_but_participants(cast, sign_in, anonymous, method, route, data):
    thread = okafor_writes_park(cast)
    maple = cast.organizations["maple"]
    before = snapshot()
    response = _call(anonymous(maple), method, route, data, thread, cast)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert _call(chen, method, route, data, thread, cast).status_code == 404
    chen_at_maple = sign_in(cast.users["chen"], maple)
    assert _call(chen_at_maple, method, route, data, thread, cast).status_code == 302
    admin = sign_in(cast.users["maple_admin"], maple)
    assert _call(admin, method, route, data, thread, cast).status_code == 403
    navarro = sign_in(cast.users["navarro"], cast.organizations["northfield"])  # not a participant
    assert _call(navarro, method, route, data, thread, cast).status_code == 404
    park = sign_in(cast.users["park"], maple)
    guessed = type("T", (), {"uuid": uuid.uuid4()})()
    assert _call(park, method, route, data, guessed, cast).status_code == 404
    assert snapshot() == before
    assert _call(park, method, route, data, thread, cast).status_code in (200, 302)


@pytest.mark.parametrize(("method", "route", "data"), API_ROUTES)
def test_thread_api_refuses_all_but_participants(cast, sign_in, anonymous, method, route, data):
    thread = okafor_writes_park(cast)
    maple = cast.organizations["maple"]
    before = snapshot()
    anon = _call(anonymous(maple), method, route, data, thread, cast, api=True)
    assert anon.status_code == 403 and "detail" in anon.json()
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    refused = _call(chen, method, route, data, thread, cast, api=True)
    assert refused.status_code == 404 and "Maria" not in refused.content.decode()
    assert _call(sign_in(cast.users["chen"], maple), method, route, data, thread, cast, api=True).status_code == 403
    admin = _call(sign_in(cast.users["maple_admin"], maple), method, route, data, thread, cast, api=True)
    assert admin.status_code == 403 and "clinical staff" in admin.json()["detail"]
    park = sign_in(cast.users["park"], maple)
    guessed = type("T", (), {"uuid": uuid.uuid4()})()
    assert _call(park, method, route, data, guessed, cast, api=True).status_code == 404
    assert snapshot() == before
    assert _call(park, method, route, data, thread, cast, api=True).status_code in (200, 201)


@pytest.mark.parametrize("route", ["/messages/", "/messages/new/"])
def test_inbox_and_compose_need_a_clinical_member(cast, sign_in, anonymous, route):
    maple = cast.organizations["maple"]
    assert anonymous(maple).get(route).status_code == 302
    assert sign_in(cast.users["chen"], maple).get(route).status_code == 302
    assert sign_in(cast.users["maple_admin"], maple).get(route).status_code == 403
    assert sign_in(cast.users["park"], maple).get(route).status_code == 200


def test_chen_never_sees_marias_thread_in_her_inbox_or_api_list(cast, sign_in):
    thread = okafor_writes_park(cast, subject="Maria labs")
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert "Maria labs" not in chen.get("/messages/").content.decode()
    assert str(thread.uuid) not in chen.get("/api/v1/threads/").content.decode()


def test_chen_cannot_be_added_by_the_api_and_gets_a_reason(cast, sign_in):
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = snapshot()
    response = okafor.post(
        f"/api/v1/threads/{thread.uuid}/participants/",
        json.dumps({"organization": "cedarvalley", "user_id": cast.users["chen"].pk}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "may not see this patient's record" in response.json()["errors"]["participants"][0]
    assert snapshot() == before
    assert not Participant.objects.filter(thread=thread, user=cast.users["chen"]).exists()


def test_a_thread_about_maria_cannot_be_started_with_chen(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = snapshot()
    response = okafor.post(
        "/api/v1/threads/",
        json.dumps(
            {
                "subject": "Labs",
                "body": "Hello",
                "patient": str(cast.patients["maria"].uuid),
                "participants": [{"organization": "cedarvalley", "user_id": cast.users["chen"].pk}],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400 and "Carla Chen" in json.dumps(response.json())
    pool = okafor.post(
        "/api/v1/threads/",
        json.dumps(
            {
                "subject": "Labs",
                "body": "Hello",
                "patient": str(cast.patients["maria"].uuid),
                "participants": [{"organization": "cedarvalley"}],
            }
        ),
        content_type="application/json",
    )
    assert pool.status_code == 400 and "nobody there may see this patient" in json.dumps(pool.json())
    assert snapshot() == before


def test_chen_cannot_write_about_maria_with_a_guessed_patient_id(cast, sign_in):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    before = snapshot()
    for patient in (str(cast.patients["maria"].uuid), str(uuid.uuid4())):
        response = chen.post(
            "/api/v1/threads/",
            json.dumps({"subject": "x", "body": "y", "patient": patient, "participants": [{"organization": "maple"}]}),
            content_type="application/json",
        )
        assert response.status_code == 400 and "No such patient" in json.dumps(response.json())
    assert snapshot() == before


def test_a_participant_who_no_longer_sees_the_patient_cannot_reply_by_any_route(cast, sign_in):
    """Park takes part in the thread about Maria, then Maple stops caring for her: the page,
    the API and the service itself refuse his reply, and nothing is written or sent."""
    from django.core.exceptions import ValidationError

    from portal.messaging.services import message_reply
    from portal.patients.models import CareRelationship
    from portal.patients.services import care_relationship_end

    thread = okafor_writes_park(cast)
    park, maple = cast.users["park"], cast.organizations["maple"]
    client = sign_in(park, maple)
    for relationship in CareRelationship.objects.active().filter(patient=cast.patients["maria"], organization=maple):
        care_relationship_end(relationship=relationship)
    before = snapshot()
    assert client.post(f"/messages/{thread.uuid}/reply/", {"body": "Booked."}).status_code == 404
    api = client.post(
        f"/api/v1/threads/{thread.uuid}/messages/", json.dumps({"body": "Booked."}), content_type="application/json"
    )
    assert api.status_code == 404
    with pytest.raises(ValidationError):
        message_reply(thread=thread, sender=park, organization=maple, body="Booked.")
    assert snapshot() == before
