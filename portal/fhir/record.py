"""A patient's record as FHIR resources: what a search, a read or ``$everything`` returns,
assembled from the selectors (access) and the mapping (shape).

Every function takes a ``Scope`` (a patient the user may open here) and returns resources;
it records in ``scope.owners`` whose data the returned resources carry, for the audit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404

from portal.accounts.models import User
from portal.fhir import mapping as m
from portal.fhir import selectors as s
from portal.fhir.cache import MAPPED, MappedEntry, mapped_entry
from portal.fhir.search import Search, _date_range

ENTRY_TYPES = frozenset(
    {
        "Observation",
        "Condition",
        "Procedure",
        "MedicationRequest",
        "MedicationStatement",
        "AllergyIntolerance",
        "DiagnosticReport",
        "DocumentReference",
    }
)
CARE_TYPES = frozenset({"ServiceRequest", "Task", "CarePlan", "Communication", "CareTeam"})
COMPARTMENT_TYPES = ENTRY_TYPES | CARE_TYPES | {"Provenance", "Patient"}
DIRECTORY_TYPES = frozenset({"Organization", "Practitioner"})


def kinds_for(types: Iterable[str]) -> set[str]:
    wanted = set(types)
    return {kind for kind, produced in m.KIND_TYPES.items() if produced & wanted}


@dataclass
class Assembled:
    """Resources in answer order, and what the answer needs around them."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    owner_of: dict[str, Any] = field(default_factory=dict)  # "Type/id" → organization
    pool: dict[str, dict[str, Any]] = field(default_factory=dict)  # every mapped resource, by "Type/id"
    provenance_of: dict[str, dict[str, Any]] = field(default_factory=dict)  # "Type/id" → its Provenance
    users: dict[str, Any] = field(default_factory=dict)  # practitioner id → user
    organizations: dict[str, Any] = field(default_factory=dict)  # uuid → organization

    def know_user(self, user: Any) -> None:
        if user is not None:
            self.users[m.practitioner_id(user.pk)] = user

    def know_organization(self, organization: Any) -> None:
        if organization is not None:
            self.organizations[str(organization.uuid)] = organization

    def add(self, resource: dict[str, Any], owner: Any = None) -> None:
        key = f"{resource['resourceType']}/{resource['id']}"
        self.resources.append(resource)
        self.pool[key] = resource
        if owner is not None:
            self.owner_of[key] = owner


def entry_part(
    scope: s.Scope,
    out: Assembled,
    *,
    types: set[str],
    entry_uuids: Iterable[str] | None = None,
    entries: list[s.EntryRow] | None = None,
) -> None:
    """The resources of the patient's visible entries whose type is in ``types`` (Provenance
    included when asked), each with its owner; ``entries``: those already read (a chunk of a
    search). An entry mapped before is taken from ``cache.MAPPED``; the others' items are
    read from their owners' schemas and mapped."""
    want_provenance = "Provenance" in types
    if entries is None:
        entries = candidate_entries(scope, types=types, entry_uuids=entry_uuids)
    for entry, mapped, author in mapped_entries(scope, entries):
        out.know_organization(entry.organization)
        out.know_user(author)
        out.know_user(entry.published_by)
        for resource in mapped.resources:
            key = f"{resource['resourceType']}/{resource['id']}"
            out.provenance_of[key] = mapped.provenance
            if resource["resourceType"] in types:
                out.add(resource, entry.organization)
            else:
                out.pool[key] = resource
        if want_provenance:
            out.add(mapped.provenance, entry.organization)


def _cache_key(scope: s.Scope, entry: s.EntryRow) -> tuple[Any, ...]:
    """Everything the mapping of an entry reads but its item's values and the names of its
    author and publisher (see ``portal.fhir.cache``)."""
    organization = entry.organization
    return (  # uuids as their numbers: a tuple of numbers and strings hashes and compares faster
        organization.schema_name,
        entry.item_uuid.int,
        entry.uuid.int,
        scope.patient.uuid.int,
        entry.kind,
        entry.version,
        entry.status,
        entry.published_at,
        organization.uuid.int,
        organization.name,
        entry.published_by_id,
    )


def mapped_entries(scope: s.Scope, entries: list[s.EntryRow]) -> list[tuple[s.EntryRow, MappedEntry, User | None]]:
    """(entry, what it maps to, its author) for each of ``entries`` whose item is there, in
    their order: from ``cache.MAPPED`` where the entry was mapped before and the names of its
    author and publisher are still the ones shown, else read (``sources_for``), mapped and
    kept. Sets each entry's ``published_by`` (the people named are read in one query)."""
    keys = [_cache_key(scope, entry) for entry in entries]
    found: dict[int, MappedEntry] = {}
    for index, key in enumerate(keys):
        mapped = MAPPED.get(key)
        if mapped is not None:
            found[index] = mapped
    people = s.people_by_id(
        [entry.published_by_id for entry in entries] + [mapped.author_id for mapped in found.values()]
    )
    for entry in entries:
        entry.published_by = people.get(entry.published_by_id) if entry.published_by_id else None
    for index, mapped in list(found.items()):
        if (_name(people, mapped.author_id), _name(people, entries[index].published_by_id)) != (
            mapped.author_name,
            mapped.publisher_name,
        ):
            del found[index]  # a name changed since: map it again
    missing = [index for index in range(len(entries)) if index not in found]
    if missing:
        position = {str(entries[index].uuid): index for index in missing}
        for source in s.sources_for(scope, [entries[index] for index in missing]):
            resources = m.entry_resources(source)
            mapped = mapped_entry(
                author_id=source.author_id,
                author_name=source.author_name,
                publisher_name=source.publisher_name,
                resources=resources,
                provenance=m.provenance_resource(source, source.derived),
            )
            index = position[source.entry_id]
            MAPPED.put(keys[index], mapped)
            found[index] = mapped
            if source.author_user is not None:
                people[source.author_user.pk] = source.author_user
    answer: list[tuple[s.EntryRow, MappedEntry, User | None]] = []
    for index, entry in enumerate(entries):
        mapped = found.get(index)
        if mapped is not None:
            answer.append((entry, mapped, people.get(mapped.author_id) if mapped.author_id is not None else None))
    return answer


def _name(people: dict[int, User], person_id: int | None) -> str:
    person = people.get(person_id) if person_id is not None else None
    return person.full_name if person is not None else ""


def care_part(scope: s.Scope, out: Assembled, *, types: set[str]) -> None:
    if not types & CARE_TYPES:
        return
    visible: set[str] = set()
    care = None
    if types & {"ServiceRequest", "Task", "CarePlan", "Communication"}:
        care = s.care_for(scope)
        if care.referrals or care.tasks or care.messages:  # what they attach shows only where visible
            visible = {
                str(uuid)
                for uuid in s.visible_entries(
                    user=scope.user, organization=scope.organization, patient=scope.patient
                ).values_list("uuid", flat=True)
            }
    if care is not None:
        if types & {"ServiceRequest", "Task"}:
            for referral in care.referrals:
                referral.patient = scope.patient
                out.know_organization(referral.referring_organization)
                out.know_organization(referral.receiving_organization)
                out.know_user(referral.referred_by)
                for resource in m.referral_resources(referral, visible_entry_ids=visible):
                    if resource["resourceType"] in types:
                        out.add(resource, referral.referring_organization)
        if "Task" in types:
            for task in care.tasks:
                task.patient = scope.patient
                out.know_organization(task.owner_organization)
                out.know_organization(task.creating_organization)
                for resource in m.care_task_resources(task, list(task.occurrences.all()), visible_entry_ids=visible):
                    out.add(resource, task.creating_organization)
        if "CarePlan" in types:
            for handoff in care.handoffs:
                handoff.patient = scope.patient
                out.know_organization(handoff.from_organization)
                out.know_organization(handoff.to_organization)
                out.know_user(handoff.from_user)
                out.add(m.handoff_resource(handoff), handoff.from_organization)
        if "Communication" in types:
            for message in care.messages:
                out.know_user(message.sender)
                resource = m.communication_resource(
                    message, patient_id=str(scope.patient.uuid), visible_entry_ids=visible
                )
                out.add(resource, _organization_by_id(out, message.sender_organization_id))
    if "CareTeam" in types:
        relationships = s.care_relationships_for(scope)
        for relationship in relationships:
            out.know_organization(relationship.organization)
            out.know_user(relationship.clinician)
        out.add(m.care_team_resource(scope.patient, relationships))


def _organization_by_id(out: Assembled, organization_id: int) -> Any:
    for organization in out.organizations.values():
        if organization.pk == organization_id:
            return organization
    return None


def patient_part(scope: s.Scope, out: Assembled) -> None:
    identifiers = s.identifiers_for(scope)
    for identifier in identifiers:
        out.know_organization(identifier.organization)
    out.add(m.patient_resource(scope.patient, identifiers))


def compartment(scope: s.Scope, *, types: set[str], entry_uuids: Iterable[str] | None = None) -> Assembled:
    out = Assembled()
    if "Patient" in types:
        patient_part(scope, out)
    if types & (ENTRY_TYPES | {"Provenance"}):
        entry_part(scope, out, types=types, entry_uuids=entry_uuids)
    care_part(scope, out, types=types)
    return out


# --- references to the directory -----------------------------------------------------


def directory_for(out: Assembled, references: set[str]) -> list[dict[str, Any]]:
    """The Organizations and Practitioners named by ``references`` (``Type/id``) that this
    answer knows of (nothing else: a person is known only from what the answer shows)."""
    directory = []
    organization_ids = sorted(r.split("/", 1)[1] for r in references if r.startswith("Organization/"))
    missing = [uuid for uuid in organization_ids if uuid not in out.organizations]
    if missing:
        for organization in s.organizations_by_uuid(missing):
            out.know_organization(organization)
    for uuid in organization_ids:
        if uuid in out.organizations:
            directory.append(m.organization_resource(out.organizations[uuid]))
    for practitioner in sorted(r.split("/", 1)[1] for r in references if r.startswith("Practitioner/")):
        user = out.users.get(practitioner)
        if user is not None:
            directory.append(m.practitioner_resource(user))
    return directory


# --- search, read, $everything -------------------------------------------------------


def candidate_entries(
    scope: s.Scope,
    *,
    types: set[str],
    entry_uuids: Iterable[str] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> list[s.EntryRow]:
    """The visible entries whose items can map to one of ``types`` (``start``:``stop`` of
    them, in their order); who published them is read by ``mapped_entries``."""
    kinds = None if "Provenance" in types else kinds_for(types)
    if kinds is not None and not kinds:
        return []
    return s.scope_entries(scope, kinds=kinds, entry_uuids=entry_uuids, start=start, stop=stop, publishers=False)


# A search over at most this many entries maps them all (and so gives ``total``); over more,
# a page maps only the entries it needs, in chunks, and its next link carries a cursor.
EXACT_SEARCH_ENTRIES = 250
CHUNK_ENTRIES = 60


@dataclass
class SearchPage:
    matches: list[dict[str, Any]]
    included: list[dict[str, Any]]
    total: int | None
    next_cursor: str | None = None


def search(scope: s.Scope, query: Search) -> SearchPage:
    entry_uuids = None
    if query.ids is not None and query.resource_type in ENTRY_TYPES | {"Provenance"}:
        entry_uuids = set()
        for resource_id in query.ids:
            try:
                entry_uuids.add(s.split_id(resource_id)[0])
            except Http404:
                continue
    types = {query.resource_type}
    if query.resource_type in ENTRY_TYPES | {"Provenance"}:

        def read(start: int, stop: int | None) -> list[s.EntryRow]:
            return candidate_entries(scope, types=types, entry_uuids=entry_uuids, start=start, stop=stop)

        if query.cursor is not None:
            return _search_by_chunks(scope, query, [], read)
        # One entry more than an exact search maps tells which kind of search this is.
        entries = read(0, None if query.total_accurate else EXACT_SEARCH_ENTRIES + 1)
        if len(entries) > EXACT_SEARCH_ENTRIES and not query.total_accurate:
            return _search_by_chunks(scope, query, entries, read)
        out = Assembled()
        entry_part(scope, out, types=types, entries=entries)
    else:
        out = compartment(scope, types=types, entry_uuids=entry_uuids)
    matches = [r for r in out.resources if r["resourceType"] == query.resource_type and query.matches(r)]
    page = matches[query.offset : query.offset + query.count]
    return SearchPage(page, _included(scope, out, query, page), len(matches))


def _search_by_chunks(
    scope: s.Scope,
    query: Search,
    known: list[s.EntryRow],
    read: Callable[[int, int | None], list[s.EntryRow]],
) -> SearchPage:
    """A page that maps only the entries it needs: from the cursor's entry on, a chunk at a
    time, until one match more than the page holds is found (its place is the next cursor).
    ``known``: the first entries, already read; the others are read a chunk at a time."""
    start, skip = query.cursor or (0, 0)
    if query.cursor is None and query.offset:
        start, skip = 0, query.offset  # an offset is walked from the first entry
    out = Assembled()
    page: list[dict[str, Any]] = []
    next_cursor = None
    index = start
    size = max(CHUNK_ENTRIES, min(query.count + 20, 500))  # a page of labs is about one chunk
    while next_cursor is None:
        chunk = known[index : index + size] if index + size <= len(known) else read(index, index + size)
        if not chunk:
            break
        out_chunk = Assembled()
        entry_part(scope, out_chunk, types={query.resource_type}, entries=chunk)
        _merge(out, out_chunk)
        by_entry: dict[str, list[dict[str, Any]]] = {}
        for resource in out_chunk.resources:
            if resource["resourceType"] == query.resource_type and query.matches(resource):
                by_entry.setdefault(resource["id"][:36], []).append(resource)
        for position, entry in enumerate(chunk, start=index):
            found = by_entry.get(str(entry.uuid), [])
            for within, resource in enumerate(found):
                if skip:
                    skip -= 1
                    continue
                if len(page) == query.count:
                    next_cursor = f"{position}.{within}"
                    break
                page.append(resource)
            if next_cursor is not None:
                break
        if len(chunk) < size:  # the last of them
            break
        index += size
    return SearchPage(page, _included(scope, out, query, page), None, next_cursor)


def _merge(into: Assembled, other: Assembled) -> None:
    into.pool.update(other.pool)
    into.owner_of.update(other.owner_of)
    into.provenance_of.update(other.provenance_of)
    into.users.update(other.users)
    into.organizations.update(other.organizations)


def _included(scope: s.Scope, out: Assembled, query: Search, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    included: list[dict[str, Any]] = []
    seen = {f"{r['resourceType']}/{r['id']}" for r in page}
    if query.include_members:
        for resource in page:
            for member in resource.get("hasMember", []):
                key = member["reference"]
                if key not in seen and key in out.pool:
                    seen.add(key)
                    included.append(out.pool[key])
    if query.revinclude_provenance:
        for resource in page + included:
            provenance = out.provenance_of.get(f"{resource['resourceType']}/{resource['id']}")
            if provenance is not None:
                key = f"Provenance/{provenance['id']}"
                if key not in seen:
                    seen.add(key)
                    included.append(provenance)
    _owners(scope, out, page + included)
    return included


def _owners(scope: s.Scope, out: Assembled, resources: list[dict[str, Any]]) -> None:
    owners = {}  # by id(): an organization is one object per answer, and hashing a model costs
    for resource in resources:
        owner = out.owner_of.get(f"{resource['resourceType']}/{resource['id']}")
        if owner is not None:
            owners[id(owner)] = owner
    scope.owners.update(owners.values())


def read(scope: s.Scope, resource_type: str, resource_id: str) -> dict[str, Any]:
    entry_uuids = None
    if resource_type in ENTRY_TYPES | {"Provenance"}:
        entry_uuids = {s.split_id(resource_id)[0]}
    out = compartment(scope, types={resource_type}, entry_uuids=entry_uuids)
    for resource in out.resources:
        if resource["resourceType"] == resource_type and resource["id"] == resource_id:
            _owners(scope, out, [resource])
            return resource
    raise Http404("No such resource")


def history(scope: s.Scope, resource_type: str, resource_id: str) -> list[dict[str, Any]]:
    """Every version of an entry's resource, newest first (a correction is a new version)."""
    entry_uuid, _suffix = s.split_id(resource_id)
    entries = s.scope_entries(scope, entry_uuids=[entry_uuid])
    if not entries:
        raise Http404("No such resource")
    entry = entries[0]
    versions: list[dict[str, Any]] = []
    for source in s.entry_versions(scope, entry):
        resources = m.entry_resources(source)
        if resource_type == "Provenance":
            resources = [m.provenance_resource(source, source.derived)]
        versions.extend(r for r in resources if r["resourceType"] == resource_type and r["id"] == resource_id)
    if not versions:
        raise Http404("No such resource")
    scope.owners.add(entry.organization)
    return list(reversed(versions))


def everything(
    scope: s.Scope, *, types: set[str] | None, since: dt.datetime | None
) -> tuple[Assembled, list[dict[str, Any]]]:
    """Everything the caller may see about the patient (``_type`` narrows it, ``_since``
    keeps what changed since then; the Patient itself always comes first)."""
    wanted = set(COMPARTMENT_TYPES if types is None else types & COMPARTMENT_TYPES)
    out = compartment(scope, types=wanted)
    resources = out.resources
    if since is not None:
        resources = [
            r
            for r in resources
            if r["resourceType"] == "Patient"
            or "lastUpdated" not in r.get("meta", {})
            or _date_range(r["meta"]["lastUpdated"])[0] >= since
        ]
    return out, resources


def page_owners(scope: s.Scope, out: Assembled, resources: list[dict[str, Any]]) -> None:
    _owners(scope, out, resources)
