"""Secure messages between clinicians: threads, their participants (people or an
organization's care-team pool), messages, attachments and each reader's read state."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Thread(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.CharField(max_length=200)
    patient = models.ForeignKey(
        "patients.NetworkPatient", null=True, blank=True, on_delete=models.PROTECT, related_name="message_threads"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="+", help_text="Where it was started."
    )
    urgent = models.BooleanField(default=False, help_text="Some message of the thread is urgent.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_message_at"]

    def __str__(self) -> str:
        return self.subject


class Participant(models.Model):
    """A person at an organization, or (``user`` empty) that organization's care-team pool."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="participants")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "organization", "user"], name="one_participant_per_person", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["organization", "user"])]

    def __str__(self) -> str:
        return self.label

    @property
    def is_pool(self) -> bool:
        return self.user_id is None

    @property
    def label(self) -> str:
        if self.user is None:
            return f"{self.organization.name} — care team"
        return f"{self.user.display_name} ({self.organization.name})"


class Message(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sender_organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    urgent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    entries = models.ManyToManyField("patients.RegistryEntry", blank=True, related_name="+")
    # Not a column: the receipts of the others who read it, set by
    # portal.messaging.selectors.thread_messages for the page and the API.
    read_by: list[MessageReceipt]

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["thread", "created_at"])]

    def __str__(self) -> str:
        return f"Message {self.uuid}"


class Attachment(models.Model):
    """A file kept under its sender organization's media folder (``MEDIA_ROOT/<schema>/``)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=300, help_text="Relative to the organization's media folder.")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class ReadState(models.Model):
    """What one person has read of a thread, and whether they archived it."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    last_read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="one_read_state_per_reader")]
        indexes = [models.Index(fields=["user", "organization"])]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id} at {self.last_read_at}"


class MessageReceipt(models.Model):
    """When one reader first read one message (the sender's read receipts)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="one_receipt_per_reader")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.message_id}"
