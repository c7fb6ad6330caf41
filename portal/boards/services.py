"""Writes of tumor boards: boards and their meetings, case submission, the agenda, the
meeting (attendance, recommendations), finalising a recommendation into the record, the
submitter's acknowledgement and follow-up, and their escalation."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.accounts.models import Membership, User
from portal.audit.services import AuditAction, audit_record
from portal.boards.models import (
    CARRIED_KINDS,
    CHECKLIST,
    Attendance,
    Board,
    BoardMember,
    Case,
    CaseState,
    Category,
    Evidence,
    FollowUp,
    Meeting,
    MeetingStatus,
    Presentation,
    Recommendation,
    Specialty,
    default_time_zone,
)
from portal.boards.selectors import board_runners, runs_board
from portal.notifications.services import notification_send
from portal.patients.models import CareRelationship, EntryStatus, NetworkPatient, RegistryEntry, RelationshipKind
from portal.patients.selectors import record_shared_with, user_can_view_patient, visible_entries
from portal.patients.services import care_relationship_start
from portal.text import text_clean
from tenants.models import Organization

# A case's access for the board's organization ends this long after its meeting.
ACCESS_DAYS_AFTER_MEETING = 30
MEETINGS_AHEAD_WEEKS = 8
ACKNOWLEDGE_DAYS = 7
FOLLOWUP_DAYS = 30
# Finalising renews the board's access until the follow-up is due, its escalation has reached
# the coordinator (two days later) and the coordinator has had a week to act on it.
FOLLOWUP_ACCESS_DAYS = FOLLOWUP_DAYS + 2 + 7
NOTIFY_KIND = "tumor_board"


class BoardRefused(PermissionDenied):
    """Not allowed now, or not for this person."""


def _clinical_member(*, user: User, organization: Organization) -> bool:
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


def is_coordinator(*, user: User, organization: Organization, board: Board) -> bool:
    """The board's coordinator or one of its deputies, acting at the board organization's
    address with a clinical role there."""
    return runs_board(user=user, organization=organization, board=board) and _clinical_member(
        user=user, organization=organization
    )


def require_coordinator(*, user: User, organization: Organization, board: Board) -> None:
    if not is_coordinator(user=user, organization=organization, board=board):
        raise BoardRefused("Only the board's coordinator or a deputy does this, at the board's organization.")


# --- Boards and meetings ----------------------------------------------------------------


@transaction.atomic
def board_create(
    *,
    organization: Organization,
    name: str,
    coordinator: Any,
    disease_sites: Sequence[str] = (),
    weekday: int = 1,
    meeting_time: dt.time = dt.time(7, 0),
    time_zone: str = "",
    video_link: str = "",
    quorum_specialties: Sequence[str] | None = None,
    cutoff_hours: int = 48,
    duration_minutes: int = 60,
) -> Board:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Name the board."]
    if not _clinical_member(user=coordinator, organization=organization):
        errors["coordinator"] = ["The coordinator is a clinician or navigator of the board's organization."]
    if weekday not in range(7):
        errors["weekday"] = ["Choose a day of the week."]
    zone = time_zone or default_time_zone()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = ["Give a time zone such as America/New_York."]
    quorum = list(quorum_specialties) if quorum_specialties is not None else None
    if quorum is not None and any(value not in Specialty.values for value in quorum):
        errors["quorum_specialties"] = [f"Specialties are {', '.join(Specialty.values)}."]
    if errors:
        raise ValidationError(errors)
    board = Board(
        organization=organization,
        name=name.strip(),
        coordinator=coordinator,
        disease_sites=[site.strip() for site in disease_sites if site.strip()],
        weekday=weekday,
        meeting_time=meeting_time,
        time_zone=zone,
        video_link=video_link,
        cutoff_hours=cutoff_hours,
        duration_minutes=duration_minutes,
    )
    if quorum is not None:
        board.quorum_specialties = quorum
    board.save()
    meetings_generate(board=board)
    return board


@transaction.atomic
def board_member_add(*, board: Board, user: User, organization: Organization, specialty: str) -> BoardMember:
    """Seat a person of any organization of the network on the board, with their specialty."""
    if specialty not in Specialty.values:
        raise ValidationError({"specialty": [f"Specialties are {', '.join(Specialty.values)}."]})
    if not _clinical_member(user=user, organization=organization):
        raise ValidationError({"user": ["A board member is a clinician of an organization of the network."]})
    member, _ = BoardMember.objects.get_or_create(
        board=board, user=user, defaults={"organization": organization, "specialty": specialty}
    )
    return member


@transaction.atomic
def board_deputy_set(
    *,
    board: Board,
    deputy: User,
    named: bool,
    user: User,
    organization: Organization,
    request: HttpRequest | None = None,
) -> Board:
    """The coordinator names a deputy (the board's chair, a second navigator) who runs the
    board with them — agenda, attendance, recommendations — or removes one. A deputy is a
    clinician of the board's organization. Audited as a grant or a revocation."""
    board = Board.objects.select_for_update().get(pk=board.pk)
    if organization.pk != board.organization_id or user.pk != board.coordinator_id:
        raise BoardRefused("Only the board's coordinator names its deputies.")
    if not _clinical_member(user=user, organization=organization):
        raise BoardRefused("Only the board's coordinator names its deputies.")
    if deputy.pk == board.coordinator_id:
        raise ValidationError({"user": ["The coordinator already runs the board."]})
    present = board.deputies.filter(pk=deputy.pk).exists()
    if named == present:
        return board
    if named:
        if not _clinical_member(user=deputy, organization=board.organization):
            raise ValidationError({"user": ["A deputy is a clinician or navigator of the board's organization."]})
        board.deputies.add(deputy)
    else:
        board.deputies.remove(deputy)
    audit_record(
        action=AuditAction.GRANT if named else AuditAction.REVOKE,
        actor=user,
        organization=organization,
        request=request,
        object_type="board_deputy",
        object_id=board.uuid,
        data_owner=board.organization,
        detail={"deputy": deputy.pk, "deputy_email": deputy.email},
    )
    return board


def meeting_slots(*, board: Board, start: dt.datetime, weeks: int) -> list[dt.datetime]:
    """The board's meeting times from ``start`` for ``weeks`` weeks, in its own time zone
    (07:00 stays 07:00 across a change to or from daylight saving time)."""
    zone = zoneinfo.ZoneInfo(board.time_zone)
    local = start.astimezone(zone)
    day = local.date() + dt.timedelta(days=(board.weekday - local.weekday()) % 7)
    slots: list[dt.datetime] = []
    while len(slots) < weeks:
        moment = dt.datetime.combine(day, board.meeting_time, tzinfo=zone)
        if moment > start:
            slots.append(moment)
        day += dt.timedelta(days=7)
    return slots


def meetings_generate(*, board: Board, now: dt.datetime | None = None, weeks: int = MEETINGS_AHEAD_WEEKS) -> int:
    """Create the board's meetings for the coming weeks; those that exist are left alone.
    Returns how many were created."""
    if not board.is_active:
        return 0
    slots = meeting_slots(board=board, start=now or timezone.now(), weeks=weeks)
    existing = set(Meeting.objects.filter(board=board, starts_at__in=slots).values_list("starts_at", flat=True))
    new = [Meeting(board=board, starts_at=slot) for slot in slots if slot not in existing]
    Meeting.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def next_open_meeting(*, board: Board, now: dt.datetime | None = None) -> Meeting | None:
    """The first meeting whose submission cut-off has not passed."""
    now = now or timezone.now()
    meetings_generate(board=board, now=now)
    for meeting in Meeting.objects.filter(board=board, starts_at__gt=now, status__in=_OPEN_MEETING).order_by(
        "starts_at"
    )[:4]:
        meeting.board = board
        if meeting.cutoff_at > now:
            return meeting
    return None


_OPEN_MEETING = [MeetingStatus.PLANNED, MeetingStatus.PUBLISHED]


# --- Cases --------------------------------------------------------------------------------


def checklist_for(entries: Iterable[RegistryEntry]) -> dict[str, bool]:
    """What the board requires, from the entries a case carries: a pathology report, a
    staging imaging report, and an ECOG performance status (kept on the cancer diagnosis,
    as mCODE does: ``summary["ecog"]``, 0 counts)."""
    found = {key: False for key, _ in CHECKLIST}
    for entry in entries:
        if entry.status == EntryStatus.WITHDRAWN:
            continue
        if entry.kind == "pathology_report":
            found["pathology"] = True
        elif entry.kind == "imaging_report":
            found["staging_imaging"] = True
        elif entry.kind == "cancer_diagnosis" and (entry.summary or {}).get("ecog") not in (None, ""):
            found["ecog"] = True
    return found


def _relationship_ends_at(meeting: Meeting | None) -> dt.datetime:
    start = meeting.starts_at if meeting is not None else timezone.now() + dt.timedelta(days=7)
    return start + dt.timedelta(days=ACCESS_DAYS_AFTER_MEETING)


@transaction.atomic
def case_submit(
    *,
    user: User,
    organization: Organization,
    board: Board,
    patient: NetworkPatient,
    question: str,
    presentation: str,
    entries: Iterable[RegistryEntry] = (),
    request: HttpRequest | None = None,
) -> Case:
    """An organization that cares for the patient submits them to a board. Opens a
    time-limited care relationship for the board's organization (until 30 days after the
    meeting the case is expected at), sharing the record only if the submitting
    organization itself sees it shared; the grant is audited."""
    if not _clinical_member(user=user, organization=organization) or not user_can_view_patient(
        user=user, organization=organization, patient=patient
    ):
        raise PermissionDenied("You cannot submit this patient from this organization.")
    question = text_clean(question)
    errors: dict[str, list[str]] = {}
    if not board.is_active:
        errors["board"] = ["This board takes no cases."]
    if not question.strip():
        errors["question"] = ["Ask the board a question."]
    if presentation not in Presentation.values:
        errors["presentation"] = ["Choose prospective or retrospective."]
    carried = list(entries)
    visible = set(
        visible_entries(user=user, organization=organization, patient=patient)
        .filter(pk__in=[entry.pk for entry in carried], kind__in=CARRIED_KINDS)
        .exclude(status=EntryStatus.WITHDRAWN)
        .values_list("pk", flat=True)
    )
    if any(entry.pk not in visible for entry in carried):
        errors["entries"] = ["A case carries published entries of this patient that you see."]
    if errors:
        raise ValidationError(errors)
    meeting = next_open_meeting(board=board)
    relationship = care_relationship_start(
        patient=patient,
        organization=board.organization,
        kind=RelationshipKind.TUMOR_BOARD,
        granted_by=user,
        ends_at=_relationship_ends_at(meeting),
        note=f"Case submitted to {board.name}"[:200],
        shares_record=record_shared_with(user=user, organization=organization, patient=patient),
    )
    case = Case.objects.create(
        board=board,
        patient=patient,
        submitting_organization=organization,
        submitted_by=user,
        question=question.strip(),
        presentation=presentation,
        checklist=checklist_for(carried),
        relationship=relationship,
    )
    case.entries.set(carried)
    audit_record(
        action=AuditAction.CREATE,
        actor=user,
        organization=organization,
        request=request,
        object_type="board_case",
        object_id=case.uuid,
        patient=patient,
        data_owner=organization,
        detail={"board": str(board.uuid)},
    )
    notification_send(
        recipients=board_runners(board),
        kind=NOTIFY_KIND,
        title=f"New case submitted to {board.name}",
        link=f"/boards/cases/{case.uuid}/",
        organization=board.organization,
    )
    return case


@transaction.atomic
def case_entries_add(*, case: Case, user: User, organization: Organization, entries: Iterable[RegistryEntry]) -> Case:
    """The submitter adds what was missing (a pathology report published since, say)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if organization.pk != case.submitting_organization_id or not user_can_view_patient(
        user=user, organization=organization, patient=case.patient
    ):
        raise BoardRefused("Only the submitting organization adds to a case.")
    if case.state not in (CaseState.SUBMITTED, CaseState.SCHEDULED):
        raise BoardRefused("This case has been discussed.")
    added = list(
        visible_entries(user=user, organization=organization, patient=case.patient)
        .filter(pk__in=[entry.pk for entry in entries], kind__in=CARRIED_KINDS)
        .exclude(status=EntryStatus.WITHDRAWN)
    )
    case.entries.add(*added)
    case.checklist = checklist_for(case.entries.all())
    case.save(update_fields=["checklist"])
    return case


def _renew_for(*, case: Case, meeting: Meeting, user: User) -> None:
    """Access lasts until 30 days after the meeting the case is on: a later meeting renews it."""
    _renew_until(case=case, until=_relationship_ends_at(meeting), user=user)


def _renew_until(*, case: Case, until: dt.datetime, user: User) -> None:
    """Extend the case's relationship to ``until`` (never shorten it), audited as a grant."""
    relationship = case.relationship
    wanted = until
    if relationship is None or relationship.ended_at is not None:
        return
    if relationship.ends_at is not None and relationship.ends_at >= wanted:
        return
    CareRelationship.objects.filter(pk=relationship.pk).update(ends_at=wanted)
    relationship.ends_at = wanted
    audit_record(
        action=AuditAction.GRANT,
        actor=user,
        organization=case.board.organization,
        object_type="care_relationship",
        object_id=relationship.pk,
        patient=case.patient,
        data_owner=case.submitting_organization,
        detail={"kind": RelationshipKind.TUMOR_BOARD, "renewed_until": wanted.isoformat()},
    )


def _case_for_update(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",)).select_related("board", "relationship", "meeting").get(pk=case.pk)
    )


def _require_access(case: Case) -> None:
    if case.relationship is None or not case.relationship.is_active_at():
        raise BoardRefused("The board's access to this case has ended.")


@transaction.atomic
def case_schedule(*, case: Case, meeting: Meeting, user: User, organization: Organization) -> Case:
    """Put a ready case on a meeting's agenda (the coordinator, before the meeting)."""
    case = _case_for_update(case)
    board = case.board
    require_coordinator(user=user, organization=organization, board=board)
    _require_access(case)
    if meeting.board_id != board.pk or meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError({"meeting": ["Choose a meeting of this board."]})
    if meeting.starts_at <= timezone.now():
        raise ValidationError({"meeting": ["This meeting has begun: choose a later one."]})
    if case.state not in (CaseState.SUBMITTED, CaseState.SCHEDULED):
        raise ValidationError({"case": ["This case has been discussed."]})
    if not case.is_ready:
        raise ValidationError({"case": [f"The case is missing: {', '.join(case.missing)}."]})
    cutoff = meeting.starts_at - dt.timedelta(hours=board.cutoff_hours)
    if case.submitted_at > cutoff:
        raise ValidationError(
            {"meeting": [f"The case came in after this meeting's cut-off ({board.cutoff_hours} hours before)."]}
        )
    last = Case.objects.filter(meeting=meeting).exclude(pk=case.pk).aggregate(top=Max("position"))["top"]
    case.meeting = meeting
    case.position = (last or 0) + 1
    case.state = CaseState.SCHEDULED
    case.save(update_fields=["meeting", "position", "state"])
    _renew_for(case=case, meeting=meeting, user=user)
    return case


@transaction.atomic
def case_unschedule(*, case: Case, user: User, organization: Organization) -> Case:
    case = _case_for_update(case)
    require_coordinator(user=user, organization=organization, board=case.board)
    if case.state != CaseState.SCHEDULED:
        raise ValidationError({"case": ["This case is not on an agenda."]})
    case.meeting = None
    case.position = 0
    case.state = CaseState.SUBMITTED
    case.save(update_fields=["meeting", "position", "state"])
    return case


@transaction.atomic
def case_move_next(*, case: Case, user: User, organization: Organization) -> Case:
    """Move a case to the board's next meeting after the one it is on."""
    case = _case_for_update(case)
    require_coordinator(user=user, organization=organization, board=case.board)
    if case.state != CaseState.SCHEDULED or case.meeting is None:
        raise ValidationError({"case": ["This case is not on an agenda."]})
    meetings_generate(board=case.board, now=case.meeting.starts_at)
    later = (
        Meeting.objects.filter(board=case.board, starts_at__gt=case.meeting.starts_at, status__in=_OPEN_MEETING)
        .order_by("starts_at")
        .first()
    )
    if later is None:
        raise ValidationError({"meeting": ["The board has no later meeting."]})
    return case_schedule(case=case, meeting=later, user=user, organization=organization)


@transaction.atomic
def agenda_reorder(*, meeting: Meeting, order: Sequence[Any], user: User, organization: Organization) -> list[Case]:
    """Set the order of a meeting's cases (their uuids, first to last)."""
    require_coordinator(user=user, organization=organization, board=meeting.board)
    cases = {str(case.uuid): case for case in Case.objects.select_for_update().filter(meeting=meeting)}
    wanted = [str(value) for value in order]
    if sorted(wanted) != sorted(cases):
        raise ValidationError({"order": ["Give every case of the agenda once."]})
    for position, key in enumerate(wanted, start=1):
        case = cases[key]
        if case.position != position:
            case.position = position
            case.save(update_fields=["position"])
    return [cases[key] for key in wanted]


@transaction.atomic
def agenda_move(*, case: Case, direction: str, user: User, organization: Organization) -> list[Case]:
    """Move a case one place up or down its meeting's agenda."""
    if case.meeting is None:
        raise ValidationError({"case": ["This case is not on an agenda."]})
    order = [
        str(value)
        for value in Case.objects.filter(meeting=case.meeting).order_by("position", "pk").values_list("uuid", flat=True)
    ]
    index = order.index(str(case.uuid))
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down"):
        raise ValidationError({"direction": ["Up or down."]})
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    return agenda_reorder(meeting=case.meeting, order=order, user=user, organization=organization)


def _members_by_organization(board: Board) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for member in BoardMember.objects.filter(board=board).select_related("user", "organization"):
        groups.setdefault(member.organization, []).append(member.user)
    return groups


@transaction.atomic
def agenda_publish(*, meeting: Meeting, user: User, organization: Organization) -> Meeting:
    """Publish the agenda: every member is told (in the portal, and by an email that names
    the board and the date, never a patient) and may open the cases on it."""
    meeting = Meeting.objects.select_for_update().select_related("board").get(pk=meeting.pk)
    board = meeting.board
    require_coordinator(user=user, organization=organization, board=board)
    if meeting.status == MeetingStatus.CANCELLED or meeting.starts_at <= timezone.now():
        raise ValidationError({"meeting": ["Only an agenda of a coming meeting is published."]})
    if not Case.objects.filter(meeting=meeting).exists():
        raise ValidationError({"meeting": ["The agenda is empty."]})
    republished = meeting.status == MeetingStatus.PUBLISHED
    meeting.status = MeetingStatus.PUBLISHED
    meeting.published_at = timezone.now()
    meeting.published_by = user
    meeting.save(update_fields=["status", "published_at", "published_by"])
    local = timezone.localtime(meeting.starts_at, zoneinfo.ZoneInfo(board.time_zone))
    title = f"{board.name}: agenda {'updated' if republished else 'published'} for {local:%a %b} {local.day}"
    for member_organization, users in _members_by_organization(board).items():
        notification_send(
            recipients=users,
            kind=NOTIFY_KIND,
            title=title,
            link=f"/boards/meetings/{meeting.uuid}/",
            organization=member_organization,
        )
    return meeting


# --- The meeting ------------------------------------------------------------------------


@transaction.atomic
def attendance_set(
    *, meeting: Meeting, attendee: Any, present: bool, user: User, organization: Organization, specialty: str = ""
) -> Attendance | None:
    """Mark a member (or the coordinator) present or absent; the specialty defaults to their seat's."""
    board = meeting.board
    require_coordinator(user=user, organization=organization, board=board)
    seat = BoardMember.objects.filter(board=board, user=attendee).first()
    if seat is None and attendee.pk not in {runner.pk for runner in board_runners(board)}:
        raise ValidationError({"attendee": ["Only the board's members attend."]})
    specialty = specialty or (seat.specialty if seat else Specialty.NURSING)
    if specialty not in Specialty.values:
        raise ValidationError({"specialty": ["Choose a specialty."]})
    if not present:
        Attendance.objects.filter(meeting=meeting, user=attendee).delete()
        return None
    attendance, created = Attendance.objects.get_or_create(
        meeting=meeting, user=attendee, defaults={"specialty": specialty}
    )
    if not created and attendance.specialty != specialty:
        attendance.specialty = specialty
        attendance.save(update_fields=["specialty"])
    return attendance


def quorum_missing(*, meeting: Meeting) -> list[str]:
    """The required specialties nobody present covers (empty: quorum met)."""
    present = set(Attendance.objects.filter(meeting=meeting).values_list("specialty", flat=True))
    return [value for value in meeting.board.quorum_specialties if value not in present]


@transaction.atomic
def recommendation_record(
    *,
    case: Case,
    user: User,
    organization: Organization,
    text: str,
    category: str,
    evidence: str,
    trial: str = "",
    no_trial_suitable: bool = False,
    genetic_counselling: bool = False,
    dissent: str = "",
) -> Recommendation:
    """The board's recommendation for a case on a published agenda (recorded, corrected
    until it is finalised)."""
    case = _case_for_update(case)
    require_coordinator(user=user, organization=organization, board=case.board)
    _require_access(case)
    if case.meeting is None or case.meeting.status != MeetingStatus.PUBLISHED:
        raise ValidationError({"case": ["Put the case on a published agenda first."]})
    if case.state == CaseState.FINALISED:
        raise BoardRefused("The recommendation has been sent; it is no longer changed here.")
    text, trial, dissent = text_clean(text), text_clean(trial), text_clean(dissent)
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = ["Write the recommendation."]
    if category not in Category.values:
        errors["category"] = ["Choose a category."]
    if evidence not in Evidence.values:
        errors["evidence"] = ["Choose the NCCN evidence category."]
    trial = trial.strip()
    if bool(trial) == bool(no_trial_suitable):
        errors["trial"] = ['Name the clinical trial considered, or mark "none suitable".']
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    values = {
        "text": text.strip(),
        "category": category,
        "evidence": evidence,
        "trial": trial[:200],
        "no_trial_suitable": no_trial_suitable,
        "genetic_counselling": genetic_counselling,
        "dissent": dissent.strip(),
        "quorum_met": not quorum_missing(meeting=case.meeting),
        "recorded_by": user,
        "recorded_at": now,
    }
    recommendation, _ = Recommendation.objects.update_or_create(case=case, defaults=values)
    if case.state != CaseState.DISCUSSED:
        case.state = CaseState.DISCUSSED
        case.discussed_at = now
        case.save(update_fields=["state", "discussed_at"])
    return recommendation


def _care_team(*, case: Case) -> list[Any]:
    """Whom the recommendation is sent to: the submitting clinician, and the named clinicians
    of the patient's care team and primary-care doctor of record at the organizations that
    share the record."""
    from portal.messaging.services import Recipient

    recipients = [Recipient(organization=case.submitting_organization, user=case.submitted_by)]
    team = (
        CareRelationship.objects.active()
        .filter(
            patient=case.patient,
            clinician__isnull=False,
            shares_record=True,
            kind__in=[RelationshipKind.CARE_TEAM, RelationshipKind.PCP_OF_RECORD],
        )
        .exclude(organization=case.board.organization)
        .select_related("organization", "clinician")
    )
    for relationship in team:
        recipients.append(Recipient(organization=relationship.organization, user=relationship.clinician))
    return recipients


def _item_values(*, case: Case, recommendation: Recommendation) -> dict[str, Any]:
    board = case.board
    meeting = case.meeting
    assert meeting is not None
    zone = zoneinfo.ZoneInfo(board.time_zone)
    held = timezone.localtime(meeting.starts_at, zone).date()
    effective = min(held, timezone.localdate())
    attendees = Attendance.objects.filter(meeting=meeting).select_related("user")
    return {
        "effective_date": effective.isoformat(),
        "board": board.name,
        "board_organization": board.organization.name,
        "question": case.question,
        "presentation": case.presentation,
        "category": recommendation.category,
        "recommendation": recommendation.text,
        "evidence": recommendation.evidence,
        "clinical_trial": recommendation.trial or "None suitable",
        "genetic_counselling": "yes" if recommendation.genetic_counselling else "no",
        "dissent": recommendation.dissent,
        "quorum": "met" if recommendation.quorum_met else "not_met",
        "attendees": "; ".join(f"{a.user.display_name} ({a.get_specialty_display()})" for a in attendees)[:2000],
    }


@transaction.atomic
def recommendation_finalise(
    *, case: Case, user: User, organization: Organization, request: HttpRequest | None = None
) -> Recommendation:
    """Exactly once: the recommendation becomes a published entry of the board's organization
    on the patient's record, and is sent to the submitting clinician and the patient's care
    team as a message, with the acknowledgement it asks for. A second call changes nothing."""
    from portal.messaging.services import participant_check, thread_start
    from portal.records.models import ItemKind
    from portal.records.services import item_create

    case = _case_for_update(case)
    board = case.board
    require_coordinator(user=user, organization=organization, board=board)
    recommendation = Recommendation.objects.select_for_update().filter(case=case).first()
    if recommendation is None:
        raise ValidationError({"case": ["Record the board's recommendation first."]})
    if recommendation.finalised_at is not None:
        return recommendation
    _require_access(case)
    with schema_context(board.organization.schema_name):
        item = item_create(
            user=user,
            organization=board.organization,
            patient=case.patient,
            kind=ItemKind.TUMOR_BOARD_RECOMMENDATION,
            values=_item_values(case=case, recommendation=recommendation),
            publish=True,
            request=request,
        )
    entry = RegistryEntry.objects.get(organization=board.organization, item_uuid=item.pk)
    recipients = []
    for recipient in _care_team(case=case):
        try:
            participant_check(patient=case.patient, recipient=recipient)
        except ValidationError:
            continue
        recipients.append(recipient)
    thread = None
    if recipients:
        thread = thread_start(
            sender=user,
            organization=board.organization,
            subject=f"{board.name}: recommendation",
            body=(
                f"The {board.name} discussed the case you submitted.\n\n"
                f"Recommendation ({recommendation.get_category_display()}, "
                f"{recommendation.get_evidence_display()}): {recommendation.text}\n"
                f"Clinical trial: {recommendation.trial_label}\n"
                f"Genetic counselling referral: {'yes' if recommendation.genetic_counselling else 'no'}\n"
                + (f"Dissent: {recommendation.dissent}\n" if recommendation.dissent else "")
                + f"\nPlease acknowledge it and record whether it was followed: /boards/cases/{case.uuid}/"
            ),
            recipients=recipients,
            patient=case.patient,
            entries=[entry],
        )
    now = timezone.now()
    _renew_until(case=case, until=now + dt.timedelta(days=FOLLOWUP_ACCESS_DAYS), user=user)
    recommendation.finalised_at = now
    recommendation.finalised_by = user
    recommendation.entry = entry
    recommendation.thread = thread
    recommendation.save(update_fields=["finalised_at", "finalised_by", "entry", "thread"])
    case.state = CaseState.FINALISED
    case.finalised_at = now
    case.save(update_fields=["state", "finalised_at"])
    notification_send(
        recipients=[case.submitted_by],
        kind=NOTIFY_KIND,
        title=f"{board.name}: a recommendation waits for your acknowledgement",
        link=f"/boards/cases/{case.uuid}/",
        organization=case.submitting_organization,
    )
    return recommendation


def _require_submitter(*, case: Case, user: User, organization: Organization) -> None:
    if (
        organization.pk != case.submitting_organization_id
        or not _clinical_member(user=user, organization=organization)
        or not user_can_view_patient(user=user, organization=organization, patient=case.patient)
    ):
        raise BoardRefused("Only the submitting organization's clinicians answer the board.")


@transaction.atomic
def recommendation_acknowledge(*, case: Case, user: User, organization: Organization) -> Case:
    case = _case_for_update(case)
    _require_submitter(case=case, user=user, organization=organization)
    if case.state != CaseState.FINALISED:
        raise BoardRefused("There is no recommendation to acknowledge yet.")
    if case.acknowledged_at is not None:
        return case
    case.acknowledged_at = timezone.now()
    case.acknowledged_by = user
    case.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return case


@transaction.atomic
def followup_record(
    *, case: Case, user: User, organization: Organization, outcome: str, reason: str = ""
) -> Recommendation:
    """Whether the recommendation was followed, changed (and why) or declined by the patient."""
    case = _case_for_update(case)
    _require_submitter(case=case, user=user, organization=organization)
    recommendation = Recommendation.objects.select_for_update().filter(case=case).first()
    if case.state != CaseState.FINALISED or recommendation is None:
        raise BoardRefused("There is no recommendation to follow up yet.")
    if outcome not in FollowUp.values:
        raise ValidationError({"outcome": ["Choose followed, changed or declined by the patient."]})
    reason = text_clean(reason)
    if outcome == FollowUp.CHANGED and not reason.strip():
        raise ValidationError({"reason": ["Say why the plan was changed."]})
    now = timezone.now()
    if case.acknowledged_at is None:
        case.acknowledged_at, case.acknowledged_by = now, user
        case.save(update_fields=["acknowledged_at", "acknowledged_by"])
    recommendation.followup = outcome
    recommendation.followup_reason = reason.strip()
    recommendation.followup_at = now
    recommendation.followup_by = user
    recommendation.save(update_fields=["followup", "followup_reason", "followup_at", "followup_by"])
    notification_send(
        recipients=board_runners(case.board),
        kind=NOTIFY_KIND,
        title=f"{case.board.name}: follow-up recorded",
        link=f"/boards/cases/{case.uuid}/",
        organization=case.board.organization,
    )
    return recommendation


# --- Escalation -------------------------------------------------------------------------


def board_escalations_run(*, now: dt.datetime | None = None) -> int:
    """A recommendation not acknowledged within 7 days, or not followed up within 30,
    escalates through closing the loop's machinery: the submitter, then the navigators of
    the submitting organization and the board's coordinator and deputies — once per level."""
    from portal.care.services import escalate_step, navigators_of

    now = now or timezone.now()
    count = 0
    day = dt.timedelta(days=1)
    cases = Case.objects.filter(state=CaseState.FINALISED, recommendation__followup="").select_related(
        "board__organization", "board__coordinator", "submitting_organization", "submitted_by"
    )
    for case in cases:
        assert case.finalised_at is not None
        steps = []
        if case.acknowledged_at is None:
            steps.append(
                ("board_ack", case.finalised_at + ACKNOWLEDGE_DAYS * day, "board recommendation not acknowledged")
            )
        steps.append(("board_followup", case.finalised_at + FOLLOWUP_DAYS * day, "board follow-up not recorded"))
        for object_type, since, reason in steps:
            # Each person is sent to the case page at an address where they act: the submitter
            # and the submitting organization's navigators at theirs, the board's coordinator
            # and deputies at the board's.
            count += escalate_step(
                object_type=object_type,
                obj=case,
                overdue_since=since,
                now=now,
                reason=reason,
                organization=case.submitting_organization,
                owners=[case.submitted_by],
                navigators=navigators_of(case.submitting_organization),
                navigators_elsewhere=[(case.board.organization, board_runners(case.board))],
                link=f"/boards/cases/{case.uuid}/",
            )
    return count
