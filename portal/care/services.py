"""Writes of the care app: referrals and their transitions, care tasks, hand-offs, escalations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from dateutil.rrule import rrulestr
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.care import results
from portal.care.models import (
    CHECKLIST_ITEMS,
    HANDOFF_SECTIONS,
    OCCURRENCE_GRACE_DAYS,
    CareTask,
    Escalation,
    Handoff,
    OccurrenceResult,
    Priority,
    Referral,
    ReferralEvent,
    ReferralNote,
    ReferralState,
    Responsible,
    TaskOccurrence,
    TaskStatus,
)
from portal.care.panels import ANALYTES, analytes_asked
from portal.care.transitions import RECEIVER, REFERRER, TRANSITIONS, notification_title
from portal.notifications.services import notification_send, notifications_mark_read_for
from portal.patients.models import CareRelationship, EntryStatus, NetworkPatient, RegistryEntry, RelationshipKind
from portal.patients.selectors import has_regular_access, user_can_view_patient, visible_entries
from portal.patients.services import care_relationship_end, care_relationship_start
from portal.text import text_clean
from tenants.models import Organization

# How long a receiving organization may read the record of a referred patient.
REFERRAL_ACCESS_DAYS = 180
MAX_OCCURRENCES = 60
RESULT_KINDS = frozenset({"lab_result", "imaging_report", "pathology_report"})
# The outcome of a referral: the receiver's consult report.
CONSULT_KINDS = frozenset({"consult_note"})


class TransitionRefused(PermissionDenied):
    """The action is not allowed now, or not for this side."""


def _clinical_member(*, user: Any, organization: Any) -> bool:
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


def referral_side(*, referral: Referral, organization: Any) -> str | None:
    if organization is None:
        return None
    if organization.pk == referral.referring_organization_id:
        return REFERRER
    if organization.pk == referral.receiving_organization_id:
        return RECEIVER
    return None


# --- Referrals ------------------------------------------------------------------------


@transaction.atomic
def referral_create(
    *,
    user: Any,
    organization: Any,
    patient: NetworkPatient,
    receiving_organization: Any,
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


def _navigators_and_clinicians(organization: Any) -> list[Any]:
    return [
        m.user for m in Membership.objects.active().clinical().select_related("user").filter(organization=organization)
    ]


def _notify_side(*, referral: Referral, organization: Any, title: str, urgent: bool = False) -> None:
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
    user: Any,
    organization: Any,
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
def referral_attach(*, referral: Referral, user: Any, organization: Any, entry: RegistryEntry) -> Referral:
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


# --- Care tasks -----------------------------------------------------------------------


def recurrence_rule(*, times_per_week: int, weeks: int | None = None, until: dt.date | None = None) -> str:
    """An RRULE for 'N times a week for M weeks' (e.g. twice a week for three weeks), or
    'N times a week until a date' (that day included)."""
    days = {1: "MO", 2: "MO,TH", 3: "MO,WE,FR", 4: "MO,TU,TH,FR", 5: "MO,TU,WE,TH,FR"}
    if times_per_week not in days:
        raise ValidationError({"recurrence": ["Choose 1 to 5 times a week."]})
    if until is not None:
        end = dt.datetime.combine(until, dt.time(23, 59, 59), tzinfo=timezone.get_current_timezone())
        stamp = end.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"FREQ=WEEKLY;BYDAY={days[times_per_week]};UNTIL={stamp}"
    if weeks is None or not 1 <= weeks <= 26:
        raise ValidationError({"recurrence": ["Choose 1 to 5 times a week, for 1 to 26 weeks."]})
    return f"FREQ=WEEKLY;BYDAY={days[times_per_week]};COUNT={times_per_week * weeks}"


def occurrence_dates(*, recurrence: str, starts_at: dt.datetime) -> list[dt.datetime]:
    try:
        rule = rrulestr(recurrence, dtstart=starts_at)
    except (ValueError, TypeError) as error:
        raise ValidationError({"recurrence": [f"Not a valid recurrence rule: {error}"]}) from error
    dates = []
    for moment in rule:  # type: ignore[attr-defined]
        dates.append(moment)
        if len(dates) > MAX_OCCURRENCES:
            raise ValidationError({"recurrence": [f"At most {MAX_OCCURRENCES} occurrences."]})
    if not dates:
        raise ValidationError({"recurrence": ["This rule gives no occurrence."]})
    return dates


@transaction.atomic
def care_task_create(
    *,
    user: Any,
    organization: Any,
    patient: NetworkPatient,
    owner_organization: Any,
    title: str,
    instructions: str = "",
    owner_user: Any = None,
    result_kind: str = "lab_result",
    code: str = "",
    due_at: dt.datetime | None = None,
    recurrence: str = "",
    starts_at: dt.datetime | None = None,
    analytes: Iterable[str] | None = None,
) -> CareTask:
    """``analytes``: what a result must carry to answer the task (keys of
    ``portal.care.panels.ANALYTES``); by default read from the code, title and instructions
    (a CBC's white cells, hemoglobin and platelets, and the differential it names).
    ``starts_at``: where the first occurrence's window opens (now by default)."""
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("You cannot create a task for this patient here.")
    errors: dict[str, list[str]] = {}
    if not text_clean(title):
        errors["title"] = ["Say what is to be done."]
    if owner_organization is None or owner_organization.is_network or not owner_organization.is_active:
        errors["owner_organization"] = ["Choose an organization of the network."]
    elif not has_regular_access(organization=owner_organization, patient=patient):
        # A task shows the patient to its owner: only an organization already caring for
        # the patient may own one (a referral is the way to bring in another).
        errors["owner_organization"] = [
            f"{owner_organization.name} does not care for this patient. "
            "Choose an organization that does, or refer the patient to them first."
        ]
    elif (
        owner_user is not None
        and not Membership.objects.active().filter(user=owner_user, organization=owner_organization).exists()
    ):
        errors["owner_user"] = ["This person does not work at the owner organization."]
    if result_kind not in RESULT_KINDS:
        errors["result_kind"] = [f"Results are one of: {', '.join(sorted(RESULT_KINDS))}."]
    if bool(due_at) == bool(recurrence):
        errors["due_at"] = ["Give either a due date or a recurrence."]
    wanted = (
        list(dict.fromkeys(analytes))
        if analytes is not None
        else analytes_asked(code=code, title=title, instructions=instructions)
    )
    unknown = [key for key in wanted if key not in ANALYTES]
    if unknown:
        errors["analytes"] = [f"Unknown analytes: {', '.join(unknown)}. Known: {', '.join(ANALYTES)}."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    starts_at = starts_at or now
    if recurrence:
        dates = occurrence_dates(recurrence=recurrence, starts_at=starts_at)
    else:
        assert due_at is not None
        dates = [due_at]
    task = CareTask.objects.create(
        patient=patient,
        created_by=user,
        creating_organization=organization,
        owner_organization=owner_organization,
        owner_user=owner_user,
        title=text_clean(title),
        instructions=text_clean(instructions),
        result_kind=result_kind,
        code=text_clean(code),
        recurrence=recurrence,
        analytes=wanted,
        starts_at=min(starts_at, *dates),
    )
    TaskOccurrence.objects.bulk_create([TaskOccurrence(task=task, due_at=moment) for moment in dates])
    if owner_organization.pk != organization.pk:
        recipients = [owner_user] if owner_user else _navigators_and_clinicians(owner_organization)
        notification_send(
            recipients=recipients,
            kind="care_task",
            title="New care task for your organization",
            link=f"/care/tasks/{task.uuid}/",
            organization=owner_organization,
            subject=task,
            subject_label=task.title,
        )
    return task


@transaction.atomic
def occurrence_link_result(
    *, occurrence: TaskOccurrence, entry: RegistryEntry, user: Any, organization: Any
) -> TaskOccurrence:
    """Mark an occurrence done by the published result that answers it; tell the task's creator.

    The result answers it when it is about the task's patient, of the test the task asks
    for (the panel's own entry, or every analyte the task needs collected together), was
    collected in the occurrence's window (``portal.care.results``), and closes no other
    occurrence (also a constraint of the database). ``entry`` is any entry of the result."""
    occurrence = TaskOccurrence.objects.select_for_update().select_related("task").get(pk=occurrence.pk)
    task = occurrence.task
    if (
        organization.pk not in (task.owner_organization_id, task.creating_organization_id)
        or not _clinical_member(user=user, organization=organization)
        or not user_can_view_patient(user=user, organization=organization, patient=task.patient)
    ):
        raise TransitionRefused("Only the owner or the creator of the task may link its results.")
    if occurrence.done_at is not None:
        raise TransitionRefused("This occurrence already has its result.")
    if task.status != TaskStatus.OPEN:
        raise TransitionRefused("This task is no longer open.")
    if entry.patient_id != task.patient_id or entry.kind not in RESULT_KINDS or entry.status == EntryStatus.WITHDRAWN:
        raise ValidationError({"entry": ["Link a published result of this task's patient."]})
    requirement = results.task_requirement(task)
    window = results.occurrence_window(occurrence)
    if not requirement.relevant(entry):
        candidate = results.Candidate(entries=[entry], reason="other_test")
    else:
        entries = results.result_of(entry, requirement)
        candidate = results.judge(
            results.Candidate(entries=entries),
            requirement=requirement,
            window=window,
            used=results.used_entry_ids(e.pk for e in entries),
        )
    if candidate.reason:
        raise ValidationError({"entry": [results.refusal(candidate, requirement=requirement, window=window)]})
    try:
        with transaction.atomic():
            OccurrenceResult.objects.bulk_create(
                [OccurrenceResult(occurrence=occurrence, entry=item) for item in candidate.entries]
            )
    except IntegrityError as error:  # linked to another occurrence at the same moment
        raise ValidationError({"entry": ["This result already closes another occurrence."]}) from error
    now = timezone.now()
    occurrence.result_entry = candidate.primary
    occurrence.done_at = now
    occurrence.done_by = user
    occurrence.save(update_fields=["result_entry", "done_at", "done_by"])
    if not task.occurrences.filter(done_at__isnull=True).exists():
        task.status = TaskStatus.DONE
        task.completed_at = now
        task.save(update_fields=["status", "completed_at"])
    notification_send(
        recipients=[task.created_by],
        kind="care_task",
        title="A result for your care task is on the shared record",
        link=f"/care/tasks/{task.uuid}/",
        organization=task.creating_organization,
        subject=task,
        subject_label=task.title,
    )
    # Closing the occurrence answers what this side was told about the task.
    notifications_mark_read_for(user=user, subject=task, organization=organization)
    return occurrence


@transaction.atomic
def care_task_cancel(*, task: CareTask, user: Any, organization: Any) -> CareTask:
    if organization.pk != task.creating_organization_id or not _clinical_member(user=user, organization=organization):
        raise TransitionRefused("Only the organization that created the task may cancel it.")
    if task.status != TaskStatus.OPEN:
        raise TransitionRefused("This task is no longer open.")
    task.status = TaskStatus.CANCELLED
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "completed_at"])
    return task


# --- Hand-offs ------------------------------------------------------------------------


def _clean_items(items: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    sections = {key for key, _ in HANDOFF_SECTIONS}
    cleaned = []
    for item in items:
        text = text_clean(str(item.get("text", "")))
        if not text:
            continue
        section = item.get("section")
        responsible = item.get("responsible")
        if section not in sections or responsible not in Responsible.values:
            raise ValidationError(
                {"items": ["Each item needs a section and who is responsible (oncology or primary care)."]}
            )
        if len(text) > 1000:
            raise ValidationError({"items": ["Keep each plan item under 1,000 characters."]})
        cleaned.append({"section": section, "text": text, "responsible": responsible})
    return cleaned


@transaction.atomic
def handoff_send(
    *,
    user: Any,
    organization: Any,
    patient: NetworkPatient,
    to_organization: Any,
    kind: str,
    treatment_summary: str,
    items: Iterable[dict[str, Any]],
    to_user: Any = None,
) -> Handoff:
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("You cannot hand off this patient from here.")
    errors: dict[str, list[str]] = {}
    if to_organization is None or to_organization.pk == organization.pk or to_organization.is_network:
        errors["to_organization"] = ["Choose the receiving organization."]
    elif not to_organization.is_active or not has_regular_access(organization=to_organization, patient=patient):
        # A hand-off shows the patient's plan to its receiver: only to an organization
        # already caring for the patient.
        errors["to_organization"] = [
            f"{to_organization.name} does not care for this patient. "
            "Hand off to an organization that does, or refer the patient to them first."
        ]
    elif (
        to_user is not None
        and not Membership.objects.active().clinical().filter(user=to_user, organization=to_organization).exists()
    ):
        errors["to_user"] = ["This clinician does not work at the receiving organization."]
    if not text_clean(treatment_summary):
        errors["treatment_summary"] = ["Summarize the treatment."]
    try:
        cleaned = _clean_items(items)
    except ValidationError as error:
        errors.update(error.message_dict)
        cleaned = []
    from portal.care.models import HandoffKind

    if kind not in HandoffKind.values:
        errors["kind"] = ["Choose survivorship care plan or discharge."]
    if errors:
        raise ValidationError(errors)
    handoff = Handoff.objects.create(
        kind=kind,
        patient=patient,
        from_organization=organization,
        from_user=user,
        to_organization=to_organization,
        to_user=to_user,
        treatment_summary=text_clean(treatment_summary),
        items=cleaned,
    )
    notification_send(
        recipients=[to_user] if to_user else _navigators_and_clinicians(to_organization),
        kind="handoff",
        title="A hand-off waits for your acknowledgement",
        link=f"/care/handoffs/{handoff.uuid}/",
        organization=to_organization,
        subject=handoff,
        subject_label=handoff.get_kind_display(),
    )
    return handoff


@transaction.atomic
def handoff_acknowledge(*, handoff: Handoff, user: Any, organization: Any) -> Handoff:
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    if organization.pk != handoff.to_organization_id or not _clinical_member(user=user, organization=organization):
        raise TransitionRefused("Only the receiving organization's clinicians acknowledge a hand-off.")
    if handoff.to_user_id is not None and handoff.to_user_id != user.pk:
        raise TransitionRefused("This hand-off is addressed to another clinician.")
    if handoff.acknowledged_at is not None:
        raise TransitionRefused("This hand-off is already acknowledged.")
    handoff.acknowledged_at = timezone.now()
    handoff.acknowledged_by = user
    handoff.save(update_fields=["acknowledged_at", "acknowledged_by"])
    notification_send(
        recipients=[handoff.from_user],
        kind="handoff",
        title="Your hand-off was acknowledged",
        link=f"/care/handoffs/{handoff.uuid}/",
        organization=handoff.from_organization,
        subject=handoff,
        subject_label=handoff.get_kind_display(),
    )
    notifications_mark_read_for(user=user, subject=handoff, organization=organization)
    return handoff


# --- Escalation -----------------------------------------------------------------------


def escalation_record(
    *,
    object_type: str,
    object_id: int,
    level: int,
    reason: str,
    organization: Any,
    recipients: list[Any],
    link: str,
    subject: Any = None,
    elsewhere: Sequence[tuple[Organization, list[User]]] = (),
) -> bool:
    """Record one escalation and notify, once: False if this level was already escalated.
    ``recipients`` are told at ``organization``'s address; ``elsewhere`` names people told at
    another organization's address (where they have their account), each person once."""
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                object_type=object_type, object_id=object_id, level=level, reason=reason, organization=organization
            )
            sent: list[Any] = []
            told: set[int] = set()
            for where, people in [(organization, list(recipients)), *elsewhere]:
                fresh = [person for person in people if person is not None and person.pk not in told]
                told |= {person.pk for person in fresh}
                sent += notification_send(
                    recipients=fresh,
                    kind="escalation",
                    title=f"Overdue: {reason}",
                    link=link,
                    organization=where,
                    urgent=level >= 2,
                    subject=subject,
                )
            escalation.recipient_count = len(sent)
            escalation.save(update_fields=["recipient_count"])
    except IntegrityError:
        return False
    return True


# Days before a step is overdue, and how many more before it reaches the navigators.
REFERRAL_RECEIVE_DAYS = 2
REFERRAL_ACCEPT_DAYS = 5
HANDOFF_ACK_DAYS = 7
LEVEL_2_AFTER_DAYS = 2


def navigators_of(*organizations: Any) -> list[Any]:
    from portal.accounts.roles import NAVIGATOR_ROLES

    return [
        m.user
        for m in Membership.objects.active()
        .select_related("user")
        .filter(organization__in=[o for o in organizations if o is not None], role__in=NAVIGATOR_ROLES)
    ]


def escalate_step(
    *,
    object_type: str,
    obj: Any,
    overdue_since: dt.datetime,
    now: dt.datetime,
    reason: str,
    organization: Any,
    owners: list[Any],
    navigators: list[Any],
    link: str,
    subject: Any = None,
    navigators_elsewhere: Sequence[tuple[Organization, list[User]]] = (),
) -> int:
    """Level 1 to the owners once the step is overdue, level 2 two days later to the
    navigators (at ``organization``'s address) and to ``navigators_elsewhere`` (each group at
    its own organization's address, where the link opens for them)."""
    sent = 0
    if (
        overdue_since <= now
        and not Escalation.objects.filter(object_type=object_type, object_id=obj.pk, level=1).exists()
    ):
        sent += escalation_record(
            object_type=object_type,
            object_id=obj.pk,
            level=1,
            reason=reason,
            organization=organization,
            recipients=owners,
            link=link,
            subject=subject,
        )
    if (
        overdue_since + dt.timedelta(days=LEVEL_2_AFTER_DAYS) <= now
        and not Escalation.objects.filter(object_type=object_type, object_id=obj.pk, level=2).exists()
    ):
        sent += escalation_record(
            object_type=object_type,
            object_id=obj.pk,
            level=2,
            reason=reason,
            organization=organization,
            recipients=navigators,
            link=link,
            subject=subject,
            elsewhere=navigators_elsewhere,
        )
    return sent


def escalations_run(*, now: dt.datetime | None = None) -> int:
    """Find overdue steps and escalate each level once. Returns how many escalations were recorded."""
    now = now or timezone.now()
    count = 0
    day = dt.timedelta(days=1)
    for referral in Referral.objects.filter(state__in=[ReferralState.REQUESTED, ReferralState.RECEIVED]).select_related(
        "receiving_organization", "referring_organization"
    ):
        if referral.state == ReferralState.REQUESTED:
            since, reason = referral.created_at + REFERRAL_RECEIVE_DAYS * day, "referral not received"
        else:
            since, reason = referral.created_at + REFERRAL_ACCEPT_DAYS * day, "referral not accepted"
        receiver = referral.receiving_organization
        count += escalate_step(
            object_type="referral",
            obj=referral,
            overdue_since=since,
            now=now,
            reason=reason,
            organization=receiver,
            owners=_navigators_and_clinicians(receiver),
            navigators=navigators_of(receiver),
            navigators_elsewhere=[
                (
                    referral.referring_organization,
                    navigators_of(referral.referring_organization) + [referral.referred_by],
                )
            ],
            link=f"/care/referrals/{referral.uuid}/",
            subject=referral,
        )
    occurrences = TaskOccurrence.objects.filter(
        done_at__isnull=True, task__status=TaskStatus.OPEN, due_at__lte=now - OCCURRENCE_GRACE_DAYS * day
    ).select_related("task__owner_organization", "task__creating_organization", "task__owner_user", "task__created_by")
    for occurrence in occurrences:
        task = occurrence.task
        owner_org = task.owner_organization
        count += escalate_step(
            object_type="occurrence",
            obj=occurrence,
            overdue_since=occurrence.due_at + OCCURRENCE_GRACE_DAYS * day,
            now=now,
            reason="care task result missing",
            organization=owner_org,
            owners=[task.owner_user] if task.owner_user else _navigators_and_clinicians(owner_org),
            navigators=navigators_of(owner_org),
            navigators_elsewhere=[(task.creating_organization, navigators_of(task.creating_organization))],
            link=f"/care/tasks/{task.uuid}/",
            subject=task,
        )
    for handoff in Handoff.objects.filter(acknowledged_at__isnull=True).select_related(
        "to_organization", "from_organization", "to_user"
    ):
        receiver = handoff.to_organization
        count += escalate_step(
            object_type="handoff",
            obj=handoff,
            overdue_since=handoff.sent_at + HANDOFF_ACK_DAYS * day,
            now=now,
            reason="hand-off not acknowledged",
            organization=receiver,
            owners=[handoff.to_user] if handoff.to_user else _navigators_and_clinicians(receiver),
            navigators=navigators_of(receiver),
            navigators_elsewhere=[(handoff.from_organization, navigators_of(handoff.from_organization))],
            link=f"/care/handoffs/{handoff.uuid}/",
            subject=handoff,
        )
    return count
