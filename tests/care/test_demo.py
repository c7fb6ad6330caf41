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


def test_demo_referrals_read_naturally_and_an_older_demo_is_renamed_not_duplicated(cast):
    from portal.care.services import referral_create
    from portal.patients.models import CareRelationship, NetworkPatient

    maple, northfield = cast.organizations["maple"], cast.organizations["northfield"]
    first_other = (
        NetworkPatient.objects.filter(
            pk__in=CareRelationship.objects.filter(organization=maple)
            .exclude(patient=cast.patients["maria"])
            .values("patient_id")
        )
        .order_by("pk")
        .first()
    )
    # A demo network seeded before: the state was written into what the referral is for.
    referral_create(
        user=cast.users["park"],
        organization=maple,
        patient=first_other,
        receiving_organization=northfield,
        specialty="Oncology consult (received)",
    )
    demo.seed(cast)
    specialties = list(Referral.objects.values_list("specialty", flat=True))
    assert not [s for s in specialties if "(" in s], specialties
    assert Referral.objects.filter(patient=first_other, referring_organization=maple).count() == 1
    assert Referral.objects.get(patient=first_other).specialty == "Hematology consult"
