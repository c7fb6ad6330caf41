"""One error shape for the API: {"detail": ..., "errors": {...}}; never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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
        response.data = {"detail": "The request is not valid.", "errors": response.data}
    elif isinstance(response.data, dict):
        response.data = {**response.data, "detail": str(response.data["detail"])}
        response.data.setdefault("errors", {})
    elif isinstance(response.data, list):
        response.data = {"detail": "The request is not valid.", "errors": {"non_field_errors": response.data}}
    return response
