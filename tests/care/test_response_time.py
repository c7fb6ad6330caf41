"""Message response time on the scorecard."""

import datetime as dt

from django.utils import timezone

from portal.care.scorecard import scorecard
from portal.messaging.models import Message, Thread


def _thread(cast, *, answered_after_hours, replier="park"):
    maria = cast.patients["maria"]
    start = timezone.now() - dt.timedelta(hours=30)
    thread = Thread.objects.create(
        subject="Labs",
        patient=maria,
        created_by=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        last_message_at=start,
    )
    first = Message.objects.create(
        thread=thread, sender=cast.users["okafor"], sender_organization=cast.organizations["northfield"], body="?"
    )
    Message.objects.filter(pk=first.pk).update(created_at=start)
    if answered_after_hours is not None:
        reply = Message.objects.create(
            thread=thread, sender=cast.users[replier], sender_organization=cast.organizations["maple"], body="!"
        )
        Message.objects.filter(pk=reply.pk).update(created_at=start + dt.timedelta(hours=answered_after_hours))
    return thread


def test_response_time_is_the_median_time_to_the_first_answer_by_someone_else(cast):
    for hours in (2, 4, 9):
        _thread(cast, answered_after_hours=hours)
    _thread(cast, answered_after_hours=None)
    today = timezone.localdate()
    network = scorecard(organization=None, start=today - dt.timedelta(days=3), end=today)
    assert network["message_replies"] == 3 and network["median_message_response_hours"] == 4.0
    maple = scorecard(organization=cast.organizations["maple"], start=today - dt.timedelta(days=3), end=today)
    assert maple["median_message_response_hours"] == 4.0
    northfield = scorecard(organization=cast.organizations["northfield"], start=today - dt.timedelta(days=3), end=today)
    assert northfield["message_replies"] == 0 and northfield["median_message_response_hours"] is None


def test_scorecard_page_shows_the_response_time(cast, sign_in):
    _thread(cast, answered_after_hours=3)
    page = (
        sign_in(cast.users["navarro"], cast.organizations["northfield"])
        .get("/care/scorecard/?scope=network")
        .content.decode()
    )
    assert "message response time" in page and "median of 1 replies" in page
