"""One error shape for the API: {"detail": ..., "errors": {...}}; never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def flat_errors(errors: Any) -> dict[str, list[str]]:
    """``{"field": ["reason", ...]}`` at one level, keyed by the request's own top-level
    fields: the errors of a list's items or of a nested object stay under their field, each
    message saying where (``"item 2, user_id: This field is required."``), as the schema
    declares."""
    if isinstance(errors, dict):
        return {str(key): _messages(value) for key, value in errors.items()}
    return {"non_field_errors": _messages(errors)}


def _messages(value: Any, where: str = "") -> list[str]:
    if isinstance(value, dict):
        found: list[str] = []
        for key, inner in value.items():
            place = "" if key == "non_field_errors" else str(key)
            found += _messages(inner, ", ".join(part for part in (where, place) if part))
        return found
    if isinstance(value, list):
        found = []
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                found += _messages(item, ", ".join(part for part in (where, f"item {index + 1}") if part))
            elif item:
                found.append(f"{where}: {item}" if where else str(item))
        return found
    return [f"{where}: {value}" if where else str(value)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is larger than {limit:,} bytes; nothing was changed."
        return Response({"detail": detail, "errors": {}}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent):
        return Response({"detail": "The request has too many fields.", "errors": {}}, status=400)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"detail": "The request is not valid.", "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"detail": str(exc) or "Not allowed.", "errors": {}}, status=status.HTTP_403_FORBIDDEN)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": "The request is not valid.", "errors": flat_errors(response.data)}
    elif isinstance(response.data, dict):
        response.data = {**response.data, "detail": str(response.data["detail"])}
        response.data.setdefault("errors", {})
    elif isinstance(response.data, list):
        response.data = {"detail": "The request is not valid.", "errors": {"non_field_errors": response.data}}
    return response
