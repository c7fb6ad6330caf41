"""The FHIR endpoint's own rows: bulk export jobs (Bulk Data 2.0 ``$export``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ExportJob(models.Model):
    """One ``$export`` request of an organization: who asked (a member's session or an API
    client), what (``Patient`` or the organization's ``Group``; ``_type``, ``_since``), how
    far the worker is, and the NDJSON files it wrote (under ``FHIR_EXPORT_ROOT``, one
    folder per organization schema and job). Files and row go ``FHIR_EXPORT_HOURS`` after
    the job ends."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    client_id = models.CharField(max_length=200, blank=True, help_text="An API client's id; blank for a session.")
    level = models.CharField(max_length=10, choices=[("patient", "Patient"), ("group", "Group")])
    types = models.JSONField(default=list, help_text="The resource types to export, in file order.")
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.ACCEPTED)
    entries_total = models.PositiveIntegerField(default=0)
    entries_done = models.PositiveIntegerField(default=0)
    patients_count = models.PositiveIntegerField(default=0)
    output = models.JSONField(default=list, help_text="[{type, file, count}] once completed.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"FHIR export {self.uuid} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (ExportStatus.ACCEPTED, ExportStatus.RUNNING)
