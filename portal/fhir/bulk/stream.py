"""Running a bulk export: the organization's patients and the entries it may see about them,
mapped to FHIR and written as NDJSON (one file per resource type) as they are read.

Streaming keeps memory flat whatever the size: the entries come from one server-side
cursor (``.iterator(chunk_size=…)``) and are handled a batch at a time — the batch's items
read from their owners' schemas (one query per owner), mapped, each resource encoded and
appended to its type's file — and nothing of a batch is kept after it but counts, the
patients and organizations it named (for the audit) and the directory references its
resources made (Organizations and Practitioners, written at the end).

The access rule is the one reads use, for the organization as a whole: the patients it
cares for now (``patients_cared_for``: an active care relationship and the permission
derived from it), their entries where they are the organization's own or the record is
shared with it (``shared_entry_condition``), each patient's identifiers and care team as
``identifiers_for`` and ``care_relationships_for`` give them. Emergency grants, one user's
and short-lived, never reach an export.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.http import QueryDict
from django_tenants.utils import schema_context

from portal.accounts.models import User
from portal.fhir import mapping as m
from portal.fhir import selectors as s
from portal.fhir.models import ExportJob, ExportStatus
from portal.fhir.record import ENTRY_TYPES, kinds_for
from portal.fhir.render import DIRECTORY_REFERENCE
from portal.fhir.search import Search, parse
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier, RegistryEntry
from portal.patients.selectors import SHARED_ATTRIBUTE, patients_cared_for, shared_entry_condition
from portal.records.models import ClinicalItem, Document
from tenants.models import Organization

PATIENT_BATCH = 500
ENTRY_BATCH = 1000
CURSOR_CHUNK = 2000


class Cancelled(Exception):
    """The job was cancelled (DELETE on its status URL) while it ran."""


def job_folder(job: ExportJob) -> Path:
    return Path(settings.FHIR_EXPORT_ROOT) / job.organization.schema_name / str(job.uuid)


def folder_remove(job: ExportJob) -> None:
    shutil.rmtree(job_folder(job), ignore_errors=True)


def batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


@dataclass(slots=True)
class PatientRef:
    """What the mapping reads of an entry's patient."""

    uuid: Any


@dataclass
class Written:
    """Open files, counts, and what the written resources named."""

    folder: Path
    handles: dict[str, IO[bytes]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    references: set[bytes] = field(default_factory=set)
    patients: set[int] = field(default_factory=set)
    owners: set[int] = field(default_factory=set)

    def write(self, resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        handle = self.handles.get(kind)
        if handle is None:
            handle = self.handles[kind] = open(self.folder / f"{kind}.ndjson", "wb", buffering=1 << 20)  # noqa: SIM115
            self.counts[kind] = 0
        line = orjson.dumps(resource)
        handle.write(line)
        handle.write(b"\n")
        self.counts[kind] += 1
        if b'"reference":"Organization/' in line or b'"reference":"Practitioner/' in line:
            self.references.update(DIRECTORY_REFERENCE.findall(line))

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class People:
    """Users by pk, read once each (authors, publishers, clinicians: a few per organization)."""

    def __init__(self) -> None:
        self.known: dict[int, User] = {}

    def get(self, pks: Iterable[int | None]) -> dict[int, User]:
        missing = {pk for pk in pks if pk is not None and pk not in self.known}
        if missing:
            for user in User.objects.filter(pk__in=missing).only("pk", "full_name", "credentials", "npi", "is_active"):
                self.known[user.pk] = user
        return self.known


def _check_running(job: ExportJob) -> None:
    if ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).exists():
        return
    raise Cancelled


def export_entries(
    *, organization: Organization, since: dt.datetime | None, types: set[str]
) -> QuerySet[RegistryEntry]:
    """The entries of the organization's patients it may see (own, or shared with it)."""
    cared_for = patients_cared_for(organization=organization).values("pk")
    entries = RegistryEntry.objects.filter(patient__in=cared_for).filter(
        shared_entry_condition(organization=organization)
    )
    if "Provenance" not in types:
        entries = entries.filter(kind__in=sorted(kinds_for(types)))
    if since is not None:
        entries = entries.filter(published_at__gte=since)
    return entries


def _patients_part(job: ExportJob, types: set[str], out: Written, people: People) -> None:
    organization, since = job.organization, job.since
    patients = patients_cared_for(organization=organization).order_by("pk")
    for batch in batched(patients.iterator(chunk_size=PATIENT_BATCH), PATIENT_BATCH):
        _check_running(job)
        ids = [patient.pk for patient in batch]
        identifiers: dict[int, list[PatientIdentifier]] = {}
        if "Patient" in types:
            found = PatientIdentifier.objects.filter(patient_id__in=ids).select_related("organization")
            for identifier in found.order_by("organization__name", "pk"):
                identifiers.setdefault(identifier.patient_id, []).append(identifier)
        teams: dict[int, list[CareRelationship]] = {}
        if "CareTeam" in types:
            relationships = CareRelationship.objects.active().filter(patient_id__in=ids)
            for relationship in relationships.select_related("organization").order_by("starts_at", "pk"):
                teams.setdefault(relationship.patient_id, []).append(relationship)
            people.get(r.clinician_id for team in teams.values() for r in team)
        for patient in batch:
            shared = bool(getattr(patient, SHARED_ATTRIBUTE))
            if "Patient" in types and (since is None or patient.created_at >= since):
                own = [i for i in identifiers.get(patient.pk, []) if shared or i.organization_id == organization.pk]
                out.write(m.patient_resource(patient, own))
                out.patients.add(patient.pk)
            if "CareTeam" in types:
                team = [r for r in teams.get(patient.pk, []) if shared or r.organization_id == organization.pk]
                if since is not None and not any(r.starts_at >= since for r in team):
                    continue
                for relationship in team:
                    if relationship.clinician_id:
                        relationship.clinician = people.known[relationship.clinician_id]
                out.write(m.care_team_resource(patient, team))
                out.patients.add(patient.pk)


def _items(
    rows: list[s.EntryRow], organizations: dict[int, Organization], patient_of: dict[str, int], people: People
) -> dict[tuple[int, Any], s.ItemRow]:
    """The current item of each entry, read in its owner's schema (one query per owner, one
    more where documents are); an item counts only for the entry's own patient."""
    by_owner: dict[int, list[Any]] = {}
    patients = {patient_of[str(row.uuid)] for row in rows}
    for row in rows:
        by_owner.setdefault(row.organization_id, []).append(row.item_uuid)
    items: dict[tuple[int, Any], s.ItemRow] = {}
    item_patient: dict[tuple[int, Any], int] = {}
    for owner_id, ids in by_owner.items():
        with schema_context(organizations[owner_id].schema_name):
            found = ClinicalItem.objects.filter(pk__in=ids, patient_id__in=patients)
            rows_found = [
                (s.ItemRow(*values[:-1]), values[-1]) for values in found.values_list(*s.ITEM_COLUMNS, "patient_id")
            ]
            documents = [item.id for item, _ in rows_found if item.kind == "document"]
            stored = {d.item_id: d for d in Document.objects.filter(item_id__in=documents)} if documents else {}
        for item, patient_id in rows_found:
            item.document = stored.get(item.id)
            items[(owner_id, item.id)] = item
            item_patient[(owner_id, item.id)] = patient_id
    known = people.get(item.author_id for item in items.values())
    for item in items.values():
        item.author = known.get(item.author_id) if item.author_id else None
    for row in rows:
        key = (row.organization_id, row.item_uuid)
        if key in items and item_patient[key] != patient_of[str(row.uuid)]:
            del items[key]
    return items


def type_filter_searches(job: ExportJob) -> dict[str, list[Search]]:
    """A job's ``_typeFilter`` queries (checked when it started), read for testing resources."""
    return {
        resource_type: [parse(resource_type, QueryDict(query), strict=True) for query in queries]
        for resource_type, queries in (job.type_filters or {}).items()
    }


def _entries_part(job: ExportJob, types: set[str], out: Written, people: People) -> None:
    organization = job.organization
    organizations = {o.pk: o for o in Organization.objects.all()}
    entries = export_entries(organization=organization, since=job.since, types=types)
    rows = entries.order_by("patient_id", "pk").values_list(*s.ENTRY_COLUMNS, "patient_id", "patient__uuid")
    want_provenance = "Provenance" in types
    filters = type_filter_searches(job)
    done = 0
    for batch in batched(rows.iterator(chunk_size=CURSOR_CHUNK), ENTRY_BATCH):
        _check_running(job)
        entry_rows = []
        patient_of: dict[str, int] = {}
        for values in batch:
            row = s.EntryRow(*values[:-2])
            row.patient = PatientRef(values[-1])
            row.organization = organizations[row.organization_id]
            patient_of[str(row.uuid)] = values[-2]
            entry_rows.append(row)
        known = people.get(row.published_by_id for row in entry_rows)
        for row in entry_rows:
            row.published_by = known.get(row.published_by_id) if row.published_by_id else None
        items = _items(entry_rows, organizations, patient_of, people)
        for row in entry_rows:
            item = items.get((row.organization_id, row.item_uuid))
            if item is None:  # an entry whose item is gone from its owner's schema: nothing to show
                continue
            source = m.source_from(row, item)
            written = filtered = False
            for resource in m.entry_resources(source):
                kind = resource["resourceType"]
                if kind not in types:
                    continue
                if kind in filters and not any(search.matches(resource) for search in filters[kind]):
                    filtered = True
                    continue
                out.write(resource)
                written = True
            if filtered and not written:  # _typeFilter left the entry out: its Provenance too
                continue
            if want_provenance:
                out.write(m.provenance_resource(source, source.derived))
            out.patients.add(patient_of[str(row.uuid)])
            out.owners.add(row.organization_id)
        done += len(batch)
        ExportJob.objects.filter(pk=job.pk).update(entries_done=done)


# The care work an organization takes part in: its referrals (sent or received), care tasks
# (owned or asked for) and hand-offs (sent or received), about the patients it cares for now.
CARE_WORK_TYPES = frozenset({"ServiceRequest", "Task", "CarePlan"})
CARE_BATCH = 500


def _care_part(job: ExportJob, types: set[str], out: Written, people: People) -> None:
    """Write the care work: ``ServiceRequest`` and ``Task`` per referral, ``Task`` per care task
    and occurrence, ``CarePlan`` per hand-off. A referral's attachments, consult report or a
    task's result are referenced only when the export may show that entry."""
    from portal.care.models import CareTask, Handoff, Referral, TaskOccurrence

    organization, since = job.organization, job.since
    cared_for = patients_cared_for(organization=organization).values("pk")
    shown = export_entries(organization=organization, since=None, types={"Provenance"})
    filters = type_filter_searches(job)

    def write(resource: dict[str, Any], patient_id: int, owners: Iterable[int]) -> None:
        kind = resource["resourceType"]
        if kind not in types:
            return
        if kind in filters and not any(search.matches(resource) for search in filters[kind]):
            return
        out.write(resource)
        out.patients.add(patient_id)
        out.owners.update(owners)

    def visible(uuids: set[Any]) -> set[str]:
        return {str(u) for u in shown.filter(uuid__in=list(uuids)).values_list("uuid", flat=True)} if uuids else set()

    if types & {"ServiceRequest", "Task"}:
        referrals = (
            Referral.objects.filter(
                Q(receiving_organization=organization) | Q(referring_organization=organization), patient__in=cared_for
            )
            .select_related(
                "patient", "referring_organization", "receiving_organization", "referred_by", "outcome_entry"
            )
            .prefetch_related(Prefetch("attachments", queryset=RegistryEntry.objects.only("uuid", "kind", "summary")))
            .order_by("pk")
        )
        if since is not None:
            referrals = referrals.filter(updated_at__gte=since)
        for batch in batched(referrals.iterator(chunk_size=CARE_BATCH), CARE_BATCH):
            _check_running(job)
            wanted = {e.uuid for r in batch for e in r.attachments.all()}
            wanted |= {r.outcome_entry.uuid for r in batch if r.outcome_entry is not None}
            seen = visible(wanted)
            people.get(r.referred_by_id for r in batch)
            for referral in batch:
                owners = (referral.referring_organization_id, referral.receiving_organization_id)
                for resource in m.referral_resources(referral, visible_entry_ids=seen):
                    write(resource, referral.patient_id, owners)
    if "Task" in types:
        occurrences = Prefetch(
            "occurrences", queryset=TaskOccurrence.objects.select_related("result_entry").order_by("due_at", "pk")
        )
        tasks = (
            CareTask.objects.filter(
                Q(owner_organization=organization) | Q(creating_organization=organization), patient__in=cared_for
            )
            .select_related("patient", "owner_organization", "creating_organization", "owner_user", "created_by")
            .prefetch_related(occurrences)
            .order_by("pk")
        )
        if since is not None:
            tasks = tasks.filter(created_at__gte=since)
        for batch in batched(tasks.iterator(chunk_size=CARE_BATCH), CARE_BATCH):
            _check_running(job)
            seen = visible({o.result_entry.uuid for t in batch for o in t.occurrences.all() if o.result_entry})
            people.get(pk for t in batch for pk in (t.owner_user_id, t.created_by_id))
            for task in batch:
                owners = (task.creating_organization_id, task.owner_organization_id)
                for resource in m.care_task_resources(task, list(task.occurrences.all()), visible_entry_ids=seen):
                    write(resource, task.patient_id, owners)
    if "CarePlan" in types:
        handoffs = (
            Handoff.objects.filter(
                Q(from_organization=organization) | Q(to_organization=organization), patient__in=cared_for
            )
            .select_related(
                "patient", "from_organization", "to_organization", "from_user", "to_user", "acknowledged_by"
            )
            .order_by("pk")
        )
        if since is not None:
            handoffs = handoffs.filter(sent_at__gte=since)
        for batch in batched(handoffs.iterator(chunk_size=CARE_BATCH), CARE_BATCH):
            _check_running(job)
            people.get(pk for h in batch for pk in (h.from_user_id, h.to_user_id, h.acknowledged_by_id))
            for handoff in batch:
                write(m.handoff_resource(handoff), handoff.patient_id, (handoff.from_organization_id,))


def _directory_part(types: set[str], out: Written, people: People) -> None:
    references = {reference.decode() for reference in out.references}
    if "Organization" in types:
        uuids = sorted(r.split("/", 1)[1] for r in references if r.startswith("Organization/"))
        for organization in s.organizations_by_uuid(uuids):
            out.write(m.organization_resource(organization))
    if "Practitioner" in types:
        wanted = {r.split("/", 1)[1] for r in references if r.startswith("Practitioner/")}
        for pk, user in sorted(people.known.items()):
            if m.practitioner_id(pk) in wanted:
                out.write(m.practitioner_resource(user))


def export_write(job: ExportJob) -> Written:
    """Write the job's files; raises ``Cancelled`` when the job stops running meanwhile."""
    types = set(job.types)
    folder = job_folder(job)
    shutil.rmtree(folder, ignore_errors=True)  # a retried job starts again
    folder.mkdir(parents=True)
    out = Written(folder=folder)
    people = People()
    try:
        if types & {"Patient", "CareTeam"}:
            _patients_part(job, types, out, people)
        if types & (ENTRY_TYPES | {"Provenance"}):
            _entries_part(job, types, out, people)
        if types & CARE_WORK_TYPES:
            _care_part(job, types, out, people)
        if types & {"Organization", "Practitioner"}:
            _directory_part(types, out, people)
    finally:
        out.close()
    return out


def entries_total(job: ExportJob) -> int:
    return export_entries(organization=job.organization, since=job.since, types=set(job.types)).count()


def patient_uuids(pks: Iterable[int]) -> list[str]:
    return [
        str(u) for u in NetworkPatient.objects.filter(pk__in=list(pks)).order_by("pk").values_list("uuid", flat=True)
    ]
