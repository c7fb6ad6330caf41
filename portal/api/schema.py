"""The OpenAPI schema's one error shape, for the endpoints' own ``extend_schema``
declarations: ``responses={200: ThingOut, **errors(400, 404)}``."""

from __future__ import annotations

from rest_framework import serializers


class ErrorOut(serializers.Serializer):
    """Every error of the API: a sentence, and the reasons per field (may be empty)."""

    detail = serializers.CharField()
    # A declared field leaves the class (DRF moves it to _declared_fields): Serializer.errors stays.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """``responses={200: X, **errors(400, 404)}``."""
    return {code: ErrorOut for code in codes}
