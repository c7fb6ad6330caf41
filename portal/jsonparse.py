"""JSON bodies parsed with limits: hostile JSON is a clear ``ParseError`` (a 400), never a
500 — the API's parser (``portal.api.parsers``) and the FHIR import read through here.

``json`` lets ``RecursionError`` out (a body nested 100,000 deep), turns ``1e999`` into
infinity and hands over integers of thousands of digits. This refuses, each with a plain
reason: nesting deeper than ``MAX_DEPTH``, ``NaN`` and ``Infinity`` literals, numbers that
overflow (integers beyond 64 bits, floats beyond double precision) and bytes that are not
text in the encoding."""

from __future__ import annotations

import json
import math
from typing import Any

from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
MAX_INT = 2**63 - 1


def _refuse_constant(name: str) -> Any:
    raise ParseError(f"JSON parse error - {name} is not a number this API accepts.")


def _bounded_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > 19 or abs(int(text)) > MAX_INT:
        raise ParseError("JSON parse error - a number in the body is too large.")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError("JSON parse error - a number in the body is too large.")
    return value


def depth_exceeds(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_parse(raw: bytes, *, encoding: str = "utf-8") -> Any:
    """Parse a JSON body, or raise ``ParseError`` (400) with the reason."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise ParseError(f"JSON parse error - the body is not valid {encoding} text.")
    too_deep = ParseError(f"JSON parse error - lists and objects nest deeper than {MAX_DEPTH} levels.")
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except RecursionError:
        raise too_deep
    except ValueError as error:
        raise ParseError(f"JSON parse error - {error}")
    if depth_exceeds(data):
        raise too_deep
    return data
