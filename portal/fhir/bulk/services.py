"""Bulk export (FHIR Bulk Data 2.0 ``$export``): starting, running, cancelling and expiring
jobs. A job runs in Celery (``portal.fhir.tasks.export_job_run``), writes NDJSON files under
``FHIR_EXPORT_ROOT`` and writes one audit event per organization whose data it exported
(naming the patients, their count and the client); its files go ``FHIR_EXPORT_HOURS`` after
it ends (``export_jobs_expire``, periodic).

Who asks is a ``Principal``: a member signed in at the organization's address (a clinician
or a site admin), or an API client of the organization whose scopes narrow the types
(``allowed_types``). ``export_start`` takes either.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditAction
from portal.audit.services import audit_records
from portal.fhir.bulk.stream import (
    CARE_WORK_TYPES,
    Cancelled,
    entries_total,
    export_write,
    folder_remove,
    patient_uuids,
)
from portal.fhir.models import ExportJob, ExportStatus
from portal.fhir.record import ENTRY_TYPES
from portal.fhir.search import SearchError, parse
from tenants.models import Organization

logger = logging.getLogger("portal.fhir.bulk")

# The types an export writes, in this order (one file each). The care work the organization
# takes part in (ServiceRequest, Task, CarePlan: its referrals, care tasks and hand-offs) is
# exported for its members; messages (Communication) are one person's threads and are read
# through $everything; audit events through AuditEvent.
EXPORT_TYPES: tuple[str, ...] = (
    "Patient",
    "CareTeam",
    *sorted(ENTRY_TYPES),
    "Provenance",
    "ServiceRequest",
    "Task",
    "CarePlan",
    "Organization",
    "Practitioner",
)
# Not for API clients: the care objects are not given to clients (portal.fhir.clients.access).
MEMBER_ONLY_TYPES = frozenset(CARE_WORK_TYPES)
DEFAULT_TYPES = EXPORT_TYPES
# Types a _typeFilter does not narrow (they follow the patients and entries written).
NOT_FILTERED = frozenset({"Patient", "CareTeam", "Provenance", "Organization", "Practitioner"})


class ExportError(Exception):
    def __init__(self, status: int, diagnostics: str, code: str = "invalid") -> None:
        super().__init__(diagnostics)
        self.status, self.diagnostics, self.code = status, diagnostics, code


@dataclass(frozen=True)
class Principal:
    """Who asks: a signed-in member (``user``) or an API client (``client_id``); an API
    client's scopes give ``allowed_types`` (None: every type the organization may see)."""

    user: User | None = None
    client_id: str = ""
    allowed_types: frozenset[str] | None = None

    @property
    def label(self) -> str:
        return f"client:{self.client_id}" if self.client_id else "portal-session"


def export_types_resolve(*, requested: list[str] | None, principal: Principal) -> list[str]:
    """The types to write: those asked for (each one we export and the principal may read),
    else every type the principal may read."""
    allowed = [t for t in EXPORT_TYPES if principal.allowed_types is None or t in principal.allowed_types]
    if not requested:
        if not allowed:
            raise ExportError(403, "This client's scopes allow none of the exported resource types.", "forbidden")
        return allowed
    unknown = sorted(set(requested) - set(EXPORT_TYPES))
    if unknown:
        raise ExportError(
            400,
            f"_type: not exported in bulk: {', '.join(unknown)} (exported: {', '.join(EXPORT_TYPES)}).",
            "not-supported",
        )
    refused = sorted(set(requested) - set(allowed))
    if refused:
        raise ExportError(403, f"_type: this client's scopes do not allow {', '.join(refused)}.", "forbidden")
    return [t for t in EXPORT_TYPES if t in requested]


# What a _typeFilter query may ask (the search parameters the writer can test on a resource).
TYPE_FILTER_PARAMETERS = frozenset({"category", "code", "date", "_lastUpdated"})
TYPE_FILTER_SPLIT = re.compile(r",(?=[A-Z][A-Za-z]{1,40}\?)")


def type_filters_parse(values: list[str], *, types: list[str] | None) -> dict[str, list[str]]:
    """``_typeFilter`` (``Observation?category=laboratory``, several joined by commas or
    repeated): the queries by type; ``ExportError`` (400) for a type not exported or not in
    ``_type``, a parameter outside ``category``, ``code``, ``date`` and ``_lastUpdated``, or a
    value those cannot read."""
    filters: dict[str, list[str]] = {}
    for value in values:
        for text in TYPE_FILTER_SPLIT.split(value):
            resource_type, mark, query = text.strip().partition("?")
            if not mark or not query:
                raise ExportError(400, f"_typeFilter: {text!r} is not Type?query (Observation?category=laboratory).")
            if resource_type not in EXPORT_TYPES or resource_type in NOT_FILTERED:
                raise ExportError(
                    400, f"_typeFilter: {resource_type} is not a type filtered in bulk here.", "not-supported"
                )
            if types is not None and resource_type not in types:
                raise ExportError(400, f"_typeFilter: {resource_type} is not among the types asked for (_type).")
            params = QueryDict(query)
            unknown = sorted(set(params) - TYPE_FILTER_PARAMETERS)
            if unknown:
                raise ExportError(
                    400,
                    f"_typeFilter: {', '.join(unknown)} not supported (category, code, date and _lastUpdated are).",
                    "not-supported",
                )
            try:
                parse(resource_type, params, strict=True)
            except (SearchError, ValueError) as error:
                raise ExportError(400, f"_typeFilter: {text}: {error}")
            filters.setdefault(resource_type, []).append(query)
    return filters


def export_start(
    *,
    organization: Organization,
    principal: Principal,
    level: str,
    types: list[str] | None,
    since: dt.datetime | None,
    request_url: str,
    type_filters: dict[str, list[str]] | None = None,
) -> ExportJob:
    """Record the job and hand it to a worker after commit. ``ExportError`` (429) when the
    principal already has ``FHIR_EXPORT_ACTIVE_JOBS`` unfinished jobs here."""
    from portal.celery import send_in_schema
    from portal.fhir.tasks import export_job_run

    if principal.user is None and not principal.client_id:
        raise ExportError(403, "An export is asked for by a member or an API client.", "forbidden")
    chosen = export_types_resolve(requested=types, principal=principal)
    with transaction.atomic():
        active = ExportJob.objects.select_for_update().filter(
            organization=organization,
            requested_by=principal.user,
            client_id=principal.client_id,
            status__in=[ExportStatus.ACCEPTED, ExportStatus.RUNNING],
        )
        if len(active) >= settings.FHIR_EXPORT_ACTIVE_JOBS:
            raise ExportError(429, "Exports of yours are still running here; wait for them or cancel one.", "throttled")
        job = ExportJob.objects.create(
            organization=organization,
            requested_by=principal.user,
            client_id=principal.client_id,
            level=level,
            types=chosen,
            since=since,
            type_filters=type_filters or {},
            request_url=request_url[:2000],
        )
        job_uuid = str(job.uuid)
        transaction.on_commit(lambda: send_in_schema(export_job_run, "public", job_uuid))
    return job


def export_run(*, job_uuid: str) -> str:
    """Run a job (the worker's side): idempotent — a job already ended is left alone, a job
    the worker lost part-way starts again from the beginning."""
    started = ExportJob.objects.filter(uuid=job_uuid, status__in=[ExportStatus.ACCEPTED, ExportStatus.RUNNING]).update(
        status=ExportStatus.RUNNING, transaction_time=timezone.now(), entries_done=0
    )
    if not started:
        return "ended"
    job = ExportJob.objects.select_related("organization", "requested_by").get(uuid=job_uuid)
    ExportJob.objects.filter(pk=job.pk).update(entries_total=entries_total(job))
    try:
        written = export_write(job)
    except Cancelled:
        folder_remove(job)
        return "cancelled"
    except Exception:
        folder_remove(job)
        logger.exception("FHIR export %s failed", job_uuid)
        if ExportJob.objects.filter(pk=job.pk, status=ExportStatus.CANCELLED).exists():
            return "cancelled"
        now = timezone.now()
        ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            error="The export failed on our side; nothing was kept. Start it again.",
            finished_at=now,
            expires_at=now + dt.timedelta(hours=settings.FHIR_EXPORT_HOURS),
        )
        return "failed"
    output = [
        {"type": kind, "file": f"{kind}.ndjson", "count": written.counts[kind]}
        for kind in job.types
        if written.counts.get(kind)
    ]
    now = timezone.now()
    with transaction.atomic():
        finished = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.COMPLETED,
            output=output,
            patients_count=len(written.patients),
            finished_at=now,
            expires_at=now + dt.timedelta(hours=settings.FHIR_EXPORT_HOURS),
        )
        if not finished:  # cancelled at the last moment
            transaction.on_commit(lambda: folder_remove(job))
            return "cancelled"
        owners = list(Organization.objects.filter(pk__in=written.owners | {job.organization_id}).order_by("pk"))
        principal_label = f"client:{job.client_id}" if job.client_id else "portal-session"
        audit_records(
            data_owners=owners,
            action=AuditAction.EXPORT,
            actor=job.requested_by,
            organization=job.organization,
            object_type="fhir",
            object_id=f"$export {job.uuid}",
            detail={
                "interaction": f"{job.level.capitalize()}/$export",
                "client": principal_label,
                "patients_count": len(written.patients),
                "patients": patient_uuids(written.patients),
                "resources": written.total,
                "types": job.types,
                "since": job.since.isoformat() if job.since else None,
                "type_filters": job.type_filters or None,
            },
        )
    return "completed"


def export_cancel(*, job: ExportJob) -> None:
    """DELETE on the status URL: stop the job if it runs, delete its files; the status URL
    and the files answer 404 from now on."""
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.CANCELLED, finished_at=now, expires_at=now)
    folder_remove(job)


def export_jobs_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files and rows of jobs past their time (periodic)."""
    now = now or timezone.now()
    expired = list(ExportJob.objects.filter(expires_at__lte=now).select_related("organization"))
    for job in expired:
        folder_remove(job)
    ExportJob.objects.filter(pk__in=[job.pk for job in expired]).delete()
    return len(expired)
