"""Reading the shared record: the chart from the registry alone, an item from its owner's schema.

Every function takes the acting user and the organization of the address, asks
``patient_get_for_user`` first, and writes the audit events of the read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.patients.models import EntryStatus, NetworkPatient, PatientView, RegistryEntry
from portal.patients.selectors import (
    patient_access_for_user,
    patient_get_for_user,
    record_shared_with,
    visible_entries,
)
from portal.records.models import ClinicalItem, ItemStatus

if TYPE_CHECKING:
    from uuid import UUID

    from django.http import HttpRequest

    from portal.accounts.models import User
    from portal.patients.models import EmergencyAccess
    from portal.records.models import Document
    from tenants.models import Organization

TESTS_DONE_KINDS = ("lab_result", "imaging_report", "pathology_report")
TIMELINE_LIMIT = 200  # the entries the chart reads for its panels (the newest)
TIMELINE_PAGE = 50  # the timeline's rows per page: the chart shows the newest, "older" the next
TIMELINE_ORDER = ("-effective_at", "-published_at", "-id")
TESTS_DONE_DAYS = 365  # "tests already done": what the network did in the past year


def _tests_done_since() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=TESTS_DONE_DAYS)


@dataclass
class ResultGroup:
    """The results of one test in the past year (same kind and code, or title when there is
    no code), newest first: the chart shows one row per test with the latest result."""

    kind: str
    title: str
    entries: list[RegistryEntry] = field(default_factory=list)

    @property
    def latest(self) -> RegistryEntry:
        return self.entries[0]

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def organizations(self) -> list[Any]:
        """Where the results come from, the latest result's organization first."""
        seen: dict[int, Any] = {}
        for entry in self.entries:
            seen.setdefault(entry.organization_id, entry.organization)
        return list(seen.values())

    def numeric(self) -> list[tuple[RegistryEntry, Decimal]]:
        """(entry, value) of the numeric results in the latest result's unit, oldest first."""
        unit = (self.latest.summary or {}).get("unit", "")
        points = []
        for entry in reversed(self.entries):
            summary = entry.summary or {}
            if summary.get("unit", "") != unit:
                continue
            try:
                value = Decimal(str(summary.get("value")))
            except (InvalidOperation, ValueError):
                continue
            if value.is_finite():
                points.append((entry, value))
        return points

    def values(self) -> list[tuple[dt.datetime, Decimal]]:
        """(when, value) of the numeric results in the latest result's unit, oldest first."""
        return [(entry.effective_at, value) for entry, value in self.numeric()]


def _test_key(entry: RegistryEntry) -> tuple[str, str]:
    return entry.kind, (entry.code.strip().lower() or entry.title.strip().lower())


def results_group(entries: list[RegistryEntry]) -> list[ResultGroup]:
    """Group results (newest first) by test; the groups come in the order of their latest result."""
    groups: dict[tuple[str, str], ResultGroup] = {}
    for entry in entries:
        key = _test_key(entry)
        if key not in groups:
            groups[key] = ResultGroup(kind=entry.kind, title=entry.title)
        groups[key].entries.append(entry)
    return list(groups.values())


@dataclass
class Chart:
    patient: NetworkPatient
    entries: list[RegistryEntry]
    diagnoses: list[RegistryEntry] = field(default_factory=list)
    treatments: list[RegistryEntry] = field(default_factory=list)
    medications: list[RegistryEntry] = field(default_factory=list)
    allergies: list[RegistryEntry] = field(default_factory=list)
    problems: list[RegistryEntry] = field(default_factory=list)
    tests_done: list[RegistryEntry] = field(default_factory=list)
    tests_done_groups: list[ResultGroup] = field(default_factory=list)
    sources: list[Organization] = field(default_factory=list)
    emergency: EmergencyAccess | None = None
    new_since: dt.datetime | None = None
    # The timeline's first page (the newest ``TIMELINE_PAGE`` entries) and the entry the
    # next page starts after, if there are older ones.
    timeline: list[RegistryEntry] = field(default_factory=list)
    older_than: RegistryEntry | None = None
    # False while the organization sees only its own entries (a registration, not yet a
    # relationship that shares the record).
    shared: bool = True


def _audit_reads(
    *,
    user: User,
    organization: Organization,
    request: HttpRequest | None,
    patient: NetworkPatient,
    owners: set[Organization | None],
    object_type: str,
    object_id: str = "",
    emergency: bool = False,
) -> None:
    """One audit event per organization whose data was shown (so each can see who looked)."""
    ip_address = None
    user_agent = ""
    if request is not None:
        ip_address = request.META.get("REMOTE_ADDR")
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:200]
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action=AuditAction.READ,
                actor=user,
                actor_label=user.email,
                acting_organization=organization,
                object_type=object_type,
                object_id=object_id,
                patient=patient,
                data_owner=owner,
                emergency=emergency,
                ip_address=ip_address,
                user_agent=user_agent,
            )
            for owner in (owners or {None})
        ]
    )


def chart_get(
    *, user: User, organization: Organization, patient_uuid: UUID | str, request: HttpRequest | None = None
) -> Chart:
    patient, emergency = patient_access_for_user(user=user, organization=organization, patient_uuid=patient_uuid)
    # The publishing organizations in a second query, one object each: joined, each of up
    # to 200 entries would carry (and parse) its own copy of a handful of organizations.
    entries = list(
        visible_entries(user=user, organization=organization, patient=patient)
        .prefetch_related("organization")
        .order_by(*TIMELINE_ORDER)[:TIMELINE_LIMIT]
    )
    shared = record_shared_with(user=user, organization=organization, patient=patient)
    chart = Chart(patient=patient, entries=entries, emergency=emergency, shared=shared)
    chart.timeline = entries[:TIMELINE_PAGE]
    if len(entries) > TIMELINE_PAGE:
        chart.older_than = chart.timeline[-1]
    year_ago = _tests_done_since()
    for entry in entries:
        if entry.status == EntryStatus.WITHDRAWN:
            continue
        status = (entry.summary or {}).get("status", "")
        if entry.kind == "cancer_diagnosis":
            chart.diagnoses.append(entry)
        elif entry.kind == "treatment":
            chart.treatments.append(entry)
        elif entry.kind == "medication" and status != "stopped":
            chart.medications.append(entry)
        elif entry.kind == "allergy":
            chart.allergies.append(entry)
        elif entry.kind == "problem" and status != "resolved":
            chart.problems.append(entry)
        if entry.kind in TESTS_DONE_KINDS and entry.effective_at >= year_ago:
            chart.tests_done.append(entry)
    chart.tests_done_groups = results_group(chart.tests_done)
    chart.sources = sorted({entry.organization for entry in entries}, key=lambda org: org.name)
    with transaction.atomic():
        chart.new_since = _view_mark_move(user=user, patient=patient)
        _audit_reads(
            user=user,
            organization=organization,
            request=request,
            patient=patient,
            owners={entry.organization for entry in entries},
            object_type="chart",
            emergency=emergency is not None,
        )
    return chart


@dataclass
class TimelinePage:
    """A page of the chart's timeline: entries older than the one it starts after."""

    patient: NetworkPatient
    entries: list[RegistryEntry]
    older_than: RegistryEntry | None = None


def timeline_page_get(
    *,
    user: User,
    organization: Organization,
    patient_uuid: UUID | str,
    after_entry: UUID | str | None,
    request: HttpRequest | None = None,
) -> TimelinePage:
    """The next ``TIMELINE_PAGE`` timeline entries after ``after_entry`` (an entry of this
    patient that this user sees; the newest entries without it), in the chart's order, and
    the audit events of the read. An entry the user may not see is a 404, like a patient."""
    patient, emergency = patient_access_for_user(user=user, organization=organization, patient_uuid=patient_uuid)
    visible = visible_entries(user=user, organization=organization, patient=patient)
    if after_entry is not None:
        start = visible.filter(uuid=after_entry).values("effective_at", "published_at", "id").first()
        if start is None:
            raise Http404("No such entry")
        visible = visible.filter(
            Q(effective_at__lt=start["effective_at"])
            | Q(effective_at=start["effective_at"], published_at__lt=start["published_at"])
            | Q(effective_at=start["effective_at"], published_at=start["published_at"], id__lt=start["id"])
        )
    entries = list(visible.prefetch_related("organization").order_by(*TIMELINE_ORDER)[: TIMELINE_PAGE + 1])
    page = TimelinePage(patient=patient, entries=entries[:TIMELINE_PAGE])
    if len(entries) > TIMELINE_PAGE:
        page.older_than = page.entries[-1]
    _audit_reads(
        user=user,
        organization=organization,
        request=request,
        patient=patient,
        owners={entry.organization for entry in page.entries},
        object_type="chart",
        emergency=emergency is not None,
    )
    return page


def _view_mark_move(*, user: User, patient: NetworkPatient) -> dt.datetime | None:
    """Move the user's "last opened" mark on this chart to now; return where it was (one
    statement: the CTE reads the row as it was before the upsert changes it)."""
    table = PatientView._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH before AS (SELECT last_viewed_at FROM {table} WHERE user_id = %s AND patient_id = %s) "
            f"INSERT INTO {table} (user_id, patient_id, last_viewed_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (user_id, patient_id) DO UPDATE SET last_viewed_at = EXCLUDED.last_viewed_at "
            "RETURNING (SELECT last_viewed_at FROM before)",
            [user.pk, patient.pk, user.pk, patient.pk, timezone.now()],
        )
        return cursor.fetchone()[0]


@dataclass
class OpenedItem:
    entry: RegistryEntry
    item: ClinicalItem
    versions: list[ClinicalItem]
    document: Document | None = None


def entry_open(
    *,
    user: User,
    organization: Organization,
    patient_uuid: UUID | str,
    entry_uuid: UUID | str,
    request: HttpRequest | None = None,
) -> OpenedItem:
    """Open a shared item: the access check, then a read in its owner's schema, then the audit."""
    patient, emergency = patient_access_for_user(user=user, organization=organization, patient_uuid=patient_uuid)
    entry = (
        visible_entries(user=user, organization=organization, patient=patient)
        .select_related("organization", "published_by")
        .filter(uuid=entry_uuid)
        .first()
    )
    if entry is None:
        raise Http404("No such entry")
    entry.patient = patient  # the patient as the access check read it (what it may see included)
    return entry_read(
        entry=entry, patient=patient, user=user, organization=organization, request=request, emergency=emergency
    )


def entry_read(
    *,
    entry: RegistryEntry,
    patient: NetworkPatient,
    user: User,
    organization: Organization,
    request: HttpRequest | None = None,
    emergency: EmergencyAccess | None = None,
    detail: dict[str, Any] | None = None,
) -> OpenedItem:
    """Read an entry's item from its owner's schema and audit the read. Only for a caller that
    has just decided this user may read this entry (``entry_open``, or a referral's side
    reading what the referral carries: ``portal.care.selectors.referral_entry_get_for_user``)."""
    owner = entry.organization
    with schema_context(owner.schema_name):
        item = ClinicalItem.objects.select_related("author").filter(pk=entry.item_uuid, patient=patient).first()
        if item is None:
            raise Http404("No such entry")
        versions = []
        cursor = item.previous
        while cursor is not None:
            versions.append(cursor)
            cursor = cursor.previous
        document = getattr(item, "document", None) if item.kind == "document" else None
    audit_record(
        action=AuditAction.READ,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=item.pk,
        patient=patient,
        data_owner=owner,
        emergency=emergency is not None,
        detail=detail,
    )
    return OpenedItem(entry=entry, item=item, versions=versions, document=document)


def result_history_for(
    *, user: User, organization: Organization, entry: RegistryEntry, access_checked: bool = False
) -> ResultGroup | None:
    """The results of the same test as ``entry`` that the chart's "tests already done" shows
    (past year, not withdrawn), newest first, in one query; ``access_checked`` when
    ``entry_open`` has just checked the patient in this request."""
    if entry.kind not in TESTS_DONE_KINDS:
        return None
    patient = entry.patient
    if not access_checked:
        patient, _ = patient_access_for_user(user=user, organization=organization, patient_uuid=entry.patient.uuid)
    same_test = (
        visible_entries(user=user, organization=organization, patient=patient)
        .filter(kind=entry.kind, effective_at__gte=_tests_done_since())
        .exclude(status=EntryStatus.WITHDRAWN)
    )
    same_test = (
        same_test.filter(code__iexact=entry.code)
        if entry.code.strip()
        else same_test.filter(code="", title__iexact=entry.title)
    )
    results = list(same_test.select_related("organization").order_by("-effective_at", "-published_at")[:TIMELINE_LIMIT])
    return results_group(results)[0] if results else None


def drafts_for(*, user: User, organization: Organization, patient: NetworkPatient) -> QuerySet[ClinicalItem]:
    """This organization's unpublished drafts for the patient (read in the current schema)."""
    return ClinicalItem.objects.filter(patient=patient, status=ItemStatus.DRAFT, private=False).order_by("-created_at")


def own_item_get(*, user: User, organization: Organization, item_id: UUID | str) -> ClinicalItem:
    """An item of this organization's own repository, for its clinicians who see the patient."""
    item = ClinicalItem.objects.select_related("patient").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item")
    patient_get_for_user(user=user, organization=organization, patient_uuid=item.patient.uuid)
    return item
