"""The access log of a site admin: filters, pages, a per-patient report and CSV exports."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.audit.forms import AccessLogFilterForm
from portal.audit.labels import event_label
from portal.audit.models import AuditEvent
from portal.audit.selectors import access_log, patient_for_report
from portal.audit.services import AuditAction, audit_record

if TYPE_CHECKING:
    from uuid import UUID

    from django.core.paginator import Page

    from portal.accounts.typing import AuthenticatedRequest, TenantRequest

PAGE_SIZE = 50
CSV_HEADER = [
    "occurred_at",
    "person",
    "email",
    "acting_organization",
    "ip_address",
    "what",
    "patient",
    "patient_id",
    "whose_data",
    "emergency",
    "outcome",
]


def _events(
    request: HttpRequest, patient_uuid: UUID | str | None = None
) -> tuple[AccessLogFilterForm, dict[str, Any], QuerySet[AuditEvent]]:
    membership = getattr(request, "membership", None)
    form = AccessLogFilterForm(request.GET or None)
    filters = form.filters()
    events = access_log(membership=membership, patient_uuid=patient_uuid, **filters)
    return form, filters, events


def _page(request: HttpRequest, events: QuerySet[AuditEvent]) -> Page[AuditEvent]:
    return Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def log(request: AuthenticatedRequest) -> HttpResponse:
    form, filters, events = _events(request)
    return render(
        request,
        "audit/log.html",
        {"page": _page(request, events), "form": form, "emergency_only": filters.get("emergency_only", False)},
    )


@login_required
def patient_report(request: AuthenticatedRequest, patient_uuid: str) -> HttpResponse:
    patient = patient_for_report(membership=getattr(request, "membership", None), patient_uuid=patient_uuid)
    form, _filters, events = _events(request, patient_uuid=patient_uuid)
    return render(
        request, "audit/patient_report.html", {"page": _page(request, events), "patient": patient, "form": form}
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(events: Iterable[AuditEvent]) -> Iterator[list[str]]:
    yield CSV_HEADER
    zone = timezone.get_current_timezone()
    for event in events:
        patient = event.patient
        yield [
            _cell(value)
            for value in (
                timezone.localtime(event.occurred_at, zone).isoformat(timespec="seconds"),
                event.actor.display_name if event.actor else "",
                event.actor_label,
                event.acting_organization.name if event.acting_organization else "",
                event.ip_address or "",
                event_label(event),
                f"{patient.family_name}, {patient.given_name}" if patient else "",
                str(patient.uuid) if patient else "",
                event.data_owner.name if event.data_owner else "",
                "yes" if event.emergency else "no",
                event.get_outcome_display(),
            )
        ]


def _export(request: TenantRequest, patient_uuid: UUID | str | None = None) -> StreamingHttpResponse:
    membership = getattr(request, "membership", None)
    patient = patient_for_report(membership=membership, patient_uuid=patient_uuid) if patient_uuid else None
    form, filters, events = _events(request, patient_uuid=patient_uuid)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_type="access_log",
        patient=patient,
        data_owner=request.tenant,  # the membership's organization (access_log refused anyone else)
        detail={"filters": form.describe(filters), "rows": events.count()},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _csv_rows(events.iterator(chunk_size=500))), content_type="text/csv"
    )
    name = f"access-log-{patient.uuid}" if patient else "access-log"
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate().isoformat()}.csv"'
    return response


@login_required
def log_export(request: AuthenticatedRequest) -> StreamingHttpResponse:
    return _export(request)


@login_required
def patient_report_export(request: AuthenticatedRequest, patient_uuid: str) -> StreamingHttpResponse:
    return _export(request, patient_uuid=patient_uuid)
