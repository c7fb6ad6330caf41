"""Every error under /api/ is JSON {"detail": ..., "errors": {...}} with a 4xx — never
Django's HTML page — at an organization's address and at the network's."""

from __future__ import annotations

import json
import uuid

import pytest
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseServerError, JsonResponse
from django.test import Client, RequestFactory

from portal.api.middleware import APIErrorMiddleware
from tests.messaging.helpers import snapshot


def _assert_api_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    assert b"<html" not in response.content.lower()
    return body


UNKNOWN = ["/api/v1/messages/", "/api/v1/patients/not-a-uuid/", "/api/v1/threads/not-a-uuid/read/", "/api/", "/api/v2/"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_api_route_at_an_organizations_address_is_a_json_404(cast, sign_in, anonymous, path):
    maple = cast.organizations["maple"]
    for client in (sign_in(cast.users["park"], maple), anonymous(maple)):
        for method in ("get", "post", "delete"):
            _assert_api_error(getattr(client, method)(path), 404)


def test_an_unknown_api_route_at_the_networks_address_and_at_no_organization_is_a_json_404(cast):
    from django.conf import settings

    _assert_api_error(Client(HTTP_HOST=settings.BASE_DOMAIN).get("/api/v1/threads/"), 404)
    _assert_api_error(Client(HTTP_HOST=f"no-such-org.{settings.BASE_DOMAIN}").get("/api/v1/threads/"), 404)


def test_a_method_a_route_does_not_take_is_a_json_405_and_changes_nothing(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = snapshot()
    for method, path in (
        ("delete", "/api/v1/threads/"),
        ("put", "/api/v1/notifications/read/"),
        ("get", "/api/v1/notifications/read/"),
        ("patch", f"/api/v1/patients/{cast.patients['maria'].uuid}/"),
    ):
        response = getattr(okafor, method)(path)
        _assert_api_error(response, 405)
        assert response.has_header("Allow")
    assert snapshot() == before


def test_errors_of_the_api_views_carry_the_errors_key_too(cast, sign_in, anonymous):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    body = _assert_api_error(park.get(f"/api/v1/threads/{uuid.uuid4()}/"), 404)
    assert body["errors"] == {}
    _assert_api_error(anonymous(cast.organizations["maple"]).get("/api/v1/threads/"), 403)
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    _assert_api_error(chen.get(f"/api/v1/patients/{cast.patients['maria'].uuid}/"), 404)


def test_pages_outside_the_api_keep_their_html_404(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    response = park.get("/no-such-page/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_a_server_error_under_the_api_leaves_as_json_too():
    request = RequestFactory().get("/api/v1/threads/")
    shaped = APIErrorMiddleware(lambda r: HttpResponseServerError("<html>boom</html>"))(request)
    _assert_api_error(shaped, 500)
    listed = APIErrorMiddleware(lambda r: JsonResponse(["bad"], safe=False, status=400))(request)
    assert _assert_api_error(listed, 400)["errors"] == {"non_field_errors": ["bad"]}
    fine = JsonResponse({"detail": "No.", "errors": {"x": ["y"]}}, status=409)
    assert APIErrorMiddleware(lambda r: fine)(request) is fine
    ok = HttpResponse("<html>ok</html>")
    assert APIErrorMiddleware(lambda r: ok)(request) is ok
    page = HttpResponseNotFound("<html>missing</html>")
    assert APIErrorMiddleware(lambda r: page)(RequestFactory().get("/messages/x/")) is page


def test_a_field_the_endpoint_does_not_take_is_refused_the_same_way_everywhere(cast, sign_in):
    """Unknown fields are one rule for the whole API: 400 naming each field, nothing written."""
    from portal.care.models import Referral
    from portal.messaging.models import Thread

    park = sign_in(cast.users["park"], cast.organizations["maple"])
    okafor = cast.users["okafor"]
    threads, referrals = Thread.objects.count(), Referral.objects.count()
    cases = [
        ("/api/v1/patients/search/", {"q": "alvarez", "limit": 5}, "limit"),
        (
            "/api/v1/threads/",
            {
                "subject": "CBC",
                "body": "Results attached",
                "participants": [{"organization": "northfield", "user_id": okafor.pk, "role": "x"}],
                "urgnet": True,
            },
            "urgnet",
        ),
        ("/api/v1/notifications/read/", {"all": True, "everyone": True}, "everyone"),
    ]
    for path, data, field in cases:
        body = _assert_api_error(park.post(path, data, content_type="application/json"), 400)
        assert field in body["errors"], (path, body)
        assert "does not take this field" in " ".join(body["errors"][field])
    without_top_level_extra = {key: value for key, value in cases[1][1].items() if key != "urgnet"}
    nested = _assert_api_error(park.post(cases[1][0], without_top_level_extra, content_type="application/json"), 400)
    assert "role" in " ".join(nested["errors"]["participants"])
    assert Thread.objects.count() == threads and Referral.objects.count() == referrals
