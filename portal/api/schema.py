"""The OpenAPI schema's one error shape, for the endpoints' own ``extend_schema``
declarations: ``responses={200: ThingOut, **errors(400, 404)}``."""

from __future__ import annotations

from rest_framework import serializers


class ErrorOut(serializers.Serializer):
    """Every error of the API: a sentence, and the reasons per field (may be empty)."""

    detail = serializers.CharField()
    # A declared field leaves the class (DRF moves it to _declared_fields): Serializer.errors stays.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, not Serializer.errors


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """``responses={200: X, **errors(400, 404)}``."""
    return {code: ErrorOut for code in codes}


# Answers every operation may give, whatever it declares itself: the request is not valid
# (400), not signed in or not allowed (403), the object is missing or not the user's to
# see (404, one answer for both), a method the route does not take (405), a body of
# another media type (415). All are the one error shape.
DEFAULT_ERROR_CODES = ("400", "403", "404", "405", "415")


def default_error_responses(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular post-processing hook: declare the API's error answers on every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "ErrorOut",
        {
            "type": "object",
            "properties": {
                "detail": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["detail", "errors"],
        },
    )
    error = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        "description": "An error: a sentence, and the reasons per field (may be empty).",
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code in DEFAULT_ERROR_CODES:
                operation["responses"].setdefault(code, error)
    return result
