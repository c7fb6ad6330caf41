"""In a real browser: the task form shows the schedule or the due date as chosen (no
script), warns live of a test done elsewhere; the bell opens on one line per thread."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from portal.messaging.models import Thread
from portal.messaging.services import message_reply
from portal.notifications.models import Notification
from portal.patients.models import RegistryEntry
from tests.conftest import browser_sign_in, org_url
from tests.messaging.helpers import okafor_writes_park

pytestmark = pytest.mark.browser


def test_the_task_form_asks_for_a_schedule_and_warns_while_it_is_filled(committed, portal_server, page):
    cast = committed
    maria = cast.patients["maria"]
    elsewhere = RegistryEntry.objects.create(
        patient=maria,
        organization=cast.organizations["stbrendans"],
        kind="lab_result",
        code="58410-2",
        title="CBC panel",
        effective_at=timezone.now() - dt.timedelta(days=3),
        summary={},
        item_uuid=uuid.uuid4(),
    )
    try:
        browser_sign_in(page, portal_server, "northfield", "olivia.okafor@northfield.example")
        page.goto(org_url(portal_server, "northfield", f"/care/tasks/new/?patient={maria.uuid}"))
        repeats, once = page.get_by_test_id("schedule-repeats"), page.get_by_test_id("schedule-once")
        assert repeats.is_visible() and not once.is_visible()  # repeating: a schedule, no due date
        assert page.get_by_label("Times a week").is_visible() and not page.get_by_label("Due by").is_visible()
        page.get_by_label("Once, by a due date").check()
        assert once.is_visible() and not repeats.is_visible()
        page.get_by_label("Repeats on a schedule").check()
        assert repeats.is_visible() and not once.is_visible()
        page.get_by_label("Done by").select_option(label="Maple Family Medicine")
        page.get_by_label("Test or task").fill("CBC with differential")
        page.get_by_label("LOINC code").fill("58410-2")
        page.get_by_label("LOINC code").blur()
        warning = page.get_by_test_id("task-warnings")
        warning.wait_for()
        assert "St. Brendan" in warning.inner_text() and "done recently elsewhere" in warning.inner_text()
        page.screenshot(path="test-artifacts/screenshots/task_form_schedule_and_live_warning.png", full_page=True)
    finally:
        elsewhere.delete()


def test_the_bell_opens_on_one_line_per_thread_urgent_first(committed, portal_server, page):
    cast = committed
    subject = f"CBC results ({uuid.uuid4().hex[:6]})"
    urgent_subject = f"Fever ({uuid.uuid4().hex[:6]})"
    try:
        thread = okafor_writes_park(cast, subject=subject)
        for body in ("Second note", "Third note"):
            message_reply(
                thread=thread, sender=cast.users["okafor"], organization=cast.organizations["northfield"], body=body
            )
        okafor_writes_park(cast, subject=urgent_subject, urgent=True)
        browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
        page.get_by_test_id("bell-menu").locator("summary").click()
        panel = page.locator("#bell-panel")
        panel.get_by_text(f"3 new messages in \u2018{subject}\u2019").wait_for()
        lines = panel.locator("li").all_inner_texts()
        assert urgent_subject in lines[0] and "Urgent" in lines[0]
        page.screenshot(path="test-artifacts/screenshots/bell_grouped_urgent_first.png")
        panel.get_by_text(f"3 new messages in \u2018{subject}\u2019").click()
        page.wait_for_url("**/messages/*/")
        assert not Notification.objects.filter(
            recipient=cast.users["park"], subject_id=thread.uuid, read_at=None
        ).exists()
    finally:
        for old in Thread.objects.filter(subject__in=[subject, urgent_subject]):
            Notification.objects.filter(subject_id=old.uuid).delete()
            old.delete()
