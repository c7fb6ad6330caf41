"""The bell, the notifications list, mark-read, and preferences (pages and API)."""

import json

from portal.notifications.models import Notification, NotificationPreference
from tests.messaging.helpers import okafor_writes_park


def test_the_bell_shows_the_unread_count_and_the_list_marks_read(cast, sign_in):
    okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    home = park.get("/").content.decode()
    assert 'data-testid="bell-count">1<' in home
    listing = park.get("/notifications/").content.decode()
    assert "New secure message from Olivia Okafor, MD" in listing
    notification = Notification.objects.get(recipient=cast.users["park"])
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    chen.post("/notifications/read/", {"notification": notification.pk})
    notification.refresh_from_db()
    assert notification.read_at is None  # not hers: nothing changed
    response = park.post("/notifications/read/", {"notification": notification.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "All read" in response.content.decode()
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "bell-count" not in park.get("/notifications/bell/").content.decode()


def test_notification_pages_need_a_member(cast, sign_in, anonymous):
    maple = cast.organizations["maple"]
    for route in ("/notifications/", "/notifications/preferences/", "/notifications/bell/"):
        assert anonymous(maple).get(route).status_code == 302
        assert sign_in(cast.users["chen"], maple).get(route).status_code == 302
        assert sign_in(cast.users["maple_admin"], maple).get(route).status_code == 200
        assert sign_in(cast.users["park"], maple).get(route).status_code == 200


def test_preferences_page_saves_a_choice_and_refuses_a_bad_one(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert park.post("/notifications/preferences/", {"message": "digest"}).status_code == 302
    assert NotificationPreference.objects.get(user=cast.users["park"], kind="message").channel == "digest"
    bad = park.post("/notifications/preferences/", {"message": "carrier-pigeon"})
    assert bad.status_code == 400
    assert NotificationPreference.objects.get(user=cast.users["park"], kind="message").channel == "digest"


def test_preferences_and_notifications_api(cast, sign_in, anonymous):
    maple = cast.organizations["maple"]
    assert anonymous(maple).get("/api/v1/notifications/preferences/").status_code == 403
    park = sign_in(cast.users["park"], maple)
    assert park.get("/api/v1/notifications/preferences/").json()["message"] == "immediate"
    changed = park.put(
        "/api/v1/notifications/preferences/", json.dumps({"message": "in_app"}), content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["message"] == "in_app"
    bad = park.put(
        "/api/v1/notifications/preferences/", json.dumps({"message": "fax"}), content_type="application/json"
    )
    assert bad.status_code == 400 and "message" in bad.json()["errors"]
    okafor_writes_park(cast)
    listed = park.get("/api/v1/notifications/").json()
    assert listed["unread"] == 1 and len(listed["results"]) == 1
    marked = park.post("/api/v1/notifications/read/", json.dumps({"all": True}), content_type="application/json")
    assert marked.json() == {"marked_read": 1, "unread": 0}
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get("/api/v1/notifications/").json()["results"] == []


def _mark(client, body):
    return client.post("/api/v1/notifications/read/", json.dumps(body), content_type="application/json")


def _unread(user):
    return sorted(Notification.objects.filter(recipient=user, read_at__isnull=True).values_list("pk", flat=True))


def test_marking_read_needs_explicit_ids_or_all_and_a_junk_body_changes_nothing(cast, sign_in):
    okafor_writes_park(cast, subject="One")
    okafor_writes_park(cast, subject="Two")
    park_user = cast.users["park"]
    park = sign_in(park_user, cast.organizations["maple"])
    unread = _unread(park_user)
    assert len(unread) == 2
    for junk in (
        {},
        {"foo": "bar"},
        {"all": False},
        {"all": "yes please"},
        {"ids": []},
        {"ids": "all"},
        {"ids": [unread[0]], "all": True},
        {"ids": ["x"]},
        [1, 2],
        "everything",
    ):
        response = _mark(park, junk)
        assert response.status_code == 400, junk
        body = response.json()
        assert body["detail"] and isinstance(body["errors"], dict) and body["errors"], junk
        assert _unread(park_user) == unread, junk
    bad = park.post("/api/v1/notifications/read/", "{not json", content_type="application/json")
    assert bad.status_code == 400 and "detail" in bad.json() and _unread(park_user) == unread
    assert "ids" in _mark(park, {}).json()["errors"]["non_field_errors"][0]
    assert _mark(park, {"ids": [unread[0]]}).json() == {"marked_read": 1, "unread": 1}
    assert _unread(park_user) == [unread[1]]
    assert _mark(park, {"all": True}).json() == {"marked_read": 1, "unread": 0}


def test_marking_someone_elses_notification_read_is_ignored_and_reveals_nothing(cast, sign_in):
    from portal.notifications.services import notification_send

    okafor_writes_park(cast)
    (hers,) = notification_send(recipients=[cast.users["chen"]], kind="message", title="Waiting", email=False)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    missing = Notification.objects.order_by("-pk").first().pk + 1000
    for ids in ([hers.pk], [missing]):
        response = _mark(park, {"ids": ids})
        assert response.status_code == 200 and response.json() == {"marked_read": 0, "unread": 1}
    hers.refresh_from_db()
    assert hers.read_at is None
    assert len(_unread(cast.users["park"])) == 1


def test_the_pages_mark_all_read_needs_its_button_and_a_bare_post_changes_nothing(cast, sign_in):
    okafor_writes_park(cast)
    park_user = cast.users["park"]
    park = sign_in(park_user, cast.organizations["maple"])
    listing = park.get("/notifications/").content.decode()
    assert '<input type="hidden" name="all" value="1">' in listing
    unread = _unread(park_user)
    assert park.post("/notifications/read/", {"junk": "1"}).status_code == 400
    assert _unread(park_user) == unread
    assert park.post("/notifications/read/", {"all": "1"}).status_code == 302
    assert _unread(park_user) == []
