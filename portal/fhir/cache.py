"""Entries already mapped to FHIR, remembered by each web process.

Mapping a published entry (reading its item's values from its owner's schema, building its
resources and its Provenance, encoding them) is most of what a large read costs: about
0.1 ms an entry, 1,000 entries for a ``$everything``. What an entry maps to changes only
with what the key names: a correction points the entry at a new item (and raises its
version), a withdrawal changes its status, and an item's values never change once it is
published. So the mapped resources are kept here, under a key of everything the mapping
reads besides those values (the patient, the entry and its item, their states, the owner
organization and its schema and name, the publisher); the names shown of the author and
the publisher are kept with them and checked against the people's names on every use.

What is kept decides nothing about access: a read still lists the entries the user may see
through the selectors, and only those are looked up here. A process keeps at most about
``FHIR_MAPPED_CACHE_MB`` of memory of them (least recently used out first: a patient of
1,000 entries takes about 24 MB); nothing is shared between processes or written anywhere,
and a restart (a deploy) starts empty.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

# What a mapped resource holds in memory (its dicts and lists, and its encoding) for each byte
# of its JSON: measured with tracemalloc on the FHIR benchmark's record (1,000 entries, 2.6 MB
# of JSON, 23.7 MB in memory).
MEMORY_PER_JSON_BYTE = 9


class Resource(dict[str, Any]):
    """A mapped resource, with its JSON encoding once it has been encoded. Resources kept
    here are shared by the requests of a process: nothing changes them after mapping."""

    __slots__ = ("encoded", "references")

    def __init__(self, resource: dict[str, Any]) -> None:
        super().__init__(resource)
        self.encoded: bytes | None = None
        self.references: frozenset[bytes] | None = None  # filled by ``render``


def encoded(resource: dict[str, Any]) -> bytes:
    """The resource's JSON (remembered for a ``Resource``)."""
    if isinstance(resource, Resource):
        if resource.encoded is None:
            resource.encoded = orjson.dumps(resource)
        return resource.encoded
    return orjson.dumps(resource)


@dataclass(frozen=True, slots=True)
class MappedEntry:
    """What one entry maps to: its resources (the main one first) and its Provenance, the
    names they show of its author and publisher (checked against the people's current names
    before use), and about how much memory it holds."""

    author_id: int | None
    author_name: str
    publisher_name: str
    resources: tuple[Resource, ...]
    provenance: Resource
    size: int


def mapped_entry(
    *,
    author_id: int | None,
    author_name: str,
    publisher_name: str,
    resources: list[dict[str, Any]],
    provenance: dict[str, Any],
) -> MappedEntry:
    kept = tuple(Resource(resource) for resource in resources)
    kept_provenance = Resource(provenance)
    size = MEMORY_PER_JSON_BYTE * sum(len(encoded(resource)) for resource in (*kept, kept_provenance))
    return MappedEntry(author_id, author_name, publisher_name, kept, kept_provenance, size)


class MappedEntries:
    """A bounded least-recently-used map of key → ``MappedEntry``, by the memory they hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[Hashable, MappedEntry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> MappedEntry | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, value: MappedEntry) -> None:
        if value.size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old.size
            self._entries[key] = value
            self.size += value.size
            while self.size > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self.size -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._entries)


MAPPED = MappedEntries(settings.FHIR_MAPPED_CACHE_MB * 1024 * 1024)
