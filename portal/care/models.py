"""Closing the loop: referrals between organizations, care tasks with their occurrences,
hand-offs (survivorship care plans, discharges), and the escalations of overdue steps.

All of it lives in the public schema: each object concerns two organizations.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ReferralState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Closed with outcome"
    CANCEL_REQUESTED = "cancel_requested", "Cancellation requested"
    CANCELLED = "cancelled", "Cancelled"


OPEN_REFERRAL_STATES = frozenset(
    {
        ReferralState.REQUESTED,
        ReferralState.RECEIVED,
        ReferralState.ACCEPTED,
        ReferralState.SCHEDULED,
        ReferralState.CANCEL_REQUESTED,
    }
)


class Priority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"


CHECKLIST_ITEMS = [
    ("pathology", "Pathology report"),
    ("imaging", "Imaging"),
    ("insurance", "Insurance authorization"),
]


class Referral(models.Model):
    """A request from one organization to another to see a patient, until its outcome returns."""

    age_days: int  # not stored: set by the lists that show how long it has waited

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.NetworkPatient", on_delete=models.PROTECT, related_name="referrals")
    referring_organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="referrals_sent"
    )
    receiving_organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="referrals_received"
    )
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    specialty = models.CharField(max_length=100, help_text="What the patient is referred for")
    reason = models.TextField(blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    state = models.CharField(max_length=20, choices=ReferralState.choices, default=ReferralState.REQUESTED)
    state_before_cancel = models.CharField(max_length=20, choices=ReferralState.choices, blank=True)
    # What the receiver needs: {"pathology": true, "imaging": false, ...}
    checklist = models.JSONField(default=dict, blank=True)
    attachments = models.ManyToManyField("patients.RegistryEntry", blank=True, related_name="referrals")
    decline_reason = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    appointment_at = models.DateTimeField(null=True, blank=True)
    outcome_entry = models.ForeignKey(
        "patients.RegistryEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    relationship = models.ForeignKey(
        "patients.CareRelationship", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    received_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["receiving_organization", "state"]),
            models.Index(fields=["referring_organization", "state"]),
        ]
        constraints = [
            # A consult report is the outcome of one referral only.
            models.UniqueConstraint(
                fields=["outcome_entry"], condition=Q(outcome_entry__isnull=False), name="one_referral_per_outcome"
            )
        ]

    def __str__(self) -> str:
        return f"Referral {self.uuid} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REFERRAL_STATES


class ReferralEvent(models.Model):
    """One step of a referral: what happened, who did it, for which side, when."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=30)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    # Not a column: the step in words, set by selectors.referral_history for the pages and the API.
    label: str

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"


class ReferralNote(models.Model):
    """An interim note from the receiver while the referral is under way (any number)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note on {self.referral_id}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class CareTask(models.Model):
    """Something another organization does for a patient (for example a CBC twice a week),
    done only when each occurrence's result is on the shared record."""

    stats: Mapping[str, Any]  # not stored: its occurrences counted by state, set by the task list

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.NetworkPatient", on_delete=models.PROTECT, related_name="care_tasks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    creating_organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="care_tasks_created"
    )
    owner_organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="care_tasks_owned"
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    result_kind = models.CharField(max_length=40, default="lab_result")
    code = models.CharField(max_length=64, blank=True, help_text="LOINC code of the expected result")
    instructions = models.TextField(blank=True)
    recurrence = models.CharField(max_length=200, blank=True, help_text="An RFC 5545 RRULE, empty for once")
    # What a result must carry to answer the task: analyte keys of ``portal.care.panels``
    # (e.g. ["wbc", "hgb", "plt", "neutrophils"] for a CBC with ANC); empty: read from the
    # code, title and instructions.
    analytes = models.JSONField(default=list, blank=True)
    # Where the first occurrence's window opens (a result collected before does not answer it).
    starts_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Task {self.uuid}"


# A result collected up to this long after an occurrence's due time still answers it.
OCCURRENCE_GRACE_DAYS = 1


class TaskOccurrence(models.Model):
    """One time a task is due. Its window: from the previous occurrence's due time (the task's
    start for the first) to its own due time plus the grace period; only a result collected
    in it answers it."""

    task = models.ForeignKey(CareTask, on_delete=models.CASCADE, related_name="occurrences")
    due_at = models.DateTimeField(db_index=True)
    # The result that closed it (a panel's own entry, or the first of its analytes); all its
    # entries are in ``result_entries``.
    result_entry = models.ForeignKey(
        "patients.RegistryEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    result_entries = models.ManyToManyField(
        "patients.RegistryEntry", through="OccurrenceResult", blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "pk"]

    def __str__(self) -> str:
        return f"Occurrence {self.pk} due {self.due_at:%Y-%m-%d}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()

    @property
    def due_state(self) -> str:
        """For display: "done", "overdue" (its time has passed), "due_today" or "upcoming"."""
        if self.done_at is not None:
            return "done"
        if self.due_at < timezone.now():
            return "overdue"
        if timezone.localdate(self.due_at) == timezone.localdate():
            return "due_today"
        return "upcoming"


class OccurrenceResult(models.Model):
    """An entry of the result that closed an occurrence: an entry closes one occurrence at most."""

    occurrence = models.ForeignKey(TaskOccurrence, on_delete=models.CASCADE, related_name="result_links")
    entry = models.ForeignKey("patients.RegistryEntry", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry"], name="one_occurrence_per_result")]

    def __str__(self) -> str:
        return f"Entry {self.entry_id} closes occurrence {self.occurrence_id}"


class HandoffKind(models.TextChoices):
    SURVIVORSHIP = "survivorship", "Survivorship care plan"
    DISCHARGE = "discharge", "Discharge hand-off"


class Responsible(models.TextChoices):
    ONCOLOGY = "oncology", "Oncology"
    PRIMARY_CARE = "primary_care", "Primary care"


HANDOFF_SECTIONS = [
    ("follow_up", "Follow-up schedule"),
    ("surveillance", "Surveillance tests"),
    ("late_effects", "Late effects to watch"),
    ("symptoms", "Symptoms to report"),
]


class Handoff(models.Model):
    """A plan sent from one organization to another's clinician, done when acknowledged."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=HandoffKind.choices, default=HandoffKind.SURVIVORSHIP)
    patient = models.ForeignKey("patients.NetworkPatient", on_delete=models.PROTECT, related_name="handoffs")
    from_organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    to_organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    treatment_summary = models.TextField()
    # [{"section": "surveillance", "text": "...", "responsible": "oncology"}, ...]
    items = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"Hand-off {self.uuid}"


class Escalation(models.Model):
    """An overdue step, escalated once per level (1: the owner, 2: the navigators)."""

    object_type = models.CharField(max_length=20)  # referral, occurrence, handoff
    object_id = models.BigIntegerField()
    level = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=100)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    recipient_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id", "level"], name="one_escalation_per_level")
        ]

    def __str__(self) -> str:
        return f"Escalation {self.object_type}:{self.object_id} level {self.level}"
