"""Who asks at ``/fhir/R4/``, and what a backend client's scopes let through.

``fhir_view`` asks ``bearer_refusal`` first: a request with ``Authorization: Bearer`` is a
client's (its token checked by ``auth``), anything else is the portal's session (with its
CSRF token on a POST: ``csrf_refusal``). For a client, the interaction must be one that
``VIEW_INTERACTIONS`` opens to clients and its scopes must allow it on the resource type,
before anything is looked up, so the refusal (403) says nothing about any patient. The
organization's access rule is asked afterwards as for everyone (forbidden and missing: 404).

Scope refusals and 404s:
- a type the scopes do not allow (``Condition`` read or searched with
  ``system/Observation.rs``): 403 OperationOutcome ``forbidden``, decided from the type
  alone;
- ``Patient/$everything``: only the types the scopes allow to read (403 when none);
- ``_include``/``_revinclude``: included resources of a type the scopes do not allow to read
  are left out;
- ``AuditEvent`` (site admins only): 404 for every client;
- a view not listed in ``VIEW_INTERACTIONS`` refuses clients (403) until it is listed (a
  view that checks scopes itself is listed with ``None`` and calls ``scopes.allows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditOutcome
from portal.audit.services import audit_record
from portal.fhir.clients.auth import bearer_token, principal_for_token
from portal.fhir.errors import NOT_FOUND, outcome_response
from portal.fhir.scopes import ClientPrincipal, principal_attach, request_principal

# View name → the interaction its resource type needs (None: the view checks itself).
VIEW_INTERACTIONS: dict[str, str | None] = {
    "read": "read",
    "vread": "vread",
    "history": "history",
    "search_type": "search",
    "everything": None,  # the types it returns are narrowed by ``types_for_client``
    # Bulk export: the job is narrowed to the types the scopes let the client read
    # (``portal.fhir.bulk.views.export_principal``); its status and files answer only it.
    "export_patients": None,
    "export_group": None,
    "export_status": None,
    "export_file": None,
    # POST /fhir/R4/ (a transaction or batch Bundle): each entry's type is checked against the
    # create and update scopes by the import (``portal.fhir.importing``); GET answers 400.
    "root": None,
}


class ScopeRefused(Exception):
    """Raised by a view when a client's scopes leave nothing to answer (a 403)."""


def principal_of(request: HttpRequest) -> ClientPrincipal | None:
    return request_principal(request)


def actor(request: HttpRequest) -> User | ClientPrincipal:
    """Who asks: the client's principal, or the person signed in (``fhir_view`` has answered
    401 to anyone else; a 404 here should that ever change)."""
    principal = principal_of(request)
    if principal is not None:
        return principal
    if not isinstance(request.user, User):
        raise Http404("Not signed in")
    return request.user


def _outcome(status: int, diagnostics: str, code: str) -> HttpResponse:
    return outcome_response(status, diagnostics, code)


def bearer_refusal(request: HttpRequest, view_name: str, kwargs: Mapping[str, Any]) -> HttpResponse | None:
    """For a bearer request: the 401 or 403 to answer, or None after attaching the client's
    principal to the request (``principal_of``). None for any other request."""
    token = bearer_token(request)
    if token is None:
        return None
    principal = principal_for_token(request=request, token=token)
    if principal is None:
        response = _outcome(
            401,
            "The access token is not valid here: unknown, expired, revoked, or issued at another address.",
            "login",
        )
        response["WWW-Authenticate"] = 'Bearer realm="fhir", error="invalid_token"'
        return response
    principal_attach(request, principal)
    if view_name not in VIEW_INTERACTIONS:
        return _outcome(403, "This interaction is not open to API clients.", "forbidden")
    resource_type = kwargs.get("resource_type")
    if resource_type == "AuditEvent":
        return _outcome(404, NOT_FOUND, "not-found")
    interaction = VIEW_INTERACTIONS[view_name]
    if interaction is not None and resource_type and not principal.scopes.allows(resource_type, interaction):
        return _outcome(
            403, f"The client's scopes ({principal.scopes}) do not allow {interaction} of {resource_type}.", "forbidden"
        )
    return None


def csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """The portal session's CSRF check (the views are exempt from the middleware's own, so a
    bearer request needs no token): the failure page, or None."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return None
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    return check.process_view(request, lambda _request: HttpResponse(), (), {})


def readable(request: HttpRequest, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources whose type the client's scopes allow to read (all of them for a person)."""
    principal = principal_of(request)
    if principal is None:
        return resources
    return [r for r in resources if principal.scopes.allows(r["resourceType"], "read")]


def types_for_client(request: HttpRequest, types: set[str] | None, every_type: Iterable[str]) -> set[str] | None:
    """``_type`` of ``$everything`` narrowed to what the client may read (unchanged for a
    person); ``ScopeRefused`` when nothing is left."""
    principal = principal_of(request)
    if principal is None:
        return types
    allowed = principal.scopes.types_allowed(every_type, "read")
    narrowed = allowed if types is None else types & allowed
    if not narrowed:
        raise ScopeRefused(f"The client's scopes ({principal.scopes}) allow reading none of the types asked for.")
    return narrowed


def client_denied_record(request: HttpRequest) -> None:
    """A client's request answered 404 goes to the access log as a refused read (as a
    person's does through ``DeniedReadAuditMiddleware``)."""
    principal = principal_of(request)
    match = getattr(request, "resolver_match", None)
    if principal is None or match is None:
        return
    ids = {name: str(value)[:64] for name, value in match.kwargs.items()}
    audit_record(
        action=AuditAction.READ,
        actor=principal,
        organization=principal.organization,
        request=request,
        outcome=AuditOutcome.DENIED,
        object_type=(match.view_name or "fhir")[:60],
        object_id=next(iter(ids.values()), ""),
        detail={"route": match.route[:200], "ids": ids, "method": request.method, "client": principal.client.client_id},
    )
