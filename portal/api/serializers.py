"""Input serializers of the API: one base, two rules for what a request carries.

- A request body with a field the endpoint does not take is refused (400, the field named),
  everywhere the same way: a misspelt field is a client's bug that silently ignoring would
  hide (``"urgnet": true`` sending a routine message), and a field the API does not declare
  must never reach a service.
- Text passes through ``portal.text.text_clean`` before the fields check it, as in the page
  forms (``portal.forms``), so text of invisible characters only is blank (400) and direction
  controls never reach the database. Every serializer that takes input derives from
  ``InputSerializer``; a test checks it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from portal.forms import data_with_clean_text


def _text_keys(fields: Mapping[str, serializers.Field]) -> list[str]:
    return [
        name
        for name, field in fields.items()
        if isinstance(field, serializers.CharField) and field.trim_whitespace and not field.read_only
    ]


class InputSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["This endpoint does not take this field."] for key in unknown})
            data = data_with_clean_text(data, _text_keys(self.fields))
        return super().to_internal_value(data)


class PageOut(serializers.Serializer):
    """The envelope of a paged list (``portal.api.pagination``): each list's own serializer
    derives from it and adds its ``results`` (and anything else the list answers with)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
