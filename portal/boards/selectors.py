"""Reads of tumor boards, and who may see what.

- The board's people: its coordinator and deputies (who run it with the coordinator, e.g. its
  chair) at the board organization's address, and its members,
  each at the address of the organization they sit for. Nobody else sees a board's
  meetings, agenda or cases (a board's name and schedule are in the directory every
  clinician submits from).
- A case is seen by
  1. the submitting organization's clinicians who may see the patient there (the chart's
     rule): they read what they see of the record anyway;
  2. the coordinator (or a deputy), while the case's care relationship is active;
  3. a member, only when the case is on a *published* agenda of a meeting of a board they
     sit on, and only while the case's relationship is active. They read the case
     *through the board*: exactly the entries the case carries, whatever relationship their
     own organization has with the patient, and never more.
- Every read of a case's entries writes an audit event per organization whose data it shows.
Forbidden and missing give the same 404.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.accounts.models import Membership, User
from portal.boards.models import (
    CHECKLIST,
    Attendance,
    Board,
    BoardMember,
    Case,
    CaseState,
    Meeting,
    MeetingStatus,
    Specialty,
)
from portal.patients.models import CareRelationship, NetworkPatient, RegistryEntry
from portal.patients.selectors import user_can_view_patient, visible_entries, visible_patients
from portal.records.models import ClinicalItem
from portal.records.selectors import _audit_reads
from tenants.models import Organization

COORDINATOR = "coordinator"
MEMBER = "member"
SUBMITTER = "submitter"


def _is_clinical_member(*, user: User | AnonymousUser, organization: Organization | None) -> bool:
    if not isinstance(user, User) or organization is None or organization.is_network:
        return False
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


def _active_relationship() -> Exists:
    return Exists(CareRelationship.objects.active().filter(pk=OuterRef("relationship_id")))


# --- Boards -------------------------------------------------------------------------------


def boards_directory(*, user: User, organization: Organization) -> QuerySet[Board]:
    """Every active board of the network (name, organization, schedule): where a case can go."""
    if not _is_clinical_member(user=user, organization=organization):
        return Board.objects.none()
    return Board.objects.filter(is_active=True, organization__status="active").select_related("organization")


def _deputy(user: User) -> Exists:
    return Exists(Board.deputies.through.objects.filter(board=OuterRef("pk"), user=user))


def boards_for(*, user: User | AnonymousUser, organization: Organization | None) -> QuerySet[Board]:
    """The boards this person runs here (coordinator or deputy) or sits on for this organization."""
    if not _is_clinical_member(user=user, organization=organization) or not isinstance(user, User):
        return Board.objects.none()
    seat = BoardMember.objects.filter(board=OuterRef("pk"), user=user, organization=organization)
    runs = Q(organization=organization) & (Q(coordinator=user) | Q(_deputy(user)))
    return Board.objects.filter(runs | Q(Exists(seat))).select_related("organization", "coordinator").order_by("name")


def runs_board(*, user: User | AnonymousUser, organization: Organization | None, board: Board) -> bool:
    """The board's coordinator or one of its deputies, acting at the board organization's address."""
    if organization is None or organization.pk != board.organization_id or not isinstance(user, User):
        return False
    return board.coordinator_id == user.pk or board.deputies.filter(pk=user.pk).exists()


def board_runners(board: Board) -> list[User]:
    """Who runs the board and is told what it must act on: the coordinator, then the deputies
    who are still clinicians of the board's organization."""
    clinicians = Membership.objects.active().clinical().filter(organization_id=board.organization_id)
    deputies = board.deputies.filter(pk__in=clinicians.values("user_id")).order_by("full_name", "pk")
    return [board.coordinator, *[user for user in deputies if user.pk != board.coordinator_id]]


def board_role(*, user: User | AnonymousUser, organization: Organization | None, board: Board) -> str | None:
    if organization is None or not isinstance(user, User):
        return None
    if runs_board(user=user, organization=organization, board=board):
        return COORDINATOR
    if BoardMember.objects.filter(board=board, user=user, organization=organization).exists():
        return MEMBER
    return None


def board_get_for_user(*, user: User, organization: Organization, board_uuid: uuid.UUID | str) -> Board:
    board = boards_for(user=user, organization=organization).filter(uuid=board_uuid).first()
    if board is None:
        raise Http404("No such board")
    board.role = board_role(user=user, organization=organization, board=board)
    return board


def meeting_get_for_user(*, user: User, organization: Organization, meeting_uuid: uuid.UUID | str) -> Meeting:
    meeting = (
        Meeting.objects.select_related("board__organization", "board__coordinator")
        .filter(uuid=meeting_uuid, board__in=boards_for(user=user, organization=organization))
        .first()
    )
    if meeting is None:
        raise Http404("No such meeting")
    meeting.role = board_role(user=user, organization=organization, board=meeting.board)
    return meeting


def board_meetings(*, board: Board) -> dict[str, list[Any]]:
    """The next meetings and the past ones (with their case counts)."""
    from django.db.models import Count

    now = timezone.now()
    meetings = Meeting.objects.filter(board=board).annotate(case_count=Count("cases"))
    upcoming = list(meetings.filter(starts_at__gt=now).order_by("starts_at")[:6])
    past = list(meetings.filter(starts_at__lte=now).order_by("-starts_at")[:12])
    for meeting in upcoming + past:
        meeting.board = board
    return {"upcoming": upcoming, "past": past}


def local_time(meeting: Meeting) -> Any:
    return timezone.localtime(meeting.starts_at, zoneinfo.ZoneInfo(meeting.board.time_zone))


# --- The agenda ---------------------------------------------------------------------------


def agenda(*, meeting: Meeting, role: str | None) -> list[Case]:
    """The cases on a meeting's agenda, in order, that this role may open: the coordinator
    sees every case still open to the board; a member only a published agenda's. Cases
    whose relationship has ended are left out."""
    if role not in (COORDINATOR, MEMBER):
        return []
    if role == MEMBER and meeting.status != MeetingStatus.PUBLISHED:
        return []
    cases = list(
        Case.objects.filter(meeting=meeting)
        .filter(_active_relationship())
        .select_related("patient", "submitting_organization", "submitted_by", "recommendation")
        .order_by("position", "pk")
    )
    for case in cases:
        case.meeting = meeting
    return cases


def cases_waiting_queryset(*, board: Board) -> QuerySet[Case]:
    """Submitted cases not on an agenda yet whose relationship is active, oldest first."""
    return (
        Case.objects.filter(board=board, state=CaseState.SUBMITTED)
        .filter(_active_relationship())
        .select_related("board", "patient", "submitting_organization", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def cases_waiting(*, board: Board) -> list[Case]:
    """Submitted cases not on an agenda yet, oldest first (the coordinator's list), each
    with ``is_ready`` and ``missing`` from its checklist."""
    return list(cases_waiting_queryset(board=board)[:100])


def deputy_candidates(*, board: Board) -> QuerySet[User]:
    """Who may be named deputy: the clinicians and navigators of the board's organization."""
    clinicians = Membership.objects.active().clinical().filter(organization_id=board.organization_id)
    return User.objects.filter(pk__in=clinicians.values("user_id")).exclude(pk=board.coordinator_id)


@dataclass
class Quorum:
    required: list[tuple[str, str, bool]] = field(default_factory=list)  # (value, label, covered)
    attendance: list[Attendance] = field(default_factory=list)
    seats: list[BoardMember] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(covered for _, _, covered in self.required)

    @property
    def missing(self) -> list[str]:
        return [label for _, label, covered in self.required if not covered]

    @property
    def present_ids(self) -> set[int]:
        return {attendance.user_id for attendance in self.attendance}


@dataclass
class Seat:
    user: User
    organization: Organization
    specialty: str

    @property
    def specialty_label(self) -> str:
        return str(dict(Specialty.choices).get(self.specialty, self.specialty))


def meeting_seats(*, meeting: Meeting, quorum: Quorum | None = None) -> list[Seat]:
    """Who may be marked present: the board's members with their seats' specialties, then its
    coordinator and deputies who hold no seat (as nursing and navigation)."""
    board = meeting.board
    members = (
        quorum.seats
        if quorum is not None
        else list(BoardMember.objects.filter(board=board).select_related("user", "organization"))
    )
    seats = [Seat(user=m.user, organization=m.organization, specialty=m.specialty) for m in members]
    seated = {seat.user.pk for seat in seats}
    for runner in board_runners(board):
        if runner.pk not in seated:
            seats.append(Seat(user=runner, organization=board.organization, specialty=Specialty.NURSING))
    return seats


def quorum(*, meeting: Meeting) -> Quorum:
    attendance = list(Attendance.objects.filter(meeting=meeting).select_related("user"))
    covered = {a.specialty for a in attendance}
    labels = dict(Specialty.choices)
    return Quorum(
        required=[(value, labels.get(value, value), value in covered) for value in meeting.board.quorum_specialties],
        attendance=attendance,
        seats=list(BoardMember.objects.filter(board=meeting.board).select_related("user", "organization")),
    )


# --- Cases --------------------------------------------------------------------------------


def case_get_for_user(*, user: User, organization: Organization, case_uuid: uuid.UUID | str) -> Case:
    """The case and how this person reads it (``case.via``: submitter, coordinator or member)."""
    if not _is_clinical_member(user=user, organization=organization):
        raise Http404("No such case")
    case = (
        Case.objects.select_related(
            "board__organization",
            "board__coordinator",
            "patient",
            "submitting_organization",
            "submitted_by",
            "meeting",
            "relationship",
            "acknowledged_by",
        )
        .filter(uuid=case_uuid)
        .first()
    )
    if case is None:
        raise Http404("No such case")
    via = None
    board = case.board
    board_open = case.relationship is not None and case.relationship.is_active_at()
    if organization.pk == case.submitting_organization_id and user_can_view_patient(
        user=user, organization=organization, patient=case.patient
    ):
        via = SUBMITTER
    elif board_open and runs_board(user=user, organization=organization, board=board):
        via = COORDINATOR
    elif (
        board_open
        and case.meeting is not None
        and case.meeting.status == MeetingStatus.PUBLISHED
        and BoardMember.objects.filter(board=board, user=user, organization=organization).exists()
    ):
        via = MEMBER
    if via is None:
        raise Http404("No such case")
    case.via = via
    if case.meeting is not None:
        case.meeting.board = board
    return case


def case_entries(*, case: Case, user: User, organization: Organization) -> list[RegistryEntry]:
    """The entries the case carries, as this reader may see them: the board's people all
    of them (through the board); the submitter what it sees of the record."""
    entries = case.entries.select_related("organization").order_by("kind", "-effective_at")
    if getattr(case, "via", None) == SUBMITTER:
        visible = visible_entries(user=user, organization=organization, patient=case.patient)
        entries = entries.filter(pk__in=visible.values("pk"))
    return list(entries)


def case_read(
    *, case: Case, user: User, organization: Organization, request: HttpRequest | None = None
) -> list[RegistryEntry]:
    """The case's entries, with the audit of the read: one event per organization whose
    data is shown (the submitter's when nothing is carried)."""
    entries = case_entries(case=case, user=user, organization=organization)
    owners: set[Organization | None] = {entry.organization for entry in entries} or {case.submitting_organization}
    _audit_reads(
        user=user,
        organization=organization,
        request=request,
        patient=case.patient,
        owners=owners,
        object_type="board_case",
        object_id=str(case.uuid),
    )
    return entries


def checklist_rows(case: Case) -> list[tuple[str, bool]]:
    return [(label, bool(case.checklist.get(key))) for key, label in CHECKLIST]


@dataclass
class OpenedEntry:
    entry: RegistryEntry
    item: ClinicalItem
    author_name: str  # read in the owner's schema


def case_entry_open(
    *,
    user: User,
    organization: Organization,
    case_uuid: uuid.UUID | str,
    entry_uuid: uuid.UUID | str,
    request: HttpRequest | None = None,
) -> tuple[Case, OpenedEntry]:
    """Open one entry the case carries, read from its owner's schema, audited for the owner."""
    from portal.audit.services import AuditAction, audit_record

    case = case_get_for_user(user=user, organization=organization, case_uuid=case_uuid)
    entries = case.entries.select_related("organization").filter(uuid=entry_uuid)
    if case.via == SUBMITTER:
        entries = entries.filter(
            pk__in=visible_entries(user=user, organization=organization, patient=case.patient).values("pk")
        )
    entry = entries.first()
    if entry is None:
        raise Http404("No such entry")
    owner = entry.organization
    with schema_context(owner.schema_name):
        item = ClinicalItem.objects.filter(pk=entry.item_uuid, patient=case.patient).first()
        if item is None:
            raise Http404("No such entry")
        author_name = item.author.display_name  # read while in the owner's schema
    audit_record(
        action=AuditAction.READ,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=item.pk,
        patient=case.patient,
        data_owner=owner,
        detail={"through": "board_case", "case": str(case.uuid)},
    )
    return case, OpenedEntry(entry=entry, item=item, author_name=author_name)


def my_submissions(*, user: User, organization: Organization) -> QuerySet[Case]:
    """Cases this organization submitted, about patients this user may see here."""
    if not _is_clinical_member(user=user, organization=organization):
        return Case.objects.none()
    return (
        Case.objects.filter(submitting_organization=organization)
        .filter(patient__in=visible_patients(user=user, organization=organization))
        .select_related("board__organization", "patient", "meeting", "submitted_by", "recommendation")
        .order_by("-submitted_at")
    )


def submit_prefill(
    *, user: User, organization: Organization, patient: NetworkPatient
) -> tuple[list[RegistryEntry], set[Any]]:
    """The entries a case may carry (what this user sees of the record), and those checked
    by default: the latest pathology report, imaging report, diagnosis (the oncology
    summary, with ECOG) and treatment, and the labs of the past 30 days."""
    from portal.boards.models import CARRIED_KINDS

    entries = list(
        visible_entries(user=user, organization=organization, patient=patient)
        .filter(kind__in=CARRIED_KINDS)
        .exclude(status="withdrawn")
        .select_related("organization")
        .order_by("-effective_at")[:60]
    )
    chosen: set[Any] = set()
    seen: set[str] = set()
    month_ago = timezone.now() - dt.timedelta(days=30)
    for entry in entries:
        if entry.kind == "lab_result":
            if entry.effective_at >= month_ago:
                chosen.add(entry.uuid)
        elif entry.kind not in seen:
            seen.add(entry.kind)
            chosen.add(entry.uuid)
    return entries, chosen


def cases_for_patient(*, user: User, organization: Organization, patient: NetworkPatient) -> list[Case]:
    """For the chart: this organization's cases about the patient (the caller checked access)."""
    return list(
        Case.objects.filter(patient=patient, submitting_organization=organization)
        .select_related("board", "recommendation")
        .order_by("-submitted_at")[:10]
    )


def agenda_with_entries(*, cases: list[Case]) -> list[Case]:
    """Each case's carried entries in one query (for the print view)."""
    ids = [case.pk for case in cases]
    prefetched = {
        case.pk: case
        for case in Case.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("entries", queryset=RegistryEntry.objects.select_related("organization").order_by("kind"))
        )
    }
    for case in cases:
        case.carried = list(prefetched[case.pk].entries.all())
    return cases


def thread_for_participant(*, thread_id: int, user: User | AnonymousUser, organization: Organization) -> Any:
    """The recommendation's message thread, if this person takes part in it here (to write to
    the submitter from the case page)."""
    from portal.messaging.models import Participant, Thread

    if not isinstance(user, User):
        return None
    taking_part = Participant.objects.filter(thread_id=thread_id, user=user, organization=organization)
    return Thread.objects.filter(pk=thread_id).filter(Exists(taking_part)).first()
