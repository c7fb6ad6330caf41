"""The messaging API: start, read, reply, receipts, archive; bad input answers 4xx."""

import json

from portal.notifications.models import Notification


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_api_thread_round_trip_with_read_receipts(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    created = _post(
        okafor,
        "/api/v1/threads/",
        {
            "subject": "CBC twice weekly",
            "body": "Thursday and Monday, please.",
            "patient": str(cast.patients["maria"].uuid),
            "urgent": True,
            "participants": [{"organization": "maple", "user_id": cast.users["park"].pk}],
        },
    )
    assert created.status_code == 201, created.content
    thread = created.json()
    assert thread["urgent"] and thread["patient"] == str(cast.patients["maria"].uuid)
    assert Notification.objects.get(recipient=cast.users["park"]).urgent
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    inbox = park.get("/api/v1/threads/").json()
    assert [(t["uuid"], t["unread"]) for t in inbox["results"]] == [(thread["uuid"], 1)]
    assert inbox["unread_threads"] == 1
    assert _post(park, f"/api/v1/threads/{thread['uuid']}/read/", {}).json()["newly_read"] == 1
    assert park.get("/api/v1/threads/").json()["unread_threads"] == 0
    reply = _post(park, f"/api/v1/threads/{thread['uuid']}/messages/", {"body": "Booked."})
    assert reply.status_code == 201 and reply.json()["sender"]["name"] == "Peter Park, MD"
    receipts = okafor.get(f"/api/v1/threads/{thread['uuid']}/read/").json()["messages"]
    assert receipts[0]["read_by"][0]["user"]["name"] == "Peter Park, MD"
    archived = _post(park, f"/api/v1/threads/{thread['uuid']}/archive/", {"archived": True})
    assert archived.json()["archived"] is True
    assert park.get("/api/v1/threads/").json()["results"] == []
    assert len(park.get("/api/v1/threads/?archived=1").json()["results"]) == 1


def test_api_bad_input_answers_400_with_errors(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    missing = _post(okafor, "/api/v1/threads/", {"subject": "", "participants": []})
    assert missing.status_code == 400
    body = missing.json()
    assert body["detail"] and {"subject", "body", "participants"} <= set(body["errors"])
    unknown = _post(
        okafor, "/api/v1/threads/", {"subject": "s", "body": "b", "participants": [{"organization": "nowhere"}]}
    )
    assert unknown.status_code == 400 and "nowhere" in json.dumps(unknown.json())
    not_json = okafor.post("/api/v1/threads/", "{", content_type="application/json")
    assert not_json.status_code == 400


def test_the_api_schema_documents_the_messaging_routes(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    schema = park.get("/api/v1/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/threads/{thread_uuid}/messages/" in text and "/api/v1/notifications/preferences/" in text


def test_api_thread_search_is_a_post_and_a_search_in_the_url_is_refused(cast, sign_in):
    from tests.messaging.helpers import okafor_writes_park

    okafor_writes_park(cast, subject="Neutropenia watch", body="Check the ANC twice weekly.")
    okafor_writes_park(cast, subject="Port flush")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    found = _post(park, "/api/v1/threads/search/", {"q": "twice weekly"})
    assert found.status_code == 200
    assert [t["subject"] for t in found.json()["results"]] == ["Neutropenia watch"]
    assert _post(park, "/api/v1/threads/search/", {"q": "zebra"}).json()["count"] == 0
    missing = _post(park, "/api/v1/threads/search/", {})
    assert missing.status_code == 400 and "q" in missing.json()["errors"]
    in_url = park.get("/api/v1/threads/?q=neutropenia")
    assert in_url.status_code == 400 and "POST /api/v1/threads/search/" in in_url.json()["errors"]["q"][0]
    assert park.get("/api/v1/threads/").json()["count"] == 2
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert _post(chen, "/api/v1/threads/search/", {"q": "twice"}).json()["results"] == []
