"""Search parameters: parsing them, and matching a mapped resource against them.

Supported on every patient-compartment type: ``patient`` (or ``subject``), ``_id``,
``_lastUpdated``, ``category``, ``code``, ``date``; paging with ``_count`` (at most 1,000),
``_offset`` and the ``_cursor`` of next links; ``_total=accurate``;
``_include=Observation:has-member`` and ``_revinclude=Provenance:target``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime

DEFAULT_COUNT = 50
MAX_COUNT = 1000
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
RESULT_PARAMETERS = {
    "_count",
    "_offset",
    "_cursor",
    "_include",
    "_revinclude",
    "_format",
    "_total",
    "_sort",
    "_summary",
}


class SearchError(ValueError):
    """A parameter we cannot honour: answered 400 with an OperationOutcome."""


def _first(resource: dict[str, Any], *paths: str) -> Any:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if value is not None:
            return value
    return None


# Where each type keeps what ``code``, ``category`` and ``date`` search.
CODE_PATHS = {
    "Observation": ("code",),
    "Condition": ("code",),
    "Procedure": ("code",),
    "DiagnosticReport": ("code",),
    "AllergyIntolerance": ("code",),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "DocumentReference": ("type",),
    "ServiceRequest": ("code",),
    "Task": ("code",),
}
CATEGORY_PATHS = {
    "Observation": ("category",),
    "Condition": ("category",),
    "Procedure": ("category",),
    "DiagnosticReport": ("category",),
    "MedicationRequest": ("category",),
    "DocumentReference": ("category",),
    "ServiceRequest": ("category",),
    "CarePlan": ("category",),
    "AllergyIntolerance": ("category",),
}
DATE_PATHS = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start"),
    "Condition": ("onsetDateTime", "recordedDate"),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "DiagnosticReport": ("effectiveDateTime",),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime",),
    "AllergyIntolerance": ("recordedDate",),
    "DocumentReference": ("date",),
    "ServiceRequest": ("authoredOn",),
    "Task": ("authoredOn", "executionPeriod.end"),
    "CarePlan": ("created",),
    "Communication": ("sent",),
    "Provenance": ("recorded",),
    "AuditEvent": ("recorded",),
    "CareTeam": ("participant.0.period.start",),
}


def _concepts(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Token:
    system: str | None
    code: str

    @classmethod
    def parse(cls, text: str) -> Token:
        if "|" in text:
            system, code = text.split("|", 1)
            return cls(system=system, code=code)
        return cls(system=None, code=text)

    def matches(self, concepts: list[dict[str, Any]]) -> bool:
        for concept in concepts:
            for coding in concept.get("coding", []):
                if coding.get("code") == self.code and (
                    self.system in (None, "") or coding.get("system") == self.system
                ):
                    return True
                if self.code == "" and self.system and coding.get("system") == self.system:
                    return True
        return False


@dataclass(frozen=True)
class DateBound:
    prefix: str
    start: dt.datetime
    end: dt.datetime  # exclusive

    @classmethod
    def parse(cls, text: str) -> DateBound:
        prefix = "eq"
        if text[:2] in PREFIXES:
            prefix, text = text[:2], text[2:]
        start, end = _date_range(text)
        return cls(prefix=prefix, start=start, end=end)

    def matches(self, value: str | None) -> bool:
        if not value:
            return False
        start, end = _date_range(value)
        if self.prefix == "eq":
            return self.start <= start and end <= self.end
        if self.prefix == "ne":
            return not (self.start <= start and end <= self.end)
        if self.prefix in ("gt", "sa"):
            return end > self.end if self.prefix == "gt" else start >= self.end
        if self.prefix in ("lt", "eb"):
            return start < self.start if self.prefix == "lt" else end <= self.start
        if self.prefix == "ge":
            return end > self.start
        return start < self.end  # le


def _date_range(text: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a FHIR date, dateTime or instant (a year, a month, a day or a moment)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            start = dt.datetime(int(text), 1, 1, tzinfo=dt.UTC)
            return start, start.replace(year=start.year + 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = int(text[:4]), int(text[5:7])
            start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
            end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
            return start, end
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
            return start, start + dt.timedelta(days=1)
        moment = parse_datetime(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None:
        raise SearchError(f"Not a FHIR date: {text!r}.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment, moment + dt.timedelta(microseconds=1)


@dataclass
class Search:
    resource_type: str
    patient: str | None = None
    ids: set[str] | None = None
    codes: list[list[Token]] = field(default_factory=list)  # AND of ORs
    categories: list[list[Token]] = field(default_factory=list)
    dates: list[DateBound] = field(default_factory=list)
    updated: list[DateBound] = field(default_factory=list)
    identifier: Token | None = None
    birthdate: list[DateBound] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    include_members: bool = False
    revinclude_provenance: bool = False
    cursor: tuple[int, int] | None = None  # (entry index, matches to skip in it): a next link's place
    total_accurate: bool = False  # ``_total=accurate``: count every match, however many

    def matches(self, resource: dict[str, Any]) -> bool:
        kind = resource["resourceType"]
        if self.ids is not None and resource["id"] not in self.ids:
            return False
        for tokens in self.codes:
            concepts = _concepts(_first(resource, *CODE_PATHS.get(kind, ("code",))))
            if not any(token.matches(concepts) for token in tokens):
                return False
        for tokens in self.categories:
            concepts = _concepts(_first(resource, *CATEGORY_PATHS.get(kind, ("category",))))
            if not any(token.matches(concepts) for token in tokens):
                return False
        if self.dates:
            value = _first(resource, *DATE_PATHS.get(kind, ("meta.lastUpdated",)))
            if not all(bound.matches(value) for bound in self.dates):
                return False
        if self.updated:
            value = _first(resource, "meta.lastUpdated")
            if not all(bound.matches(value) for bound in self.updated):
                return False
        return True


def _values(params: Any, name: str) -> list[str]:
    return [value for value in params.getlist(name) if value != ""]


def _int(text: str, name: str, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SearchError(f"{name} must be a whole number.")
    if value < 0 or (maximum is not None and value > maximum):
        raise SearchError(f"{name} must be between 0 and {maximum}.")
    return value


SUPPORTED = {
    "patient",
    "subject",
    "_id",
    "code",
    "category",
    "date",
    "_lastUpdated",
    "identifier",
    "birthdate",
    *RESULT_PARAMETERS,
}


def parse(resource_type: str, params: Any, *, strict: bool = False) -> Search:
    """``params``: a QueryDict. Unknown parameters are ignored (FHIR's lenient handling)
    unless ``strict`` (``Prefer: handling=strict``), then they are an error."""
    unknown = sorted(set(params.keys()) - SUPPORTED)
    if strict and unknown:
        raise SearchError(f"Unknown search parameter(s): {', '.join(unknown)}.")
    search = Search(resource_type=resource_type)
    patients = _values(params, "patient") + _values(params, "subject")
    if len(set(patients)) > 1:
        raise SearchError("Search one patient at a time.")
    if patients:
        search.patient = patients[0].removeprefix("Patient/")
    ids = [part for value in _values(params, "_id") for part in value.split(",") if part]
    if ids:
        search.ids = set(ids)
    search.codes = [[Token.parse(part) for part in value.split(",")] for value in _values(params, "code")]
    search.categories = [[Token.parse(part) for part in value.split(",")] for value in _values(params, "category")]
    search.dates = [DateBound.parse(value) for value in _values(params, "date")]
    search.updated = [DateBound.parse(value) for value in _values(params, "_lastUpdated")]
    search.birthdate = [DateBound.parse(value) for value in _values(params, "birthdate")]
    identifiers = _values(params, "identifier")
    if identifiers:
        search.identifier = Token.parse(identifiers[0])
    if params.get("_count"):
        search.count = _int(params["_count"], "_count", MAX_COUNT)
    if params.get("_offset"):
        search.offset = _int(params["_offset"], "_offset")
    if params.get("_cursor"):
        entry, _, within = params["_cursor"].partition(".")
        search.cursor = (_int(entry, "_cursor"), _int(within or "0", "_cursor"))
    if params.get("_total"):
        if params["_total"] not in ("none", "estimate", "accurate"):
            raise SearchError("_total is none, estimate or accurate.")
        search.total_accurate = params["_total"] == "accurate"
    for include in _values(params, "_include"):
        if include != "Observation:has-member":
            raise SearchError(f"_include={include} is not supported (only Observation:has-member).")
        search.include_members = True
    for include in _values(params, "_revinclude"):
        if include != "Provenance:target":
            raise SearchError(f"_revinclude={include} is not supported (only Provenance:target).")
        search.revinclude_provenance = True
    return search


def filtered(resources: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [resource for resource in resources if predicate(resource)]
