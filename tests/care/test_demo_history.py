"""The demo network's twelve months of history (``seed_demo`` only, not the test session)."""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone

from portal.care.models import CareTask, Escalation, Handoff, Referral, ReferralNote, TaskOccurrence
from portal.care.scorecard import scorecard
from portal.demo import history
from portal.messaging.models import Message, Thread
from portal.notifications.models import Delivery, Notification
from portal.patients.models import RegistryEntry


def _counts():
    return tuple(
        m.objects.count()
        for m in (
            Referral,
            ReferralNote,
            CareTask,
            TaskOccurrence,
            Handoff,
            Thread,
            Message,
            RegistryEntry,
            Escalation,
            Notification,
        )
    )


def _last_twelve_full_months(today: dt.date) -> tuple[dt.date, dt.date]:
    end = today.replace(day=1) - dt.timedelta(days=1)
    start = end.replace(day=1)
    for _ in range(11):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return start, end


def test_the_history_gives_the_scorecard_twelve_months_in_use_and_seeds_once(cast, sign_in):
    before = (Notification.objects.count(), Delivery.objects.count())
    started = time.monotonic()
    history.seed(cast)
    took = time.monotonic() - started
    assert took < 15, took  # a few seconds on a developer machine; this one is shared and slow
    start, end = _last_twelve_full_months(timezone.localdate())
    card = scorecard(organization=None, start=start, end=end)
    trends = {t.key: t for t in card["trends"]}
    assert len(trends["referrals"].columns) == 12
    assert all(c.value for c in trends["referrals"].columns), [c.value for c in trends["referrals"].columns]
    assert sum(1 for c in trends["days_to_consult"].columns if c.value is not None) >= 10
    assert sum(1 for c in trends["message_response_hours"].columns if c.value is not None) == 12
    states = set(Referral.objects.values_list("state", flat=True))
    assert {
        "requested",
        "received",
        "accepted",
        "declined",
        "scheduled",
        "completed",
        "cancel_requested",
        "cancelled",
    } <= states
    assert not Referral.objects.filter(state="declined", decline_reason="").exists()
    assert ReferralNote.objects.exists()
    for referral in Referral.objects.filter(state="completed").select_related("outcome_entry"):
        outcome = referral.outcome_entry
        assert outcome is not None and outcome.kind == "consult_note"
        assert outcome.organization_id == referral.receiving_organization_id
        assert outcome.patient_id == referral.patient_id
        assert referral.accepted_at < outcome.published_at <= referral.closed_at
    assert TaskOccurrence.objects.filter(done_at__isnull=False, result_entry__isnull=False).exists()
    assert TaskOccurrence.objects.filter(done_at__isnull=True, due_at__lt=timezone.now()).exists()
    assert Handoff.objects.filter(acknowledged_at__isnull=False).exists()
    assert Handoff.objects.filter(acknowledged_at__isnull=True).exists()
    assert (Notification.objects.count(), Delivery.objects.count()) == before  # the past is not announced
    # The scorecard page shows it.
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    page = admin.get(f"/care/scorecard/?scope=network&start={start}&end={end}").content.decode()
    assert page.count('data-testid="trend-') == 5 and "Target 14 d" in page
    # Seeding again changes nothing.
    first = _counts()
    history.seed(cast)
    assert _counts() == first
