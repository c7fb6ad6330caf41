"""Dr. Peter Park signs in at Maple Family Medicine; Dr. Carla Chen is refused there."""

import pytest

from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def test_park_signs_in_at_maple_and_sees_his_home_page(portal_server, page):
    browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
    assert page.url == org_url(portal_server, "maple", "/")
    assert page.get_by_role("heading", name="Good to see you, Peter").is_visible()
    assert page.get_by_text("Primary-care physician at Maple Family Medicine").is_visible()
    assert page.locator(".org-name").inner_text() == "Maple Family Medicine"


def test_chen_is_refused_at_maple(portal_server, page):
    browser_sign_in(page, portal_server, "maple", "carla.chen@cedarvalley.example")
    alert = page.get_by_role("alert")
    assert "You do not have an active account at Maple Family Medicine" in alert.inner_text()
    page.goto(org_url(portal_server, "maple", "/"))
    assert "/accounts/login/" in page.url
