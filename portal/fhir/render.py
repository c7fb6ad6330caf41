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

from portal.fhir.cache import Resource, encoded
from portal.fhir.mapping import instant

DIRECTORY_REFERENCE = re.compile(rb'"reference":"((?:Organization|Practitioner)/[A-Za-z0-9\-.]{1,64})"')


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def _entry(pieces: list[bytes], resource: dict[str, Any], mode: bytes, base: bytes) -> None:
    """Append one Bundle entry's JSON to ``pieces`` (joined once at the end)."""
    if pieces:
        pieces.append(b",")
    pieces += (
        b'{"fullUrl":"',
        base,
        orjson.dumps(f"{resource['resourceType']}/{resource['id']}")[1:-1],
        b'","resource":',
        encoded(resource),
        mode,
    )


def _references(resource: dict[str, Any]) -> frozenset[bytes]:
    """The ``Organization/…`` and ``Practitioner/…`` references in the resource's JSON
    (remembered for a ``Resource``)."""
    if isinstance(resource, Resource):
        if resource.references is None:
            resource.references = frozenset(DIRECTORY_REFERENCE.findall(encoded(resource)))
        return resource.references
    return frozenset(DIRECTORY_REFERENCE.findall(encoded(resource)))


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
    searchset = kind == "searchset"
    mode_match = b',"search":{"mode":"match"}}' if searchset else b"}"
    mode_include = b',"search":{"mode":"include"}}' if searchset else b"}"
    base_bytes = orjson.dumps(base)[1:-1]
    pieces: list[bytes] = []
    for resource in matches:
        _entry(pieces, resource, mode_match, base_bytes)
    for resource in includes:
        _entry(pieces, resource, mode_include, base_bytes)
    if directory is not None:
        found: set[bytes] = set()
        for resource in (*matches, *includes):
            found |= _references(resource)
        for resource in directory({reference.decode() for reference in found}):
            _entry(pieces, resource, mode_include, base_bytes)
    return orjson.dumps(head)[:-1] + b',"entry":[' + b"".join(pieces) + b"]}"


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
