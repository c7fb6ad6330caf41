"""API clients of the FHIR endpoint (SMART Backend Services), in the network's schema.

A client belongs to one organization and acts for it: a partner's system registered by a
site admin with its public keys (a JWKS) and the SMART scopes it may ask for. It obtains
short-lived access tokens at its organization's token endpoint with a signed JWT
assertion; each assertion's ``jti`` is kept until it expires so it is never taken twice;
tokens are stored as their SHA-256 only.
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
    jwks = models.JSONField(help_text="The client's public keys (a JSON Web Key Set).")
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
