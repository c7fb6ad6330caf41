"""Every error under /api/ is JSON: ``{"detail": "...", "errors": {...}}`` with its status.

DRF's exception handler (``portal.api.exceptions``) shapes the errors of the API's views;
this middleware shapes all the others — an unknown route (Django's 404 page), a method a
route does not take, an address that is no organization, a server error — whichever
URLconf (the network's or an organization's) answered. It is the outermost middleware, so
it sees the responses of every other one but the header middlewares (portal/headers.py), which
wrap it so its answers carry the security headers too. Under /fhir/ it gives the FHIR
endpoint's error shape instead, an OperationOutcome (``portal.fhir.errors``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from portal.fhir.errors import FHIR_PREFIX, fhir_error_response

API_PREFIX = "/api/"

DETAILS = {
    400: "The request is not valid.",
    403: "Not allowed.",
    404: "Not found: there is no such route or object in the API.",
    405: "This route does not take that method.",
    500: "Something went wrong on our side; nothing was changed by this request.",
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


def _detail(status: int) -> str:
    if status in DETAILS:
        return DETAILS[status]
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "The request failed."


def _shaped(body: Any, status: int) -> dict[str, Any] | None:
    """The body in the API's error shape; None when it already is."""
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str) and isinstance(body.get("errors"), dict):
            return None
        if "detail" in body:
            return {**body, "detail": str(body["detail"]), "errors": body.get("errors") or {}}
        return {"detail": _detail(status), "errors": body}
    if isinstance(body, list):
        return {"detail": _detail(status), "errors": {"non_field_errors": body}}
    return {"detail": _detail(status), "errors": {}}


def api_error_response(response: HttpResponse) -> HttpResponse:
    status = response.status_code
    body: Any = None
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(response.content or b"null")
        except ValueError:
            body = None
    shaped = _shaped(body, status)
    if shaped is None:
        return response
    replacement = JsonResponse(shaped, status=status)
    for header in KEPT_HEADERS:
        if header in response:
            replacement[header] = response[header]
    replacement.cookies = response.cookies
    return replacement


class APIErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 400 and not response.streaming and request.path_info.startswith(FHIR_PREFIX):
            return fhir_error_response(response)
        if response.status_code < 400 or response.streaming or not request.path_info.startswith(API_PREFIX):
            return response
        return api_error_response(response)
