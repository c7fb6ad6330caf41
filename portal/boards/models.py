"""Tumor boards across the network: boards of an organization, their weekly meetings, the
cases other organizations submit, the agenda, attendance, and the board's recommendation.

All of it lives in the public schema: a case concerns the submitting organization, the
board's organization and members from any organization of the network.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from portal.patients.models import RegistryEntry


class Specialty(models.TextChoices):
    SURGERY = "surgery", "Surgery"
    MEDICAL_ONCOLOGY = "medical_oncology", "Medical oncology"
    RADIATION_ONCOLOGY = "radiation_oncology", "Radiation oncology"
    PATHOLOGY = "pathology", "Pathology"
    RADIOLOGY = "radiology", "Radiology"
    GENETICS = "genetics", "Genetics"
    NURSING = "nursing", "Nursing and navigation"
    PRIMARY_CARE = "primary_care", "Primary care"
    OTHER = "other", "Other"


# What accreditation standards ask to be present for a quorum.
DEFAULT_QUORUM = [
    Specialty.SURGERY,
    Specialty.MEDICAL_ONCOLOGY,
    Specialty.RADIATION_ONCOLOGY,
    Specialty.PATHOLOGY,
    Specialty.RADIOLOGY,
]


def default_time_zone() -> str:
    """The network's time zone (organizations have none of their own yet)."""
    return str(settings.TIME_ZONE)


def default_quorum() -> list[str]:
    return [str(value) for value in DEFAULT_QUORUM]


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class Board(models.Model):
    """A multidisciplinary tumor board run by one organization, meeting weekly."""

    # Not stored: set on the board a page or the API shows (portal.boards.selectors).
    role: str | None  # the viewer's role: COORDINATOR, MEMBER or None
    next_meeting: Meeting | None

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="boards")
    name = models.CharField(max_length=120)
    disease_sites = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS, default=1)
    meeting_time = models.TimeField(default=dt.time(7, 0))
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    time_zone = models.CharField(max_length=60, default=default_time_zone)
    video_link = models.URLField(blank=True)
    coordinator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Who also runs the board when the coordinator is away (its chair, a second navigator):
    # clinicians of the board's organization, named by the coordinator (audited).
    deputies = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="deputy_for_boards")
    quorum_specialties = ArrayField(models.CharField(max_length=30), default=default_quorum, blank=True)
    cutoff_hours = models.PositiveSmallIntegerField(default=48)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="one_board_name_per_org")]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_label(self) -> str:
        return f"{dict(WEEKDAYS)[self.weekday]}s at {self.meeting_time:%H:%M} ({self.time_zone})"

    def quorum_labels(self) -> list[str]:
        labels = dict(Specialty.choices)
        return [labels.get(value, value) for value in self.quorum_specialties]


class BoardMember(models.Model):
    """A person on a board, from any organization of the network: they open the board's
    cases at that organization's address."""

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="board_memberships")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    specialty = models.CharField(max_length=30, choices=Specialty.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["specialty", "user__full_name"]
        constraints = [models.UniqueConstraint(fields=["board", "user"], name="one_seat_per_board")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.board_id}"


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", "Agenda in preparation"
    PUBLISHED = "published", "Agenda published"
    CANCELLED = "cancelled", "Cancelled"


class Meeting(models.Model):
    """One meeting of a board, generated from its weekly schedule."""

    role: str | None  # not stored: the viewer's role on its board (portal.boards.selectors)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="meetings")
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["board", "starts_at"], name="one_meeting_per_slot")]
        indexes = [models.Index(fields=["board", "starts_at"])]

    def __str__(self) -> str:
        return f"Meeting {self.uuid}"

    @property
    def cutoff_at(self) -> dt.datetime:
        return self.starts_at - dt.timedelta(hours=self.board.cutoff_hours)

    @property
    def is_past(self) -> bool:
        return self.starts_at + dt.timedelta(minutes=self.board.duration_minutes) < timezone.now()


class Presentation(models.TextChoices):
    PROSPECTIVE = "prospective", "Prospective (treatment not yet decided)"
    RETROSPECTIVE = "retrospective", "Retrospective (treatment under way or done)"


class CaseState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    SCHEDULED = "scheduled", "On an agenda"
    DISCUSSED = "discussed", "Discussed"
    FINALISED = "finalised", "Recommendation sent"
    WITHDRAWN = "withdrawn", "Withdrawn"


# What a board requires before a case can be presented: key, label, what satisfies it.
CHECKLIST = [
    ("pathology", "Pathology report"),
    ("staging_imaging", "Staging imaging"),
    ("ecog", "ECOG performance status"),
]
# Entries a case may carry.
CARRIED_KINDS = ["pathology_report", "imaging_report", "lab_result", "cancer_diagnosis", "treatment", "consult_note"]


class Case(models.Model):
    """A patient submitted to a board by an organization that cares for them."""

    # Not stored: set by portal.boards.selectors for the person reading the case.
    via: str | None  # how they read it: SUBMITTER, COORDINATOR or MEMBER
    carried: list[RegistryEntry]  # the entries it carries that they may see

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="cases")
    patient = models.ForeignKey("patients.NetworkPatient", on_delete=models.PROTECT, related_name="board_cases")
    submitting_organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    question = models.TextField()
    presentation = models.CharField(max_length=15, choices=Presentation.choices)
    entries = models.ManyToManyField("patients.RegistryEntry", blank=True, related_name="board_cases")
    # {"pathology": true, "staging_imaging": false, "ecog": true}, from the carried entries.
    checklist = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=CaseState.choices, default=CaseState.SUBMITTED)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    position = models.PositiveIntegerField(default=0)
    relationship = models.ForeignKey(
        "patients.CareRelationship", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    discussed_at = models.DateTimeField(null=True, blank=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["meeting", "position"]), models.Index(fields=["board", "state"])]

    def __str__(self) -> str:
        return f"Case {self.uuid}"

    @property
    def missing(self) -> list[str]:
        return [label for key, label in CHECKLIST if not self.checklist.get(key)]

    @property
    def is_ready(self) -> bool:
        return not self.missing


class Category(models.TextChoices):
    SURGERY = "surgery", "Surgery"
    SYSTEMIC = "systemic_therapy", "Systemic therapy"
    RADIATION = "radiation", "Radiation"
    SURVEILLANCE = "surveillance", "Surveillance"
    WORKUP = "further_workup", "Further work-up"
    PALLIATIVE = "palliative_care", "Palliative care"


class Evidence(models.TextChoices):
    CAT_1 = "1", "NCCN category 1"
    CAT_2A = "2A", "NCCN category 2A"
    CAT_2B = "2B", "NCCN category 2B"
    CAT_3 = "3", "NCCN category 3"


class FollowUp(models.TextChoices):
    FOLLOWED = "followed", "Followed"
    CHANGED = "changed", "Changed"
    DECLINED = "declined", "Declined by the patient"


class Recommendation(models.Model):
    """What the board recommends for one case; finalised once into a published record entry."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="recommendation")
    text = models.TextField()
    category = models.CharField(max_length=20, choices=Category.choices)
    evidence = models.CharField(max_length=2, choices=Evidence.choices)
    trial = models.CharField(max_length=200, blank=True, help_text="The clinical trial considered, if one is")
    no_trial_suitable = models.BooleanField(default=False)
    genetic_counselling = models.BooleanField(default=False)
    dissent = models.TextField(blank=True)
    quorum_met = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entry = models.ForeignKey(
        "patients.RegistryEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    thread = models.ForeignKey("messaging.Thread", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    followup = models.CharField(max_length=10, choices=FollowUp.choices, blank=True)
    followup_reason = models.TextField(blank=True)
    followup_at = models.DateTimeField(null=True, blank=True)
    followup_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Recommendation for {self.case_id}"

    @property
    def trial_label(self) -> str:
        return self.trial if self.trial else ("None suitable" if self.no_trial_suitable else "—")


class Attendance(models.Model):
    """Who was in the room (or on the call), with the specialty they covered."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    specialty = models.CharField(max_length=30, choices=Specialty.choices)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["specialty", "pk"]
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="one_attendance_per_person")]

    def __str__(self) -> str:
        return f"{self.user_id} at {self.meeting_id}"
