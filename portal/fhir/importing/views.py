"""``POST /fhir/R4/``: a transaction or batch Bundle from the portal's signed-in session (cookie
and CSRF token, as for searches), or from an API client's bearer token: the client imports for
the clinician its site admin named (``ApiClient.import_as``), narrowed by its scopes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from portal.accounts.models import User
from portal.accounts.typing import TenantRequest
from portal.fhir.clients.access import principal_of
from portal.fhir.codes import CONTENT_TYPE
from portal.fhir.importing.parse import ImportFailure, body_parse
from portal.fhir.importing.services import bundle_import
from portal.fhir.render import dumps

ACCEPTED_TYPES = (CONTENT_TYPE, "application/json")
PREFIX = "/fhir/R4/"


def _answer(body: dict[str, object], status: int) -> HttpResponse:
    return HttpResponse(dumps(body), status=status, content_type=f"{CONTENT_TYPE}; charset=utf-8")


def failure_response(failure: ImportFailure) -> HttpResponse:
    return _answer({"resourceType": "OperationOutcome", "issue": [failure.issue()]}, failure.status)


def read_body(request: HttpRequest) -> bytes:
    content_type = request.content_type or ""
    if content_type not in ACCEPTED_TYPES:
        raise ImportFailure(
            415, f"Send the Bundle as {CONTENT_TYPE} (the body was {content_type or 'untyped'}).", code="not-supported"
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ImportFailure(400, "Content-Length is not a number.", code="structure")
    limit = settings.FHIR_IMPORT_MAX_BYTES
    if length > limit:
        raise ImportFailure(413, f"The body is larger than {limit:,} bytes.", code="too-long")
    return request.read(limit + 1)


def bundle_post(request: TenantRequest) -> HttpResponse:
    """Import the Bundle; the transaction-response or batch-response Bundle, or an
    OperationOutcome with the status of what failed (a transaction leaves nothing then)."""
    principal = principal_of(request)
    try:
        if principal is not None and not any(set(scope.letters) & set("cu") for scope in principal.scopes.scopes):
            raise ImportFailure(
                403,
                f"The client's scopes ({principal.scopes}) allow no writes: an import needs create or "
                "update scopes (system/Observation.cu, system/*.write).",
                code="forbidden",
            )
        bundle = body_parse(read_body(request))
        if principal is not None:
            result = bundle_import(
                organization=request.tenant,
                principal=principal,
                bundle=bundle,
                base=request.build_absolute_uri(PREFIX),
                request=request,
            )
        else:
            if not isinstance(request.user, User):
                raise PermissionDenied("Sign in at this organization's address.")
            result = bundle_import(
                organization=request.tenant,
                user=request.user,
                bundle=bundle,
                base=request.build_absolute_uri(PREFIX),
                request=request,
            )
    except ImportFailure as failure:
        return failure_response(failure)
    except PermissionDenied as error:
        return failure_response(ImportFailure(403, str(error) or "Not allowed.", code="forbidden"))
    return _answer(result.bundle, 200)
