"""The append-only audit log. The database itself refuses UPDATE and DELETE on it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    SEARCH = "search", "Search"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    PUBLISH = "publish", "Publish"
    GRANT = "grant", "Grant"
    REVOKE = "revoke", "Revoke"
    BREAK_GLASS = "break_glass", "Emergency access"
    EXPORT = "export", "Export"
    SIGN_IN = "sign_in", "Sign-in"
    SIGN_IN_REFUSED = "sign_in_refused", "Sign-in refused"
    ADMIN = "admin", "Administration"


class AuditOutcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"


class AuditEvent(models.Model):
    """Who did what, to which patient and whose data, when, from where, with what outcome."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True, help_text="Email at the time, kept if the user goes.")
    acting_organization = models.ForeignKey(
        "tenants.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.ALLOWED)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.NetworkPatient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data_owner = models.ForeignKey(
        "tenants.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose data was touched.",
    )
    emergency = models.BooleanField(default=False, help_text="Under a break-the-glass grant.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Never clinical content.")

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["data_owner", "-occurred_at"]),
            models.Index(fields=["patient", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"
