"""Signals that mean something: acting on a thing marks what told about it read, one line
per thread or referral with a count, urgent lines first."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from portal.care.services import care_task_create, handoff_acknowledge, handoff_send, occurrence_link_result
from portal.messaging.services import message_reply
from portal.notifications.models import Notification
from tests.care.helpers import entry, maple_to_northfield, receiver_step
from tests.messaging.helpers import okafor_writes_park


def _unread(user, subject):
    return Notification.objects.filter(recipient=user, subject_id=subject.uuid, read_at__isnull=True).count()


def test_every_care_and_message_notification_names_its_subject(cast):
    thread = okafor_writes_park(cast)
    referral = maple_to_northfield(cast)
    handoff = handoff_send(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        to_organization=cast.organizations["maple"],
        to_user=cast.users["park"],
        kind="survivorship",
        treatment_summary="R-CHOP x6",
        items=[{"section": "symptoms", "text": "Fever", "responsible": "oncology"}],
    )
    assert Notification.objects.get(recipient=cast.users["park"], kind="message").subject_id == thread.uuid
    assert Notification.objects.get(recipient=cast.users["navarro"]).subject_type == "referral"
    assert Notification.objects.get(recipient=cast.users["navarro"]).subject_id == referral.uuid
    assert Notification.objects.get(recipient=cast.users["park"], kind="handoff").subject_id == handoff.uuid
    assert not Notification.objects.filter(
        kind__in=["message", "referral", "handoff"], subject_id__isnull=True
    ).exists()


def test_reading_the_thread_marks_its_notifications_read(cast, sign_in):
    thread = okafor_writes_park(cast)
    other = okafor_writes_park(cast, subject="Another question")
    assert _unread(cast.users["park"], thread) == 1
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert park.get(f"/messages/{thread.uuid}/").status_code == 200
    assert _unread(cast.users["park"], thread) == 0
    assert _unread(cast.users["park"], other) == 1  # only what was read


def test_accepting_the_referral_marks_the_receivers_notifications_read_not_the_referrers(cast):
    referral = maple_to_northfield(cast)
    navarro, park = cast.users["navarro"], cast.users["park"]
    assert _unread(navarro, referral) == 1
    receiver_step(cast, referral, "receive")
    assert _unread(navarro, referral) == 0
    assert _unread(park, referral) == 1  # Maple was told it was received; Maple has not acted
    receiver_step(cast, referral, "accept")
    assert _unread(park, referral) == 2
    assert _unread(navarro, referral) == 0


def test_a_move_by_the_receiver_marks_read_for_its_colleagues_too(cast):
    """A referral told to every navigator and clinician of the receiver is answered once."""
    referral = maple_to_northfield(cast)
    told = list(Notification.objects.filter(subject_id=referral.uuid).values_list("recipient_id", flat=True))
    assert told
    receiver_step(cast, referral, "receive")
    assert not Notification.objects.filter(
        subject_id=referral.uuid, organization=cast.organizations["northfield"], read_at__isnull=True
    ).exists()


def test_acknowledging_the_handoff_marks_it_read(cast):
    handoff = handoff_send(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        to_organization=cast.organizations["maple"],
        to_user=cast.users["park"],
        kind="survivorship",
        treatment_summary="R-CHOP x6",
        items=[{"section": "symptoms", "text": "Fever", "responsible": "oncology"}],
    )
    assert _unread(cast.users["park"], handoff) == 1
    handoff_acknowledge(handoff=handoff, user=cast.users["park"], organization=cast.organizations["maple"])
    assert _unread(cast.users["park"], handoff) == 0
    assert _unread(cast.users["okafor"], handoff) == 1  # told it was acknowledged


def test_closing_the_occurrence_marks_the_task_notifications_read(cast):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task = care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=maria,
        owner_organization=maple,
        owner_user=cast.users["park"],
        title="Hemoglobin",
        code="718-7",
        due_at=timezone.now() + dt.timedelta(hours=2),
    )
    assert _unread(cast.users["park"], task) == 1
    result = entry(maria, maple, code="718-7", title="Hemoglobin", days_ago=0)  # collected in its window
    occurrence = task.occurrences.get()
    occurrence_link_result(occurrence=occurrence, entry=result, user=cast.users["park"], organization=maple)
    assert _unread(cast.users["park"], task) == 0
    assert _unread(cast.users["okafor"], task) == 1  # the creator is told


def test_notifications_of_one_thread_collapse_into_one_line_with_a_count(cast, sign_in):
    thread = okafor_writes_park(cast, subject="CBC results")
    for body in ("Second note", "Third note"):
        message_reply(
            thread=thread, sender=cast.users["okafor"], organization=cast.organizations["northfield"], body=body
        )
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    listing = park.get("/notifications/").content.decode()
    assert "3 new messages in \u2018CBC results\u2019" in listing
    assert listing.count('class="notif-title"') == 1
    panel = park.get("/notifications/bell/panel/").content.decode()
    assert "3 new messages in \u2018CBC results\u2019" in panel
    # Marking the line read marks the three.
    latest = Notification.objects.filter(recipient=cast.users["park"]).order_by("-pk").first()
    park.post("/notifications/read/", {"notification": latest.pk})
    assert _unread(cast.users["park"], thread) == 0
    assert "3 messages in \u2018CBC results\u2019" in park.get("/notifications/").content.decode()


def test_urgent_lines_come_first_in_the_bell_and_the_list(cast, sign_in):
    okafor_writes_park(cast, subject="Urgent: fever", urgent=True)
    okafor_writes_park(cast, subject="Routine follow-up")  # newer, but not urgent
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    for url in ("/notifications/bell/panel/", "/notifications/"):
        page = park.get(url).content.decode()
        assert page.index("Urgent: fever") < page.index("Routine follow-up"), url
    assert 'data-testid="bell-menu"' in park.get("/").content.decode()


def test_the_bell_panel_needs_a_member_and_shows_only_ones_own(cast, sign_in, anonymous):
    okafor_writes_park(cast, subject="For Park only")
    maple = cast.organizations["maple"]
    assert anonymous(maple).get("/notifications/bell/panel/").status_code == 302
    assert (
        "For Park only"
        not in sign_in(cast.users["maple_admin"], maple).get("/notifications/bell/panel/").content.decode()
    )


def test_urgent_referrals_come_first_in_the_navigators_queue(cast, sign_in):
    routine = maple_to_northfield(cast)
    urgent = maple_to_northfield(cast, priority="urgent")
    page = sign_in(cast.users["navarro"], cast.organizations["northfield"]).get("/care/").content.decode()
    assert page.index(str(urgent.uuid)) < page.index(str(routine.uuid))


def test_the_api_names_what_each_notification_is_about(cast, sign_in):
    thread = okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    rows = park.get("/api/v1/notifications/").json()["results"]
    assert rows[0]["subject_type"] == "thread" and rows[0]["subject_id"] == str(thread.uuid)
