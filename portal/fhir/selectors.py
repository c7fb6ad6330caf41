"""What a FHIR request may read, through the access rule every page uses.

A patient is opened only through ``patient_access_for_user`` (forbidden and missing are
the same 404); the entries about them only through ``visible_entries`` (an organization
that merely registered the patient sees its own entries; the others need a relationship
that shares the record, or the user's emergency grant); referrals, care tasks, hand-offs
and threads only through the care and messaging selectors. Items are read from their
owner's schema (``schema_context``), one query per owner, after the access check.

A resource addressed by its own id (``Observation/<id>``) names no patient: its entry's
patient is looked up by the entry's uuid only to ask the access rule about that patient,
and the entry is then read again through ``visible_entries``; a refusal and a missing id
give the same 404.

The one who asks is a person signed in (the portal's session) or a backend API client
(``ClientPrincipal``), which acts for its organization: the organization-level variant of the
same rule (its care relationships, no one's emergency grant), never more. A client reads the
shared record's entries, the patient, their care team and the directory; the care objects
(referrals, care tasks, hand-offs, messages) are one person's work in the pages' rules and
are not given to a client (searches of them find nothing, reads answer 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404, HttpRequest
from django_tenants.utils import schema_context

from portal.accounts.models import Membership, User
from portal.accounts.selectors import clinical_membership
from portal.audit.models import AuditAction, AuditEvent
from portal.care.models import CareTask, Handoff, Referral, TaskOccurrence
from portal.care.selectors import handoffs_for, referrals_for, tasks_for
from portal.fhir import mapping as m
from portal.fhir.scopes import ClientPrincipal, request_principal
from portal.messaging.models import Message, Thread
from portal.messaging.selectors import visible_threads
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier, RegistryEntry
from portal.patients.selectors import (
    organization_patient_access,
    organization_visible_entries,
    organization_visible_patients,
    patient_access_for_user,
    record_shared_with,
    visible_patients,
)
from portal.patients.selectors import visible_entries as person_visible_entries
from portal.records.models import ClinicalItem, Document
from tenants.models import Organization

if TYPE_CHECKING:
    from typing_extensions import TypeIs

UUID_PREFIX = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-(.+))?$")


def split_id(resource_id: str) -> tuple[str, str]:
    """(uuid, suffix) of one of our ids; ``Http404`` when it is not one."""
    match = UUID_PREFIX.match(resource_id or "")
    if match is None:
        raise Http404("No such resource")
    return match.group(1), match.group(2) or ""


@dataclass
class Scope:
    """One patient as this user sees them at this address."""

    user: User | ClientPrincipal
    organization: Organization
    patient: NetworkPatient
    emergency: Any
    shared: bool
    # Filled as the request reads: whose data it returned (for the audit).
    owners: set[Organization] = field(default_factory=set)


def _is_client(user: object) -> TypeIs[ClientPrincipal]:
    return isinstance(user, ClientPrincipal)


def _client_here(user: object, organization: Organization | None) -> bool:
    """A client acts only at its own organization's address."""
    return _is_client(user) and organization is not None and user.organization.pk == organization.pk


def _may_read_here(user: User | ClientPrincipal, organization: Organization) -> bool:
    """A clinical member here, or a client of this organization."""
    if _is_client(user):
        return _client_here(user, organization)
    return clinical_membership(user=user, organization=organization) is not None


def visible_entries(
    *, user: User | ClientPrincipal, organization: Organization, patient: NetworkPatient
) -> QuerySet[RegistryEntry]:
    """The patient's entries a person (``patient_visible_entries``) or a client sees here."""
    if _is_client(user):
        if not _client_here(user, organization):
            return RegistryEntry.objects.none()
        return organization_visible_entries(organization=organization, patient=patient)
    if not isinstance(user, User):
        return RegistryEntry.objects.none()
    return person_visible_entries(user=user, organization=organization, patient=patient)


def scope_for_patient(*, user: User | ClientPrincipal, organization: Organization, patient_uuid: Any) -> Scope:
    if _is_client(user):
        if not _client_here(user, organization):
            raise Http404("No such patient")
        found, shared = organization_patient_access(organization=organization, patient_uuid=patient_uuid)
        return Scope(user=user, organization=organization, patient=found, emergency=None, shared=shared)
    patient, emergency = patient_access_for_user(user=user, organization=organization, patient_uuid=patient_uuid)
    shared = record_shared_with(user=user, organization=organization, patient=patient)
    return Scope(user=user, organization=organization, patient=patient, emergency=emergency, shared=shared)


def _patient_uuid_of(queryset: QuerySet[Any], **lookup: Any) -> Any:
    """The patient's uuid only — for the access rule to decide; never returned as such."""
    found = queryset.filter(**lookup).values_list("patient__uuid", flat=True).first()
    if found is None:
        raise Http404("No such resource")
    return found


def scope_for_entry(*, user: User | ClientPrincipal, organization: Organization, entry_uuid: str) -> Scope:
    if not _may_read_here(user, organization):
        raise Http404("No such resource")
    patient_uuid = _patient_uuid_of(RegistryEntry.objects.all(), uuid=entry_uuid)
    return scope_for_patient(user=user, organization=organization, patient_uuid=patient_uuid)


# --- entries and their items ---------------------------------------------------------
#
# Reads of whole records (a patient's $everything: a thousand entries and more) take plain
# rows rather than model instances (``values_list``: no model per row, no join per row); the
# organizations and people they name are read once each. The rows answer the same attribute
# names as the models, so the mapping takes either.

ENTRY_COLUMNS = (
    "uuid",
    "kind",
    "code",
    "title",
    "effective_at",
    "item_uuid",
    "version",
    "status",
    "published_at",
    "organization_id",
    "published_by_id",
)
ITEM_COLUMNS = (
    "id",
    "kind",
    "title",
    "code",
    "effective_at",
    "data",
    "version",
    "published_at",
    "withdrawn_reason",
    "author_id",
    "previous_id",
    "via_client_id",
    "via_client_name",
)


@dataclass(slots=True)
class EntryRow:
    uuid: Any
    kind: str
    code: str
    title: str
    effective_at: Any
    item_uuid: Any
    version: int
    status: str
    published_at: Any
    organization_id: int
    published_by_id: int | None
    organization: Any = None
    published_by: Any = None
    patient: Any = None


@dataclass(slots=True)
class ItemRow:
    id: Any
    kind: str
    title: str
    code: str
    effective_at: Any
    data: dict[str, Any]
    version: int
    published_at: Any
    withdrawn_reason: str
    author_id: int | None
    previous_id: Any
    via_client_id: str = ""
    via_client_name: str = ""
    author: Any = None
    document: Any = None

    @property
    def pk(self) -> Any:
        return self.id


def people_by_id(ids: Iterable[int | None]) -> dict[int, User]:
    """The people of these ids (as the FHIR resources name them), in one query."""
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return {
        user.pk: user
        for user in User.objects.filter(pk__in=wanted).only("pk", "full_name", "credentials", "npi", "is_active")
    }


# What a read of entries takes from the registry: the entry's own title, code and date are
# its item's (``source_from`` reads them from the entry only for an entry whose item is gone,
# and ``sources_for`` leaves those out), so they are not read (and not parsed) again here.
SCOPE_COLUMNS = (
    "uuid",
    "kind",
    "item_uuid",
    "version",
    "status",
    "published_at",
    "organization_id",
    "published_by_id",
)


def scope_entries(
    scope: Scope,
    *,
    kinds: Iterable[str] | None = None,
    entry_uuids: Iterable[str] | None = None,
    start: int = 0,
    stop: int | None = None,
    publishers: bool = True,
) -> list[EntryRow]:
    """The patient's entries this user sees here (``visible_entries``), newest first
    (``start``:``stop`` of them), with their organizations and, unless ``publishers`` is
    False (the caller reads the people named at once), who published them."""
    entries = visible_entries(user=scope.user, organization=scope.organization, patient=scope.patient)
    if kinds is not None:
        entries = entries.filter(kind__in=list(kinds))
    if entry_uuids is not None:
        entries = entries.filter(uuid__in=list(entry_uuids))
    ordered = entries.order_by("-effective_at", "-published_at", "uuid").values_list(*SCOPE_COLUMNS)
    rows = [
        EntryRow(uuid, kind, "", "", None, item_uuid, version, status, published_at, organization_id, published_by_id)
        for uuid, kind, item_uuid, version, status, published_at, organization_id, published_by_id in ordered[
            start:stop
        ]
    ]
    if not rows:
        return rows
    organizations = {o.pk: o for o in Organization.objects.filter(pk__in={row.organization_id for row in rows})}
    people = people_by_id(row.published_by_id for row in rows) if publishers else {}
    for row in rows:
        row.organization = organizations[row.organization_id]
        row.published_by = people.get(row.published_by_id) if row.published_by_id else None
        row.patient = scope.patient
    return rows


def items_for(scope: Scope, entries: list[EntryRow]) -> dict[str, ItemRow]:
    """The current item of each entry, read in its owner's schema (one query per owner, and
    one more where documents are), keyed ``"<owner pk>:<item uuid>"``."""
    by_owner: dict[int, tuple[Organization, list[Any]]] = {}
    for entry in entries:
        by_owner.setdefault(entry.organization_id, (entry.organization, []))[1].append(entry.item_uuid)
    items: dict[str, ItemRow] = {}
    for owner, ids in by_owner.values():
        with schema_context(owner.schema_name):
            found = [
                ItemRow(*values)
                for values in ClinicalItem.objects.filter(pk__in=ids, patient=scope.patient).values_list(*ITEM_COLUMNS)
            ]
            documents = [item.id for item in found if item.kind == "document"]
            stored = {d.item_id: d for d in Document.objects.filter(item_id__in=documents)} if documents else {}
        for item in found:
            item.document = stored.get(item.id)
            items[f"{owner.pk}:{item.id}"] = item
    people = people_by_id(item.author_id for item in items.values())
    for item in items.values():
        item.author = people.get(item.author_id) if item.author_id else None
    return items


def sources_for(scope: Scope, entries: list[EntryRow]) -> list[m.Source]:
    items = items_for(scope, entries)
    sources = []
    for entry in entries:
        item = items.get(f"{entry.organization_id}:{entry.item_uuid}")
        if item is None:  # an entry whose item is gone from its owner's schema: nothing to show
            continue
        sources.append(m.source_from(entry, item))
    return sources


def entry_versions(scope: Scope, entry: EntryRow) -> list[m.Source]:
    """Every version of an entry's item, oldest first (the current one last)."""
    with schema_context(entry.organization.schema_name):
        item = (
            ClinicalItem.objects.select_related("author", "document")
            .filter(pk=entry.item_uuid, patient=scope.patient)
            .first()
        )
        if item is None:
            raise Http404("No such resource")
        chain = [item]
        while chain[-1].previous_id is not None:
            previous = ClinicalItem.objects.select_related("author").filter(pk=chain[-1].previous_id).first()
            if previous is None:
                break
            chain.append(previous)
    versions = [m.source_from(entry, version, current=False) for version in reversed(chain[1:])]
    versions.append(m.source_from(entry, item))
    return versions


def document_content(scope: Scope, entry: EntryRow) -> tuple[str, bytes]:
    """The uploaded file of a document entry, read from its owner's storage."""
    with schema_context(entry.organization.schema_name):
        item = ClinicalItem.objects.select_related("document").filter(pk=entry.item_uuid, patient=scope.patient).first()
        document = getattr(item, "document", None) if item is not None else None
        if document is None:
            raise Http404("No such resource")
        with document.file.open("rb") as handle:
            return document.content_type, handle.read()


# --- around the record ---------------------------------------------------------------


def identifiers_for(scope: Scope) -> list[PatientIdentifier]:
    """Each organization's MRN, where the caller sees the shared record; its own otherwise
    (which organizations know the patient is itself part of the shared record)."""
    identifiers = PatientIdentifier.objects.filter(patient=scope.patient).select_related("organization")
    if not scope.shared:
        identifiers = identifiers.filter(organization=scope.organization)
    return list(identifiers.order_by("organization__name"))


def care_relationships_for(scope: Scope) -> list[CareRelationship]:
    relationships = CareRelationship.objects.active().filter(patient=scope.patient)
    if not scope.shared:
        relationships = relationships.filter(organization=scope.organization)
    return list(relationships.select_related("organization", "clinician").order_by("starts_at", "pk"))


@dataclass
class CareObjects:
    referrals: list[Any]
    tasks: list[Any]
    handoffs: list[Any]
    messages: list[Any]


def _care_present(patient: NetworkPatient) -> tuple[bool, bool, bool, bool]:
    """Whether any referral, care task, hand-off or message thread about the patient exists
    at all, whoever may see it: one query that lets a record without them skip the care and
    messaging selectors (about ten queries of access checks for nothing). What is read is
    still read only through those selectors."""
    present = (
        NetworkPatient.objects.filter(pk=patient.pk)
        .annotate(
            has_referrals=Exists(Referral.objects.filter(patient=OuterRef("pk"))),
            has_tasks=Exists(CareTask.objects.filter(patient=OuterRef("pk"))),
            has_handoffs=Exists(Handoff.objects.filter(patient=OuterRef("pk"))),
            has_threads=Exists(Thread.objects.filter(patient=OuterRef("pk"))),
        )
        .values_list("has_referrals", "has_tasks", "has_handoffs", "has_threads")
        .first()
    )
    return present or (False, False, False, False)


def care_for(scope: Scope) -> CareObjects:
    user, organization, patient = scope.user, scope.organization, scope.patient
    if _is_client(user):
        return CareObjects(referrals=[], tasks=[], handoffs=[], messages=[])
    has_referrals, has_tasks, has_handoffs, has_threads = _care_present(patient)
    referrals: list[Referral] = []
    if has_referrals:
        attachments = Prefetch("attachments", queryset=RegistryEntry.objects.only("uuid", "kind", "summary"))
        referrals = list(
            (
                referrals_for(user=user, organization=organization, direction="inbound")
                | referrals_for(user=user, organization=organization, direction="outbound")
            )
            .filter(patient=patient)
            .select_related("outcome_entry")
            .prefetch_related(attachments)
            .order_by("-created_at")
        )
    tasks: list[CareTask] = []
    if has_tasks:
        occurrences = Prefetch(
            "occurrences", queryset=TaskOccurrence.objects.select_related("result_entry").order_by("due_at", "pk")
        )
        tasks = list(
            tasks_for(user=user, organization=organization).filter(patient=patient).prefetch_related(occurrences)
        )
    handoffs: list[Handoff] = []
    if has_handoffs:
        handoffs = list(handoffs_for(user=user, organization=organization).filter(patient=patient))
    messages: list[Message] = []
    if has_threads:
        threads = visible_threads(user=user, organization=organization).filter(patient=patient)
        messages = list(
            Message.objects.filter(thread__in=threads)
            .select_related("thread", "sender")
            .prefetch_related(Prefetch("entries", queryset=RegistryEntry.objects.only("uuid", "kind", "summary")))
            .order_by("created_at", "pk")
        )
    return CareObjects(referrals=referrals, tasks=tasks, handoffs=handoffs, messages=messages)


def referral_scope(
    *, user: User | ClientPrincipal, organization: Organization, referral_uuid: str
) -> tuple[Scope, Any]:
    """A referral the user may see here, about a patient the user may open here."""
    if _is_client(user):
        raise Http404("No such resource")
    referral = (
        (
            referrals_for(user=user, organization=organization, direction="inbound")
            | referrals_for(user=user, organization=organization, direction="outbound")
        )
        .filter(uuid=referral_uuid)
        .first()
    )
    if referral is None:
        raise Http404("No such resource")
    return scope_for_patient(user=user, organization=organization, patient_uuid=referral.patient.uuid), referral


def scope_for_resource(
    *,
    user: User | ClientPrincipal,
    organization: Organization,
    resource_type: str,
    resource_id: str,
    entry_types: Iterable[str],
) -> Scope:
    """The patient a resource of ours is about, asked through the access rule: an entry's
    resources by their entry, a referral's, task's, hand-off's or message's through the care
    and messaging selectors, then the patient through ``patient_access_for_user``."""
    uuid, suffix = split_id(resource_id)
    if resource_type == "Patient" or (resource_type == "CareTeam" and suffix == "careteam"):
        if resource_type == "Patient" and suffix:
            raise Http404("No such resource")
        return scope_for_patient(user=user, organization=organization, patient_uuid=uuid)
    if resource_type in entry_types or resource_type in ("Provenance", "Binary"):
        return scope_for_entry(user=user, organization=organization, entry_uuid=uuid)
    if resource_type == "ServiceRequest" or (resource_type == "Task" and suffix == "task"):
        return referral_scope(user=user, organization=organization, referral_uuid=uuid)[0]
    found: Any = None
    if _is_client(user):
        raise Http404("No such resource")
    if resource_type == "Task":
        found = tasks_for(user=user, organization=organization).filter(uuid=uuid).first()
    elif resource_type == "CarePlan":
        found = handoffs_for(user=user, organization=organization).filter(uuid=uuid).first()
    elif resource_type == "Communication":
        message = (
            Message.objects.filter(uuid=uuid, thread__in=visible_threads(user=user, organization=organization))
            .select_related("thread__patient")
            .first()
        )
        found = message.thread if message is not None else None
    patient = getattr(found, "patient", None)
    if patient is None:
        raise Http404("No such resource")
    return scope_for_patient(user=user, organization=organization, patient_uuid=patient.uuid)


def patients_visible(*, user: User | ClientPrincipal, organization: Organization) -> QuerySet[NetworkPatient]:
    if _is_client(user):
        if not _client_here(user, organization):
            return NetworkPatient.objects.none()
        return organization_visible_patients(organization=organization)
    return visible_patients(user=user, organization=organization)


# --- directory -----------------------------------------------------------------------


def organizations_by_uuid(uuids: Iterable[str]) -> list[Organization]:
    return list(Organization.objects.filter(uuid__in=list(uuids)).exclude(schema_name="public").order_by("name"))


def practitioner_get(*, user: User | ClientPrincipal, organization: Organization, practitioner_id: str) -> User:
    """A person of the network's organizations (the directory a clinician already sees on
    referrals and messages), for a clinical member or a client of the organization."""
    if not _may_read_here(user, organization):
        raise Http404("No such resource")
    people = User.objects.filter(memberships__isnull=False).distinct().only("pk", "full_name", "credentials", "npi")
    for person in people.iterator():
        if m.practitioner_id(person.pk) == practitioner_id:
            return User.objects.get(pk=person.pk)
    raise Http404("No such resource")


# --- audit ---------------------------------------------------------------------------


def audit_events_for(*, membership: Membership | None) -> QuerySet[AuditEvent]:
    """The access log of the site admin's organization (as the access-log page reads it)."""
    from portal.audit.selectors import access_log

    return access_log(membership=membership).select_related("patient", "acting_organization")


def fhir_audit(
    *,
    user: User | ClientPrincipal,
    organization: Organization,
    request: HttpRequest | None,
    scopes: list[Scope],
    interaction: str,
) -> None:
    """One event per patient and per organization whose data the request returned."""
    from portal.audit.services import audit_records

    for scope in scopes:
        owners: list[Organization | None] = [*sorted(scope.owners, key=lambda o: o.pk)] if scope.owners else [None]
        audit_records(
            data_owners=owners,
            action=AuditAction.READ,
            actor=user,
            organization=organization,
            request=request,
            object_type="fhir",
            object_id=interaction[:64],
            patient=scope.patient,
            emergency=scope.emergency is not None,
            detail={"interaction": interaction[:200], "client": _client_label(request)},
        )


def _client_label(request: HttpRequest | None) -> str:
    """Which client asked: the portal's signed-in session, or an API client by its id."""
    principal = request_principal(request)
    return f"client:{principal.client.client_id}" if principal is not None else "portal-session"
