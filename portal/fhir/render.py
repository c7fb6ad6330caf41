"""Answers as bytes: FHIR JSON encoded with orjson (a read of a whole record is thousands
of resources; the standard library's encoder costs several times more), and a Bundle
assembled from its entries' encodings, so the Organizations and Practitioners its
resources reference are found in the encoded text rather than by walking every resource."""

from __future__ import annotations

import datetime as dt
import gc
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from portal.fhir.mapping import instant

DIRECTORY_REFERENCE = re.compile(rb'"reference":"((?:Organization|Practitioner)/[A-Za-z0-9\-.]{1,64})"')


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def _entry(resource: dict[str, Any], encoded: bytes, mode: str | None, base: str) -> bytes:
    full_url = orjson.dumps(f"{base}{resource['resourceType']}/{resource['id']}")
    search = b',"search":{"mode":"' + mode.encode() + b'"}' if mode else b""
    return b'{"fullUrl":' + full_url + b',"resource":' + encoded + search + b"}"


def bundle_bytes(
    *,
    kind: str,
    matches: list[dict[str, Any]],
    includes: list[dict[str, Any]],
    base: str,
    total: int | None = None,
    links: dict[str, str] | None = None,
    directory: Callable[[set[str]], list[dict[str, Any]]] | None = None,
) -> bytes:
    """A Bundle of ``matches`` (search mode match) and ``includes`` (include); ``directory``
    receives the ``Organization/…`` and ``Practitioner/…`` references of both and returns the
    resources to add as includes."""
    head: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(dt.datetime.now(dt.UTC))},
        "type": kind,
    }
    if total is not None:
        head["total"] = total
    if links:
        head["link"] = [{"relation": relation, "url": url} for relation, url in links.items()]
    mode_match = "match" if kind == "searchset" else None
    mode_include = "include" if kind == "searchset" else None
    parts = []
    for resource in matches:
        parts.append(_entry(resource, orjson.dumps(resource), mode_match, base))
    for resource in includes:
        parts.append(_entry(resource, orjson.dumps(resource), mode_include, base))
    if directory is not None:
        references = {match.decode() for part in parts for match in DIRECTORY_REFERENCE.findall(part)}
        for resource in directory(references):
            parts.append(_entry(resource, orjson.dumps(resource), mode_include, base))
    return orjson.dumps(head)[:-1] + b',"entry":[' + b",".join(parts) + b"]}"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Assembling a whole record makes a hundred thousand small dicts and lists that
    reference counting frees; the cyclic collector would walk the process's whole heap
    several times meanwhile (a third of the time of a large answer). Pause it for the
    assembly; it runs as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
