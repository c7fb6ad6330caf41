"""Refusals and failures show in place: a refused participant, a refused attachment, a
refused reply, a refused form token and a lost connection each say why, next to the form,
and nothing is sent."""

import re
import uuid

import pytest

from portal.messaging.models import Message, Participant, Thread
from portal.messaging.services import Recipient, thread_start
from portal.notifications.models import Notification
from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def _thread(cast, subject):
    return thread_start(
        sender=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        subject=subject,
        patient=cast.patients["maria"],
        recipients=[Recipient(organization=cast.organizations["maple"], user=cast.users["park"])],
        body="Please draw a CBC on Thursday and Monday.",
    )


def _cleanup(subject):
    for thread in Thread.objects.filter(subject=subject):
        Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
        thread.delete()


def test_refused_participant_attachment_and_reply_show_the_reason_in_place(committed, portal_server, page):
    cast = committed
    subject = f"Labs after cycle 3 ({uuid.uuid4().hex[:6]})"
    thread = _thread(cast, subject)
    chen = f"u:{cast.organizations['cedarvalley'].pk}:{cast.users['chen'].pk}"
    try:
        browser_sign_in(page, portal_server, "northfield", "olivia.okafor@northfield.example")
        page.goto(org_url(portal_server, "northfield", f"/messages/{thread.uuid}/"))
        picker = page.get_by_label("Add a participant")
        offered = picker.locator("option").evaluate_all("options => options.map(o => o.value)")
        assert chen not in offered and "Nina Navarro" in picker.inner_text()

        # A participant refused by the server (a stale picker: the page is older than the
        # refusal) shows the reason under the picker, not nothing.
        picker.evaluate(f"select => select.add(new Option('Carla Chen', '{chen}', true, true))")
        page.get_by_role("button", name="Add").click()
        refusal = page.locator("#participants .field-error")
        refusal.wait_for()
        assert "Carla Chen, MD at Cedar Valley Clinic cannot be added" in refusal.inner_text()
        assert not Participant.objects.filter(thread=thread, user=cast.users["chen"]).exists()
        page.screenshot(path="test-artifacts/screenshots/refused_participant.png", full_page=True)

        # An executable renamed .pdf is refused by its content, with the reason, in place.
        page.get_by_label("Your reply").fill("The discharge summary is attached.")
        page.get_by_label(re.compile("Attach files")).set_input_files(
            {"name": "discharge-summary.pdf", "mimeType": "application/pdf", "buffer": EXE}
        )
        page.get_by_role("button", name="Send reply").click()
        alert = page.locator("#conversation .alert-error")
        alert.wait_for()
        assert "discharge-summary.pdf is not a" in alert.inner_text() and "checked by its content" in alert.inner_text()
        assert page.get_by_label("Your reply").input_value() == "The discharge summary is attached."  # kept
        page.screenshot(path="test-artifacts/screenshots/refused_attachment.png", full_page=True)

        # A reply of blanks only passes the browser's own check and is refused by the server.
        page.get_by_label("Your reply").fill("   ")
        page.get_by_role("button", name="Send reply").click()
        page.locator("#conversation .field-error", has_text="This field is required.").wait_for()
        assert Message.objects.filter(thread=thread).count() == 1
        page.screenshot(path="test-artifacts/screenshots/refused_reply.png", full_page=True)
    finally:
        _cleanup(subject)


def test_an_over_long_quick_reply_from_the_inbox_is_refused_in_place(committed, portal_server, page):
    cast = committed
    subject = f"Quick reply ({uuid.uuid4().hex[:6]})"
    thread = _thread(cast, subject)
    try:
        browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
        page.goto(org_url(portal_server, "maple", "/messages/"))
        row = page.locator(f"#thread-{thread.uuid}")
        row.get_by_text("Reply", exact=True).click()
        box = row.get_by_label(re.compile("Reply to"))
        box.evaluate("area => { area.removeAttribute('maxlength'); area.value = 'x'.repeat(10001); }")
        row.get_by_role("button", name="Send reply").click()
        alert = row.locator(".alert-error")
        alert.wait_for()
        assert "The reply was not sent:" in alert.inner_text() and "at most 10000 characters" in alert.inner_text()
        # What was typed is kept, up to the length a reply may have.
        assert row.get_by_label(re.compile("Reply to")).input_value() == "x" * 10_000
        assert Message.objects.filter(thread=thread).count() == 1
        page.screenshot(path="test-artifacts/screenshots/refused_quick_reply.png", full_page=True)
    finally:
        _cleanup(subject)


def test_a_lost_connection_and_a_refused_form_token_say_so_next_to_the_form(committed, portal_server, page):
    cast = committed
    subject = f"Connection ({uuid.uuid4().hex[:6]})"
    thread = _thread(cast, subject)
    try:
        browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
        page.goto(org_url(portal_server, "maple", f"/messages/{thread.uuid}/"))
        page.route("**/reply/", lambda route: route.abort("internetdisconnected"))
        page.get_by_label("Your reply").fill("Booked for Thursday 9:00.")
        page.get_by_role("button", name="Send reply").click()
        region = page.locator("#conversation [data-error-region]")
        region.get_by_text("Could not reach Continuum — check your connection; nothing was sent.").wait_for()
        assert page.get_by_label("Your reply").input_value() == "Booked for Thursday 9:00."
        page.screenshot(path="test-artifacts/screenshots/network_error.png", full_page=True)
        page.unroute("**/reply/")

        # A real refusal that is not a form's partial (the server's 403 page): its reason is
        # shown near the form, nothing is swapped in, nothing is sent.
        page.evaluate(
            "() => { document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRFToken': 'stale'}));"
            " document.querySelectorAll('input[name=csrfmiddlewaretoken]').forEach(i => i.value = 'stale'); }"
        )
        page.get_by_role("button", name="Send reply").click()
        region.get_by_text(re.compile("The server refused this: This form has expired")).wait_for()
        assert page.get_by_role("heading", name=subject).is_visible()  # still the thread page
        assert Message.objects.filter(thread=thread).count() == 1
        page.screenshot(path="test-artifacts/screenshots/refused_form_token.png", full_page=True)
    finally:
        _cleanup(subject)
