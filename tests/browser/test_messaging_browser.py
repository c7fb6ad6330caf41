"""Dr. Okafor sends, Dr. Park reads and replies, Dr. Okafor sees the read receipt."""

import uuid

import pytest

from portal.messaging.models import Thread
from portal.notifications.models import Notification
from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def test_okafor_sends_park_reads_and_replies_okafor_sees_the_receipt(committed, portal_server, browser, page):
    cast = committed
    maple, park = cast.organizations["maple"], cast.users["park"]
    subject = f"CBC after cycle 3 ({uuid.uuid4().hex[:6]})"
    try:
        browser_sign_in(page, portal_server, "northfield", "olivia.okafor@northfield.example")
        page.goto(org_url(portal_server, "northfield", f"/messages/new/?patient={cast.patients['maria'].uuid}"))
        page.locator(f"input[name=recipients][value='u:{maple.pk}:{park.pk}']").check()
        page.get_by_label("Subject").fill(subject)
        page.get_by_label("Message", exact=True).fill("Please draw a CBC on Thursday and Monday.")
        page.get_by_role("button", name="Send message").click()
        page.wait_for_url("**/messages/*/")
        assert page.get_by_role("heading", name=subject).is_visible()
        assert page.get_by_text("Not read yet").is_visible()
        thread_url = page.url

        park_context = browser.new_context(viewport={"width": 1180, "height": 820})
        park_page = park_context.new_page()
        park_page.set_default_timeout(15000)
        try:
            browser_sign_in(park_page, portal_server, "maple", "peter.park@maple.example")
            assert park_page.get_by_test_id("bell-count").inner_text() == "1"
            park_page.goto(org_url(portal_server, "maple", "/messages/"))
            row = park_page.locator("tr.msg-unread", has_text=subject)
            assert row.is_visible()
            row.get_by_role("link", name=subject).click()
            park_page.wait_for_url("**/messages/*/")
            assert park_page.get_by_text("Please draw a CBC on Thursday and Monday.").is_visible()
            park_page.get_by_label("Your reply").fill("Booked for Thursday 9:00.")
            park_page.get_by_role("button", name="Send reply").click()
            park_page.locator(".msg", has_text="Booked for Thursday 9:00.").wait_for()
            assert park_page.get_by_label("Your reply").input_value() == ""  # HTMX swapped in a fresh form
        finally:
            park_context.close()

        page.goto(thread_url)
        receipt = page.locator(".msg-receipt").first
        assert "Read by Peter Park, MD (Maple Family Medicine)" in receipt.inner_text()
        assert page.get_by_text("Booked for Thursday 9:00.").is_visible()
    finally:
        for thread in Thread.objects.filter(subject=subject):
            Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
            thread.delete()
