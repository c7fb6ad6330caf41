"""Referrals: create one, move it through its states (``portal.care.transitions``), attach its outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.care.models import (
    CHECKLIST_ITEMS,
    Priority,
    Referral,
    ReferralEvent,
    ReferralNote,
    ReferralState,
)
from portal.care.services.common import TransitionRefused, _clinical_member
from portal.care.transitions import RECEIVER, REFERRER, TRANSITIONS, notification_title
from portal.notifications.services import notification_send, notifications_mark_read_for
from portal.patients.models import CareRelationship, EntryStatus, NetworkPatient, RegistryEntry, RelationshipKind
from portal.patients.selectors import user_can_view_patient, visible_entries
from portal.patients.services import care_relationship_end, care_relationship_start
from portal.text import text_clean
from tenants.models import Organization

# How long a receiving organization may read the record of a referred patient.
REFERRAL_ACCESS_DAYS = 180

# The outcome of a referral: the receiver's consult report.
CONSULT_KINDS = frozenset({"consult_note"})


def referral_side(*, referral: Referral, organization: Organization) -> str | None:
    if organization is None:
        return None
    if organization.pk == referral.referring_organization_id:
        return REFERRER
    if organization.pk == referral.receiving_organization_id:
        return RECEIVER
    return None


@transaction.atomic
def referral_create(
    *,
    user: User,
    organization: Organization,
    patient: NetworkPatient,
    receiving_organization: Organization,
    specialty: str,
    reason: str = "",
    priority: str = Priority.ROUTINE,
    checklist: Iterable[str] = (),
    attachments: Iterable[RegistryEntry] = (),
) -> Referral:
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("You cannot refer this patient from this organization.")
    errors: dict[str, list[str]] = {}
    if receiving_organization is None or receiving_organization.pk == organization.pk:
        errors["receiving_organization"] = ["Choose another organization of the network."]
    elif receiving_organization.is_network or not receiving_organization.is_active:
        errors["receiving_organization"] = ["This organization does not take referrals."]
    if not text_clean(specialty):
        errors["specialty"] = ["Say what the patient is referred for."]
    if priority not in Priority.values:
        errors["priority"] = ["Choose routine or urgent."]
    known = {key for key, _ in CHECKLIST_ITEMS}
    wanted = list(checklist)
    if any(item not in known for item in wanted):
        errors["checklist"] = [f"Checklist items are {', '.join(sorted(known))}."]
    attached = list(attachments)
    visible = set(
        visible_entries(user=user, organization=organization, patient=patient)
        .filter(pk__in=[entry.pk for entry in attached])
        .values_list("pk", flat=True)
    )
    if any(
        entry.patient_id != patient.pk or entry.status == EntryStatus.WITHDRAWN or entry.pk not in visible
        for entry in attached
    ):
        errors["attachments"] = ["Attach only current entries of this patient's record."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    referral = Referral.objects.create(
        patient=patient,
        referring_organization=organization,
        receiving_organization=receiving_organization,
        referred_by=user,
        specialty=text_clean(specialty),
        reason=text_clean(reason),
        priority=priority,
        checklist={key: key in wanted for key, _ in CHECKLIST_ITEMS},
        created_at=now,
        updated_at=now,
    )
    if attached:
        referral.attachments.set(attached)
    ReferralEvent.objects.create(
        referral=referral,
        action="request",
        from_state="",
        to_state=ReferralState.REQUESTED,
        actor=user,
        organization=organization,
        at=now,
    )
    _notify_side(
        referral=referral,
        organization=receiving_organization,
        title=notification_title(action="request", specialty=referral.specialty),
        urgent=priority == Priority.URGENT,
    )
    return referral


def _notify_side(*, referral: Referral, organization: Organization, title: str, urgent: bool = False) -> None:
    from portal.accounts.roles import NAVIGATOR_ROLES

    members = Membership.objects.active().clinical().select_related("user").filter(organization=organization)
    navigators = [m.user for m in members if m.role in NAVIGATOR_ROLES]
    recipients = navigators or [m.user for m in members]
    if organization.pk == referral.referring_organization_id:
        recipients = [referral.referred_by, *navigators]
    notification_send(
        recipients=recipients,
        kind="referral",
        title=title,
        link=f"/care/referrals/{referral.uuid}/",
        organization=organization,
        urgent=urgent,
        subject=referral,
        subject_label=referral.specialty,
    )


@transaction.atomic
def referral_transition(
    *,
    referral: Referral,
    action: str,
    user: User,
    organization: Organization,
    reason: str = "",
    note: str = "",
    appointment_at: dt.datetime | None = None,
    outcome_entry: RegistryEntry | None = None,
) -> Referral:
    """Move a referral by one allowed step. Refused (``TransitionRefused``) for the wrong side,
    out of order, or twice; bad input gives ``ValidationError``. Nothing changes on refusal."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValidationError({"action": [f"Unknown action. Use one of: {', '.join(TRANSITIONS)}."]})
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    side = referral_side(referral=referral, organization=organization)
    if side is None or not _clinical_member(user=user, organization=organization):
        raise TransitionRefused("You are not part of this referral.")
    if side != transition.side:
        who = "the receiving organization" if transition.side == RECEIVER else "the referring organization"
        raise TransitionRefused(f"Only {who} may {transition.label.lower()}.")
    if referral.state not in transition.sources:
        raise TransitionRefused(
            f"A referral that is {referral.get_state_display().lower()} cannot be moved by '{transition.label}'."
        )
    now = timezone.now()
    from_state = referral.state
    fields = ["state", "updated_at"]
    if action == "receive":
        referral.received_at = now
        fields.append("received_at")
    elif action == "accept":
        referral.accepted_at = now
        relationship = care_relationship_start(
            patient=referral.patient,
            organization=referral.receiving_organization,
            kind=RelationshipKind.REFERRAL,
            granted_by=user,
            starts_at=now,
            ends_at=now + dt.timedelta(days=REFERRAL_ACCESS_DAYS),
            note=f"Referral {referral.uuid}",
            # A referral opens what its referrer may pass on: the shared record when the
            # referrer sees it, else nothing beyond the receiver's own entries (what the
            # referral carries opens from the referral itself).
            shares_record=CareRelationship.objects.active()
            .filter(patient=referral.patient, organization=referral.referring_organization, shares_record=True)
            .exists(),
        )
        referral.relationship = relationship
        fields += ["accepted_at", "relationship"]
    elif action == "decline":
        if not text_clean(reason):
            raise ValidationError({"reason": ["Give a reason for declining."]})
        referral.decline_reason = text_clean(reason)
        referral.declined_at = now
        fields += ["decline_reason", "declined_at"]
    elif action == "schedule":
        if appointment_at is None:
            raise ValidationError({"appointment_at": ["Give the date and time of the appointment."]})
        referral.appointment_at = appointment_at
        referral.scheduled_at = now
        fields += ["appointment_at", "scheduled_at"]
    elif action == "note":
        if not text_clean(note):
            raise ValidationError({"note": ["Write the note."]})
        ReferralNote.objects.create(referral=referral, author=user, organization=organization, text=text_clean(note))
    elif action == "complete":
        _check_outcome(referral=referral, outcome_entry=outcome_entry, now=now, reason=reason)
        assert outcome_entry is not None
        if referral.appointment_at is not None and now < referral.appointment_at:
            when = timezone.localtime(referral.appointment_at)
            reason = f"Closed before the appointment of {when:%-d %b %Y %H:%M}: {text_clean(reason)}"
        referral.outcome_entry = outcome_entry
        referral.closed_at = now
        fields += ["outcome_entry", "closed_at"]
    elif action == "request_cancel":
        if not text_clean(reason):
            raise ValidationError({"reason": ["Give a reason for cancelling."]})
        referral.cancel_reason = text_clean(reason)
        referral.state_before_cancel = referral.state
        fields += ["cancel_reason", "state_before_cancel"]
    elif action == "confirm_cancel":
        referral.cancelled_at = now
        fields.append("cancelled_at")
        if referral.relationship is not None:
            # A cancelled referral no longer gives the receiver access to the record.
            care_relationship_end(relationship=referral.relationship, ended_by=user)

    if transition.target is not None:
        referral.state = transition.target
    elif action == "refuse_cancel":
        referral.state = referral.state_before_cancel or ReferralState.REQUESTED
    referral.updated_at = now
    try:
        with transaction.atomic():
            referral.save(update_fields=fields)
    except IntegrityError as error:  # the same report returned for another referral at the same moment
        raise ValidationError({"outcome_entry": ["This consult report is the outcome of another referral."]}) from error
    ReferralEvent.objects.create(
        referral=referral,
        action=action,
        from_state=from_state,
        to_state=referral.state,
        actor=user,
        organization=organization,
        note=text_clean(reason or note),
        at=now,
    )
    other = referral.referring_organization if side == RECEIVER else referral.receiving_organization
    _notify_side(
        referral=referral, organization=other, title=notification_title(action=action, specialty=referral.specialty)
    )
    # Acting on the referral answers what this side was told about it.
    notifications_mark_read_for(user=user, subject=referral, organization=organization)
    return referral


def _check_outcome(*, referral: Referral, outcome_entry: RegistryEntry | None, now: dt.datetime, reason: str) -> None:
    """A referral closes only with its own outcome: a consult report about the referred
    patient, published by the receiving organization after it accepted the referral, not
    the outcome of another referral; and not before a scheduled appointment unless the
    receiver says why."""
    if outcome_entry is None:
        raise ValidationError({"outcome_entry": ["Link the consult report published on the shared record."]})
    if (
        outcome_entry.patient_id != referral.patient_id
        or outcome_entry.organization_id != referral.receiving_organization_id
        or outcome_entry.kind not in CONSULT_KINDS
        or outcome_entry.status == EntryStatus.WITHDRAWN
    ):
        raise ValidationError(
            {"outcome_entry": ["The outcome must be a consult report of this patient published by your organization."]}
        )
    if referral.accepted_at is None or outcome_entry.published_at < referral.accepted_at:
        raise ValidationError(
            {
                "outcome_entry": [
                    "This consult report was published before the referral was accepted: "
                    "return the report written for this referral."
                ]
            }
        )
    if Referral.objects.filter(outcome_entry=outcome_entry).exclude(pk=referral.pk).exists():
        raise ValidationError({"outcome_entry": ["This consult report is the outcome of another referral."]})
    if referral.appointment_at is not None and now < referral.appointment_at and not text_clean(reason):
        when = timezone.localtime(referral.appointment_at)
        raise ValidationError(
            {
                "reason": [
                    f"The appointment is on {when:%-d %b %Y at %H:%M}: "
                    "say why the referral closes before it (the reason is kept in its history)."
                ]
            }
        )


@transaction.atomic
def referral_attach(*, referral: Referral, user: User, organization: Organization, entry: RegistryEntry) -> Referral:
    if referral_side(referral=referral, organization=organization) != REFERRER or not _clinical_member(
        user=user, organization=organization
    ):
        raise TransitionRefused("Only the referring organization may attach entries.")
    if not referral.is_open:
        raise TransitionRefused("This referral is closed.")
    if entry.patient_id != referral.patient_id or entry.status == EntryStatus.WITHDRAWN:
        raise ValidationError({"entry": ["Attach only current entries of this patient's record."]})
    referral.attachments.add(entry)
    return referral
