"""Every error under ``/fhir/`` is an OperationOutcome (``application/fhir+json``).

The endpoint's own views answer their errors so; ``portal.api.middleware`` (the outermost
middleware) reshapes every other error answered under ``/fhir/`` — an unknown route, a
method a route does not take, a refused CSRF token, a server error — with ``fhir_error_response``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

from portal.fhir.codes import CONTENT_TYPE

FHIR_PREFIX = "/fhir/"
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    415: "not-supported",
}
DIAGNOSTICS = {
    403: "Not allowed (sign in at this organization's address; writes need the session's CSRF token).",
    404: "Not found: there is no such route or resource.",
    405: "This route does not take that method.",
    500: "Something went wrong on our side; nothing was changed by this request.",
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary", "ETag")
# Set on the token endpoint's answers: its errors are OAuth's JSON (RFC 6749), kept as they are.
OAUTH_ANSWER = "oauth_answer"


def outcome_json(status: int, diagnostics: str, code: str | None = None) -> HttpResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": code or ISSUE_CODES.get(status, "exception" if status >= 500 else "processing"),
                "diagnostics": diagnostics,
            }
        ],
    }
    return HttpResponse(json.dumps(body), status=status, content_type=f"{CONTENT_TYPE}; charset=utf-8")


def fhir_error_response(response: HttpResponse) -> HttpResponse:
    if response.get("Content-Type", "").startswith(CONTENT_TYPE) or getattr(response, OAUTH_ANSWER, False):
        return response
    status = response.status_code
    try:
        diagnostics = DIAGNOSTICS.get(status) or f"{HTTPStatus(status).phrase}."
    except ValueError:
        diagnostics = "The request failed."
    replacement = outcome_json(status, diagnostics)
    for header in KEPT_HEADERS:
        if header in response:
            replacement[header] = response[header]
    replacement.cookies = response.cookies
    return replacement


NOT_FOUND = "Not found: there is no such resource, or it is not yours to see."


def fhir_response(body: dict[str, Any] | bytes, status: int = 200) -> HttpResponse:
    """A FHIR JSON answer (``application/fhir+json``)."""
    from portal.fhir.render import dumps

    return HttpResponse(
        body if isinstance(body, bytes) else dumps(body),
        status=status,
        content_type=f"{CONTENT_TYPE}; charset=utf-8",
    )


def outcome_response(status: int, diagnostics: str, code: str = "processing") -> HttpResponse:
    """An OperationOutcome answer of the endpoint's own (``fhir+json``, the given status)."""
    from portal.fhir import mapping as m

    return fhir_response(m.operation_outcome(diagnostics, code=code), status=status)
