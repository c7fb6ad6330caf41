"""Resolving the references of an import: inside the Bundle (``urn:uuid:…``, ``Type/id``, a
``fullUrl``), to this organization's earlier imports (the sender's ids and identifiers), to our
own network (a patient this user may see here, an organization or a person of the network by
NPI), or conditionally (``Practitioner?identifier=system|value``: exactly one resource or the
entry fails, naming it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from django.http import Http404

from portal.accounts.models import User
from portal.fhir import codes as c
from portal.fhir.importing.parse import ImportFailure
from portal.patients.models import NetworkPatient, PatientIdentifier
from portal.patients.selectors import patient_access_for_user
from portal.records.models import ImportedResource
from tenants.models import Organization

NPI_SYSTEMS = frozenset({c.NPI})


def identifier_keys(resource: dict[str, Any]) -> list[str]:
    """A resource's identifiers as ``system|value`` keys."""
    keys = []
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("value"):
            keys.append(f"{identifier.get('system') or ''}|{identifier['value']}"[:400])
    return keys


@dataclass
class Criteria:
    """A conditional request or reference's criteria: identifiers (all must match) or an id."""

    identifiers: list[str]
    source_id: str = ""


def criteria_parse(query: str, where: str) -> Criteria:
    """``identifier=system|value`` (repeatable) or ``_id=…``; anything else is refused."""
    text = query.split("?", 1)[1] if "?" in query else query
    identifiers, source_id = [], ""
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name == "identifier" and "|" in value and value.split("|", 1)[1]:
            identifiers.append(value[:400])
        elif name == "_id" and value:
            source_id = value[:64]
        else:
            raise ImportFailure(
                422,
                f"{where}: {query!r}: conditions are identifier=system|value or _id=… here.",
                code="not-supported",
                expression=where,
            )
    if not identifiers and not source_id:
        raise ImportFailure(422, f"{where}: {query!r} names no condition.", code="required", expression=where)
    return Criteria(identifiers=identifiers, source_id=source_id)


def walk_references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(reference, where) of every Reference in a resource (contained resources included)."""
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str):
            yield reference, path
        for key, child in value.items():
            if key != "reference":
                yield from walk_references(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk_references(child, f"{path}[{index}]")


@dataclass(frozen=True)
class Target:
    """What a reference names: an entry of the Bundle, a network patient, or something else
    that exists (a remembered import, an organization or person of the network)."""

    entry: int | None = None
    patient: NetworkPatient | None = None
    label: str = ""


class Resolver:
    """References resolved for one import, each looked up once."""

    def __init__(self, *, organization: Organization, user: User, base: str, resources: list[Any]) -> None:
        self.organization, self.user, self.base = organization, user, base
        self.by_url: dict[str, int] = {}
        self.by_type_id: dict[str, int] = {}
        self.keys: dict[tuple[str, str], list[int]] = {}
        self.resources = resources
        for index, (full_url, resource) in enumerate(resources):
            if not isinstance(resource, dict):
                continue
            kind = resource.get("resourceType", "")
            if full_url:
                self.by_url[full_url] = index
                tail = full_url.rstrip("/").split("/")
                if not full_url.startswith("urn:") and len(tail) >= 2 and tail[-2] == kind:
                    self.by_type_id[f"{kind}/{tail[-1]}"] = index
            if isinstance(resource.get("id"), str):
                self.by_type_id.setdefault(f"{kind}/{resource['id']}", index)
            for key in identifier_keys(resource):
                self.keys.setdefault((kind, key), []).append(index)
        self.cache: dict[str, Target] = {}
        # What this organization imported before, filled by ``remember``.
        self.imported: dict[str, list[ImportedResource]] = {}
        # Entries of this Bundle found to be resources imported before (their ImportedResource).
        self.entry_matches: dict[int, ImportedResource] = {}

    # --- earlier imports, read once -----------------------------------------------------

    def remember(self, rows: list[ImportedResource]) -> None:
        for row in rows:
            if row.source_id:
                self.imported.setdefault(f"{row.resource_type}/id:{row.source_id}", []).append(row)
            for key in row.identifiers:
                self.imported.setdefault(f"{row.resource_type}/{key}", []).append(row)

    def earlier(self, resource_type: str, criteria: Criteria) -> list[ImportedResource]:
        """Earlier imports of this organization matching every criterion."""
        found: dict[Any, ImportedResource] | None = None
        wanted = [f"id:{criteria.source_id}"] if criteria.source_id else []
        wanted += criteria.identifiers
        for key in wanted:
            rows = {row.pk: row for row in self.imported.get(f"{resource_type}/{key}", [])}
            found = rows if found is None else {pk: row for pk, row in found.items() if pk in rows}
        return list((found or {}).values())

    # --- references ---------------------------------------------------------------------

    def resolve(self, reference: str, where: str) -> Target:
        if reference.startswith("#"):
            return Target(label="contained")
        cached = self.cache.get(reference)
        if cached is None:
            cached = self._resolve(reference, where)
            self.cache[reference] = cached
        return cached

    def _fail(self, reference: str, why: str, where: str, code: str = "not-found") -> ImportFailure:
        return ImportFailure(422, f"{where}: the reference {reference!r} {why}.", code=code, expression=where)

    def _resolve(self, reference: str, where: str) -> Target:
        if reference in self.by_url:
            return Target(entry=self.by_url[reference])
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            raise self._fail(reference, "names no entry of this Bundle (no entry has that fullUrl)", where)
        relative = reference
        if reference.startswith(self.base):
            relative = reference[len(self.base) :]
        elif reference.startswith(("http://", "https://")):
            return Target(label="external")
        if "?" in relative:
            return self._conditional(relative, reference, where)
        parts = relative.split("/")
        if len(parts) == 4 and parts[2] == "_history":
            parts = parts[:2]
        if len(parts) != 2 or not all(parts):
            raise self._fail(
                reference, "is not a reference this server reads (Type/id, urn:uuid or a condition)", where
            )
        kind, source_id = parts
        key = f"{kind}/{source_id}"
        if key in self.by_type_id:
            return Target(entry=self.by_type_id[key])
        earlier = self.earlier(kind, Criteria(identifiers=[], source_id=source_id))
        if len(earlier) == 1:
            return Target(patient=earlier[0].patient, label=f"imported {kind}")
        if kind == "Patient":
            try:
                patient, _emergency = patient_access_for_user(
                    user=self.user, organization=self.organization, patient_uuid=source_id
                )
            except (Http404, ValueError):
                raise self._fail(reference, "names no patient you may see here", where)
            return Target(patient=patient)
        if kind == "Organization" and Organization.objects.filter(uuid=_uuid_or_none(source_id)).exists():
            return Target(label="network organization")
        if kind == "Practitioner":
            from portal.fhir.mapping import practitioner_id

            for pk in User.objects.filter(memberships__isnull=False).values_list("pk", flat=True).distinct():
                if practitioner_id(pk) == source_id:
                    return Target(label="network person")
        raise self._fail(reference, "names nothing in this Bundle nor anything imported here before", where)

    def _conditional(self, relative: str, reference: str, where: str) -> Target:
        kind = relative.split("?", 1)[0]
        criteria = criteria_parse(relative, where)
        in_bundle: set[int] | None = None
        for key in criteria.identifiers:
            matches = set(self.keys.get((kind, key), []))
            in_bundle = matches if in_bundle is None else in_bundle & matches
        if criteria.source_id:
            matched = self.by_type_id.get(f"{kind}/{criteria.source_id}")
            matches = {matched} if matched is not None else set()
            in_bundle = matches if in_bundle is None else in_bundle & matches
        bundle_hits = sorted(in_bundle or set())
        # The Bundle's own entries that are earlier imports are the same resources.
        earlier = [
            row
            for row in self.earlier(kind, criteria)
            if not any(self.entry_matches.get(index) is row for index in bundle_hits)
        ]
        network: list[Any] = []
        if not bundle_hits and not earlier:
            network = self._network(kind, criteria)
        hits = len(bundle_hits) + len(earlier) + len(network)
        if hits == 0:
            raise self._fail(reference, "matches no resource", where)
        if hits > 1:
            raise self._fail(reference, f"matches {hits} resources, not exactly one", where, code="multiple-matches")
        if bundle_hits:
            return Target(entry=bundle_hits[0])
        if earlier:
            return Target(patient=earlier[0].patient, label=f"imported {kind}")
        found = network[0]
        return Target(patient=found if isinstance(found, NetworkPatient) else None, label=f"network {kind}")

    def _network(self, kind: str, criteria: Criteria) -> list[Any]:
        """Our own network's resources matching an identifier: this organization's patients by
        its MRN, the network's organizations and people by NPI."""
        if len(criteria.identifiers) != 1 or criteria.source_id:
            return []
        system, value = criteria.identifiers[0].split("|", 1)
        value = unquote(value)
        if kind == "Patient" and system == c.MRN_SYSTEM + str(self.organization.uuid):
            return [
                identifier.patient
                for identifier in PatientIdentifier.objects.filter(
                    organization=self.organization, mrn__iexact=value
                ).select_related("patient")
            ]
        if kind == "Practitioner" and system in NPI_SYSTEMS:
            return list(User.objects.filter(npi=value, memberships__isnull=False).distinct()[:2])
        if kind == "Organization" and system in NPI_SYSTEMS:
            return list(Organization.objects.filter(npi=value).exclude(schema_name="public")[:2])
        return []


def _uuid_or_none(value: str) -> str | None:
    from portal.fhir.selectors import UUID_PREFIX

    return value if UUID_PREFIX.match(value) and len(value) == 36 else None
