"""Bearer tokens at ``/fhir/R4/``: the path next to the portal's session.

A request that carries ``Authorization: Bearer …`` is a backend client's, whatever cookie it
also carries: the token is looked up by its SHA-256, must not have expired, its client must
not be revoked, and it works only at the organization that issued it (another
organization's address answers 401, as an unknown token does).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from portal.fhir.clients.services import token_hash
from portal.fhir.models import AccessToken
from portal.fhir.scopes import ClientPrincipal, ScopeError, ScopeSet


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header ("" when the header is malformed),
    or None when the request has no such header."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value if value and " " not in value and len(value) <= 200 else ""


def principal_for_token(*, request: HttpRequest, token: str) -> ClientPrincipal | None:
    organization = getattr(request, "tenant", None)
    if not token or organization is None or organization.is_network or not organization.is_active:
        return None
    found = (
        AccessToken.objects.select_related("client", "client__organization")
        .filter(
            token_hash=token_hash(token),
            organization=organization,
            expires_at__gt=timezone.now(),
            client__revoked_at__isnull=True,
            client__organization=organization,
        )
        .first()
    )
    if found is None:
        return None
    try:
        scopes = ScopeSet.of(found.scopes)
    except ScopeError:  # stored by the token endpoint, which parsed them: never expected
        return None
    return ClientPrincipal(client=found.client, organization=organization, scopes=scopes)
