"""In a real browser: Enter in the compose form sends the message; the inbox search updates
the list without putting its words in the address bar; the docs page draws Swagger UI."""

import re
import uuid

import pytest

from portal.messaging.models import Thread
from portal.notifications.models import Notification
from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def test_enter_in_the_subject_sends_and_the_inbox_search_keeps_words_out_of_the_url(
    committed, portal_server, browser, page
):
    cast = committed
    maple, park = cast.organizations["maple"], cast.users["park"]
    tag = uuid.uuid4().hex[:6]
    subject = f"Neutropenia watch {tag}"
    outside_page_requests: list[str] = []
    page.on("request", lambda r: outside_page_requests.append(r.url) if ".localhost:" not in r.url else None)
    try:
        browser_sign_in(page, portal_server, "northfield", "olivia.okafor@northfield.example")
        page.goto(org_url(portal_server, "northfield", f"/messages/new/?patient={cast.patients['maria'].uuid}"))
        # Recipients are checkboxes (no Ctrl-click); the filter narrows them and Enter in it sends nothing.
        page.get_by_label("Find a recipient").fill("park maple")
        assert page.locator(".recipient-option:visible").count() == 1
        page.get_by_label("Find a recipient").press("Enter")
        assert "/messages/new/" in page.url
        page.get_by_role("checkbox", name=re.compile("^Peter Park")).check()
        page.screenshot(path="test-artifacts/screenshots/compose_recipient_picker.png", full_page=True)
        assert page.locator(f"input[name=recipients][value='u:{maple.pk}:{park.pk}']").is_checked()
        page.get_by_label("Message", exact=True).fill("Check the ANC twice weekly.")
        page.get_by_label("Subject").fill(subject)
        page.get_by_label("Subject").press("Enter")
        page.wait_for_url("**/messages/*/")
        assert page.get_by_role("heading", name=subject).is_visible()
        assert Thread.objects.filter(subject=subject).count() == 1

        page.goto(org_url(portal_server, "northfield", "/messages/"))
        page.get_by_label("Search your messages").fill(tag)
        page.locator("#thread-list a", has_text=subject).wait_for()
        page.get_by_label("Search your messages").fill(f"zebra-{tag}")
        page.get_by_text(f"No messages match “zebra-{tag}”.").wait_for()
        assert tag not in page.url
        page.get_by_label("Search your messages").fill(tag)
        page.get_by_role("button", name="Search").click()
        page.locator("#thread-list a", has_text=subject).wait_for()
        assert tag not in page.url and "q=" not in page.url

        page.goto(org_url(portal_server, "northfield", "/api/v1/docs/"))
        page.locator(".swagger-ui .info .title", has_text="Continuum API").wait_for()
        assert outside_page_requests == []
    finally:
        for thread in Thread.objects.filter(subject=subject):
            Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
            thread.delete()
