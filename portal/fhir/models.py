"""The FHIR endpoint's own rows, in the network's schema.

API clients (SMART Backend Services): a client belongs to one organization and acts for it,
a partner's system registered by a site admin with its public keys (a JWKS) and the SMART
scopes it may ask for. It obtains short-lived access tokens at its organization's token
endpoint with a signed JWT assertion; each assertion's ``jti`` is kept until it expires so
it is never taken twice; tokens are stored as their SHA-256 only.

Bulk export jobs (Bulk Data 2.0 ``$export``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ApiClient(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="api_clients")
    name = models.CharField(max_length=120)
    client_id = models.CharField(max_length=64, unique=True)
    jwks = models.JSONField(
        default=dict, blank=True, help_text="The client's public keys (a JSON Web Key Set), when pasted."
    )
    jwks_uri = models.URLField(
        max_length=500, blank=True, help_text="Where the client publishes its public keys (fetched and cached)."
    )
    scopes = models.TextField(help_text="SMART scopes the client may ask for, separated by spaces.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_clients_registered"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients_revoked",
    )
    last_token_at = models.DateTimeField(null=True, blank=True)
    import_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The clinician of the organization on whose behalf the client imports (its items' author).",
    )

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def label(self) -> str:
        """How the access log names the client (never a secret: the client id is public)."""
        return f"API client {self.name} ({self.client_id})"


class AssertionUse(models.Model):
    """A client assertion's ``jti``, kept until the assertion expires: a replay is refused
    by the unique constraint, in the database (no Redis on the request path)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="assertions")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="fhir_assertion_jti_once")]
        indexes = [models.Index(fields=["expires_at"])]


class AccessToken(models.Model):
    """An access token, kept as the SHA-256 of the opaque value handed to the client."""

    token_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    scopes = models.TextField()
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]


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
    type_filters = models.JSONField(
        default=dict,
        blank=True,
        help_text="_typeFilter: {type: [query, …]}; a resource of a type listed here is "
        "written when it matches one of its type's queries.",
    )
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
