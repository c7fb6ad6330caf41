"""In-app notifications. They never carry clinical details: a title that says what is
waiting, and a link into the portal."""

from __future__ import annotations

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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title
