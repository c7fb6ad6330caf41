"""The API's JSON parser: hostile JSON is a 400 in the API's error shape, never a 500.

DRF's own parser lets ``RecursionError`` out of ``json`` (a body nested 100,000 deep), turns
``1e999`` into infinity and hands integers of thousands of digits to the views. This one
refuses, each with a plain reason: nesting deeper than ``MAX_DEPTH``, ``NaN`` and
``Infinity`` literals, numbers that overflow (integers beyond 64 bits, floats beyond
double precision) and bytes that are not UTF-8. The body's size is bounded by Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` before it is parsed (413, ``portal.api.exceptions``)."""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]  # newer than the DRF stubs

from portal.jsonparse import MAX_DEPTH, MAX_INT, depth_exceeds, json_parse

__all__ = ["MAX_DEPTH", "MAX_INT", "SafeJSONParser", "depth_exceeds", "json_parse"]


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return json_parse(stream.read(), encoding=get_encoding(parser_context or {}))
