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
    marked = park.post("/api/v1/notifications/read/", json.dumps({}), content_type="application/json").json()
    assert marked == {"marked_read": 1, "unread": 0}
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get("/api/v1/notifications/").json()["results"] == []
