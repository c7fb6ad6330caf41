"""Every allowed and every refused referral transition (wrong side, out of order, twice)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.care.models import Referral, ReferralEvent, ReferralNote, ReferralState
from portal.care.services import TransitionRefused, referral_transition
from portal.care.transitions import RECEIVER, TRANSITIONS
from portal.notifications.models import Notification
from portal.patients.models import CareRelationship, RelationshipKind
from tests.care.helpers import advance, entry, maple_to_northfield, step_arguments

STATES = [s for s in ReferralState.values]
ALLOWED = [(state, action) for action, t in TRANSITIONS.items() for state in sorted(t.sources)]
REFUSED_ORDER = [(state, action) for action, t in TRANSITIONS.items() for state in STATES if state not in t.sources]


def _actor(cast, side):
    if side == RECEIVER:
        return cast.users["navarro"], cast.organizations["northfield"]
    return cast.users["park"], cast.organizations["maple"]


def _snapshot(referral):
    referral = Referral.objects.get(pk=referral.pk)
    return (referral.state, referral.events.count(), referral.notes.count(), referral.updated_at)


@pytest.mark.parametrize(("state", "action"), ALLOWED)
def test_allowed_transition_by_the_right_side_moves_and_records_who(cast, state, action):
    referral = advance(cast, maple_to_northfield(cast), state)
    transition = TRANSITIONS[action]
    user, organization = _actor(cast, transition.side)
    before_events = referral.events.count()
    result = referral_transition(
        referral=referral,
        action=action,
        user=user,
        organization=organization,
        **step_arguments(cast, referral, action),
    )
    result.refresh_from_db()
    if transition.target is not None:
        assert result.state == transition.target
    elif action == "note":
        assert result.state == state
        assert ReferralNote.objects.filter(referral=result, author=user).count() == 1
    else:  # refuse_cancel goes back to where it was
        assert result.state == result.state_before_cancel
    event = result.events.order_by("-pk").first()
    assert result.events.count() == before_events + 1
    assert (event.action, event.from_state, event.actor, event.organization) == (action, state, user, organization)
    assert event.at is not None


@pytest.mark.parametrize(("state", "action"), ALLOWED)
def test_transition_by_the_wrong_side_is_refused_and_changes_nothing(cast, state, action):
    referral = advance(cast, maple_to_northfield(cast), state)
    transition = TRANSITIONS[action]
    wrong = "referrer" if transition.side == RECEIVER else RECEIVER
    user, organization = _actor(cast, wrong)
    before = _snapshot(referral)
    with pytest.raises(TransitionRefused):
        referral_transition(
            referral=referral,
            action=action,
            user=user,
            organization=organization,
            **step_arguments(cast, referral, action),
        )
    assert _snapshot(referral) == before


@pytest.mark.parametrize(("state", "action"), REFUSED_ORDER)
def test_transition_out_of_order_is_refused_and_changes_nothing(cast, state, action):
    referral = advance(cast, maple_to_northfield(cast), state)
    user, organization = _actor(cast, TRANSITIONS[action].side)
    before = _snapshot(referral)
    with pytest.raises(TransitionRefused):
        referral_transition(
            referral=referral,
            action=action,
            user=user,
            organization=organization,
            **step_arguments(cast, referral, action),
        )
    assert _snapshot(referral) == before


@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a not in ("note",)])
def test_the_same_transition_twice_is_refused(cast, action):
    transition = TRANSITIONS[action]
    state = sorted(transition.sources)[0]
    referral = advance(cast, maple_to_northfield(cast), state)
    user, organization = _actor(cast, transition.side)
    referral_transition(
        referral=referral,
        action=action,
        user=user,
        organization=organization,
        **step_arguments(cast, referral, action),
    )
    before = _snapshot(referral)
    with pytest.raises(TransitionRefused):
        referral_transition(
            referral=referral,
            action=action,
            user=user,
            organization=organization,
            **step_arguments(cast, referral, action),
        )
    assert _snapshot(referral) == before


def test_interim_notes_can_be_added_any_number_of_times(cast):
    referral = advance(cast, maple_to_northfield(cast), "accepted")
    for text in ("Biopsy booked", "PET scheduled", "Biopsy done"):
        referral_transition(
            referral=referral,
            action="note",
            note=text,
            user=cast.users["okafor"],
            organization=cast.organizations["northfield"],
        )
    assert list(referral.notes.values_list("text", flat=True)) == ["Biopsy booked", "PET scheduled", "Biopsy done"]
    referral.refresh_from_db()
    assert referral.state == ReferralState.ACCEPTED


def test_a_member_of_an_uninvolved_organization_cannot_move_a_referral(cast):
    referral = maple_to_northfield(cast)
    with pytest.raises(TransitionRefused):
        referral_transition(
            referral=referral, action="receive", user=cast.users["chen"], organization=cast.organizations["cedarvalley"]
        )
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.REQUESTED


def test_a_member_without_a_clinical_role_cannot_move_a_referral(cast):
    referral = maple_to_northfield(cast)
    with pytest.raises(TransitionRefused):
        referral_transition(
            referral=referral,
            action="receive",
            user=cast.users["northfield_admin"],
            organization=cast.organizations["northfield"],
        )
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.REQUESTED


def test_declining_needs_a_reason(cast):
    referral = advance(cast, maple_to_northfield(cast), "received")
    with pytest.raises(ValidationError) as error:
        referral_transition(
            referral=referral,
            action="decline",
            reason="  ",
            user=cast.users["navarro"],
            organization=cast.organizations["northfield"],
        )
    assert "reason" in error.value.message_dict
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.RECEIVED


def test_accepting_opens_a_time_limited_referral_relationship_for_the_receiver(cast):
    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    referral = advance(cast, maple_to_northfield(cast), "accepted")
    relationship = CareRelationship.objects.get(pk=referral.relationship_id)
    assert (relationship.organization, relationship.patient, relationship.kind) == (
        northfield,
        maria,
        RelationshipKind.REFERRAL,
    )
    assert relationship.ends_at is not None and relationship.ends_at > relationship.starts_at
    assert relationship.is_active_at()


def test_the_outcome_must_be_a_consult_report_of_the_receiver(cast):
    referral = advance(cast, maple_to_northfield(cast), "scheduled")
    lab = entry(referral.patient, cast.organizations["northfield"], "lab_result")
    other_org_note = entry(referral.patient, cast.organizations["maple"], "consult_note")
    for wrong in (lab, other_org_note, None):
        with pytest.raises(ValidationError):
            referral_transition(
                referral=referral,
                action="complete",
                outcome_entry=wrong,
                user=cast.users["okafor"],
                organization=cast.organizations["northfield"],
            )
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.SCHEDULED


def test_completing_closes_the_referral_and_tells_the_referrer(cast):
    referral = advance(cast, maple_to_northfield(cast), "completed")
    assert referral.closed_at is not None and referral.outcome_entry is not None
    assert not referral.is_open
    assert Notification.objects.filter(recipient=cast.users["park"], link=f"/care/referrals/{referral.uuid}/").exists()
    assert [e.action for e in ReferralEvent.objects.filter(referral=referral)] == [
        "request",
        "receive",
        "accept",
        "schedule",
        "complete",
    ]


def test_a_new_referral_notifies_the_receivers_navigator_without_clinical_details(cast):
    referral = maple_to_northfield(cast)
    note = Notification.objects.get(recipient=cast.users["navarro"], link=f"/care/referrals/{referral.uuid}/")
    assert "Alvarez" not in note.title and "lymph" not in note.title.lower()
    assert referral.checklist == {"pathology": True, "imaging": True, "insurance": False}


def test_cedar_valley_cannot_refer_a_patient_it_does_not_see(cast):
    from django.core.exceptions import PermissionDenied

    from portal.care.services import referral_create

    with pytest.raises(PermissionDenied):
        referral_create(
            user=cast.users["chen"],
            organization=cast.organizations["cedarvalley"],
            patient=cast.patients["maria"],
            receiving_organization=cast.organizations["northfield"],
            specialty="Oncology",
        )
    assert not Referral.objects.filter(patient=cast.patients["maria"]).exists()


def test_a_confirmed_cancellation_ends_the_receivers_referral_access(cast):
    referral = advance(cast, maple_to_northfield(cast), "accepted")
    relationship = CareRelationship.objects.get(pk=referral.relationship_id)
    assert relationship.is_active_at()
    referral_transition(
        referral=referral,
        action="request_cancel",
        reason="Patient prefers Lakeside",
        user=cast.users["park"],
        organization=cast.organizations["maple"],
    )
    relationship.refresh_from_db()
    assert relationship.is_active_at()  # not until the receiver confirms
    referral_transition(
        referral=referral,
        action="confirm_cancel",
        user=cast.users["navarro"],
        organization=cast.organizations["northfield"],
    )
    relationship.refresh_from_db()
    assert not relationship.is_active_at() and relationship.ended_by == cast.users["navarro"]


def test_referral_notifications_say_what_happened_to_which_referral_and_emails_say_neither(cast):
    from django.core import mail

    from portal.notifications.models import Delivery
    from portal.notifications.services import delivery_attempt

    referral = maple_to_northfield(cast)
    nina_titles = set(
        Notification.objects.filter(recipient=cast.users["navarro"], link__contains=str(referral.uuid)).values_list(
            "title", flat=True
        )
    )
    assert nina_titles == {"New referral: Hematology/oncology consult"}
    advance(cast, referral, "scheduled")
    park_titles = list(
        Notification.objects.filter(recipient=cast.users["park"], link__contains=str(referral.uuid))
        .order_by("pk")
        .values_list("title", flat=True)
    )
    assert park_titles == [
        "Referral received: Hematology/oncology consult",
        "Referral accepted: Hematology/oncology consult",
        "Consult scheduled: Hematology/oncology consult",
    ]
    declined = advance(cast, maple_to_northfield(cast), "declined")
    assert Notification.objects.filter(
        recipient=cast.users["park"],
        link__contains=str(declined.uuid),
        title="Referral declined: Hematology/oncology consult",
    ).exists()
    assert not Notification.objects.filter(title__icontains="Referral update").exists()
    # The emails owed for them carry neither the patient nor the specialty.
    deliveries = Delivery.objects.filter(notification__link__contains=str(referral.uuid), digest=False)
    assert deliveries.exists()
    for delivery in deliveries:
        delivery_attempt(delivery_id=delivery.pk)
    assert mail.outbox
    for message in mail.outbox:
        for text in (message.subject, message.body):
            assert "Alvarez" not in text and "Maria" not in text and "Hematology" not in text
