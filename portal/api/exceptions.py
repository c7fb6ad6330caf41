"""One error shape for the API: {"detail": ..., "errors": {...}}; never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def flat_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"field": ["reason", ...]}`` at one level: the errors of a list's items or of a
    nested object get dotted keys (``participants.0.user_id``), as the schema declares."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            flat.update(flat_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        flat = {}
        for index, item in enumerate(errors):
            if isinstance(item, dict | list):
                flat.update(flat_errors(item, f"{prefix}.{index}" if prefix else str(index)))
            elif item:
                flat.setdefault(prefix or "non_field_errors", []).append(str(item))
        return flat
    if isinstance(errors, list):
        return {prefix or "non_field_errors": [str(item) for item in errors]}
    return {prefix or "non_field_errors": [str(errors)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
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
