"""The care demo: the stories the demo network shows, seeded once."""

from portal.care import demo
from portal.care.models import CareTask, Handoff, Referral, ReferralEvent, ReferralState, TaskOccurrence
from portal.notifications.models import Notification


def _counts():
    return (
        Referral.objects.count(),
        ReferralEvent.objects.count(),
        CareTask.objects.count(),
        TaskOccurrence.objects.count(),
        Handoff.objects.count(),
        Notification.objects.count(),
    )


def test_demo_seed_is_idempotent_and_tells_the_stories(cast):
    demo.seed(cast)
    first = _counts()
    demo.seed(cast)
    assert _counts() == first
    maria = cast.patients["maria"]
    referral = Referral.objects.get(patient=maria, referring_organization=cast.organizations["maple"])
    assert referral.state == ReferralState.REQUESTED
    assert referral.receiving_organization == cast.organizations["northfield"]
    states = set(Referral.objects.values_list("state", flat=True))
    assert {"requested", "received", "accepted", "scheduled", "declined"} <= states
    task = CareTask.objects.get(patient=maria, owner_organization=cast.organizations["maple"])
    assert task.occurrences.count() == 6
    handoff = Handoff.objects.get(patient=maria)
    assert handoff.to_user == cast.users["park"] and handoff.acknowledged_at is None
