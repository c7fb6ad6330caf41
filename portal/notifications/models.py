"""In-app notifications, each person's choices, and the delivery outbox. They never carry
clinical details: a title that says what is waiting, and a link into the portal."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    organization = models.ForeignKey(
        "tenants.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The address the link opens at.",
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200, help_text="No patient names or clinical details.")
    link = models.CharField(max_length=300, blank=True, help_text="A path at the organization's address.")
    urgent = models.BooleanField(default=False)
    subject_type = models.CharField(
        max_length=30, blank=True, help_text='What it is about: "thread", "referral", "caretask", "handoff"…'
    )
    subject_id = models.UUIDField(null=True, blank=True, help_text="The UUID of what it is about.")
    subject_label = models.CharField(
        max_length=200, blank=True, help_text="In-app only, never emailed: the thread's subject, the specialty…"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Not columns: a group's figures and line, set by selectors.notification_lines for the
    # list, and where it opens (views._with_href).
    group_urgent: bool
    group_unread: bool
    line: str
    href: str

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["subject_type", "subject_id", "read_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class Kind(models.TextChoices):
    """Kinds a person may set a preference for; other kinds use the default."""

    MESSAGE = "message", "New secure messages"
    REFERRAL = "referral", "Referrals"
    CARE_TASK = "care_task", "Care tasks"
    HANDOFF = "handoff", "Hand-offs"
    TUMOR_BOARD = "tumor_board", "Tumor boards"


class Channel(models.TextChoices):
    IMMEDIATE = "immediate", "Email me right away"
    DIGEST = "digest", "One email a day (daily digest)"
    IN_APP = "in_app", "In the portal only (no email)"


class NotificationPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.channel}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One email owed for a notification (the outbox). Written with the notification;
    a task delivers it once; a periodic task re-sends what stays pending, or what stays
    "sending" past its lease (a worker that died while sending), unless it was handed over
    a moment ago. Its ``uuid`` names the email (its Message-ID), so an email sent again
    carries the same id."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, default="email")
    digest = models.BooleanField(default=False, help_text="Goes out with the daily digest.")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        db_index=True, help_text="When pending: when it is due. When sending: when the worker's lease on it ends."
    )
    handed_over_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a task carrying it was last queued for the worker (none: its hand-over failed).",
    )
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "digest", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} for notification {self.notification_id}: {self.status}"
