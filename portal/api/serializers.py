"""Input serializers of the API: one rule for fields a request should not carry.

A request body with a field the endpoint does not take is refused (400, the field named),
everywhere the same way: a misspelt field is a client's bug that silently ignoring would
hide (``"urgnet": true`` sending a routine message), and a field the API does not declare
must never reach a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["This endpoint does not take this field."] for key in unknown})
        return super().to_internal_value(data)
