"""Bulk Data 2.0 at ``/fhir/R4/``: ``Patient/$export`` and ``Group/<id>/$export`` (kick-off),
``$export-status/<job>`` (poll, DELETE to cancel), ``$export-file/<job>/<Type>.ndjson``
(the files), and ``Group/<id>`` (the organization's patients as a Group).

Thin views: parse, ask ``bulk.services`` or ``bulk.selectors``, answer. Only the member who
asked (or the API client) reaches a job's status and files; anyone else gets the same 404 as
for a job that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.fhir import mapping as m
from portal.fhir.bulk import selectors as bs
from portal.fhir.bulk.services import (
    EXPORT_TYPES,
    MEMBER_ONLY_TYPES,
    ExportError,
    Principal,
    export_cancel,
    export_start,
    type_filters_parse,
)
from portal.fhir.bulk.stream import job_folder
from portal.fhir.clients.access import principal_of
from portal.fhir.models import ExportJob, ExportStatus
from portal.fhir.search import SearchError, _date_range
from portal.fhir.views import PREFIX, FhirError, fhir_response, fhir_view

if TYPE_CHECKING:
    from portal.accounts.typing import AuthenticatedRequest

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
KICKOFF_PARAMETERS = {"_type", "_since", "_outputFormat", "_typeFilter"}
RETRY_SECONDS = 2


def export_principal(request: AuthenticatedRequest) -> Principal:
    """The signed-in member, when a clinician or a site admin of this organization. (An API
    client's authentication gives its own ``Principal``: client id and the types its scopes
    allow.)"""
    client = principal_of(request)
    if client is not None:  # a backend client: the types its scopes let it read, nothing more
        allowed = frozenset(t for t in EXPORT_TYPES if client.scopes.allows(t, "read") and t not in MEMBER_ONLY_TYPES)
        if not allowed:
            raise FhirError(
                403, f"The client's scopes ({client.scopes}) allow reading none of the exported types.", "forbidden"
            )
        return Principal(client_id=client.client.client_id, allowed_types=allowed)
    membership = request.membership
    if membership is None or not (membership.is_clinical or membership.is_admin):
        raise FhirError(403, "Bulk export is for the organization's clinicians and site admins.", "forbidden")
    return Principal(user=request.user)


def _status_url(request: AuthenticatedRequest, job: ExportJob) -> str:
    return request.build_absolute_uri(f"{PREFIX}$export-status/{job.uuid}")


def _kickoff(request: AuthenticatedRequest, level: str) -> HttpResponse:
    principal = export_principal(request)
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise FhirError(400, "Bulk export is asynchronous: send the header Prefer: respond-async.", "invalid")
    params = request.GET
    unsupported = sorted(set(params) - KICKOFF_PARAMETERS)
    if unsupported:
        raise FhirError(
            400,
            f"Not supported here: {', '.join(unsupported)} "
            "(this server takes _type, _typeFilter, _since and _outputFormat).",
            "not-supported",
        )
    output_format = params.get("_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise FhirError(400, "_outputFormat: only application/fhir+ndjson is written.", "not-supported")
    types = [part.strip() for value in params.getlist("_type") for part in value.split(",") if part.strip()] or None
    since = None
    if params.get("_since"):
        try:
            since = _date_range(params["_since"])[0]
        except SearchError as error:
            raise FhirError(400, f"_since: {error}", "invalid")
    try:
        type_filters = type_filters_parse(params.getlist("_typeFilter"), types=types)
        job = export_start(
            organization=request.tenant,
            principal=principal,
            level=level,
            types=types,
            since=since,
            request_url=request.build_absolute_uri(),
            type_filters=type_filters,
        )
    except ExportError as error:
        response = fhir_response(m.operation_outcome(error.diagnostics, code=error.code), status=error.status)
        if error.status == 429:
            response["Retry-After"] = "60"
        return response
    response = fhir_response(
        m.operation_outcome(
            "Export started; poll the Content-Location URL.", code="informational", severity="information"
        ),
        status=202,
    )
    response["Content-Location"] = _status_url(request, job)
    return response


@fhir_view
@require_http_methods(["GET"])
def export_patients(request: AuthenticatedRequest) -> HttpResponse:
    return _kickoff(request, "patient")


@fhir_view
@require_http_methods(["GET"])
def export_group(request: AuthenticatedRequest, group_id: str) -> HttpResponse:
    export_principal(request)
    bs.group_organization(organization=request.tenant, group_id=group_id)
    return _kickoff(request, "group")


def _progress(job: ExportJob) -> str:
    if job.status == ExportStatus.ACCEPTED:
        return "queued"
    if not job.entries_total:
        return "in progress"
    done = min(job.entries_done, job.entries_total)
    return f"{100 * done // job.entries_total}% ({done} of {job.entries_total} entries)"


def _manifest(request: AuthenticatedRequest, job: ExportJob) -> dict[str, Any]:
    base = request.build_absolute_uri(f"{PREFIX}$export-file/{job.uuid}/")
    return {
        "transactionTime": m.instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": part["type"], "url": base + part["file"], "count": part["count"]} for part in job.output],
        "error": [],
    }


@fhir_view
@require_http_methods(["GET", "DELETE"])
def export_status(request: AuthenticatedRequest, job_id: str) -> HttpResponse:
    job = bs.export_job_get(organization=request.tenant, principal=export_principal(request), job_id=job_id)
    if request.method == "DELETE":
        export_cancel(job=job)
        return fhir_response(
            m.operation_outcome(
                "Export cancelled; its files are deleted.", code="informational", severity="information"
            ),
            status=202,
        )
    if job.active:
        response = HttpResponse(status=202)
        response["X-Progress"] = _progress(job)
        response["Retry-After"] = str(RETRY_SECONDS)
        return response
    if job.status == ExportStatus.FAILED:
        return fhir_response(m.operation_outcome(job.error, code="exception", severity="fatal"), status=500)
    response = JsonResponse(_manifest(request, job))
    if job.expires_at is not None:
        response["Expires"] = job.expires_at.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


@fhir_view
@require_http_methods(["GET"])
def export_file(request: AuthenticatedRequest, job_id: str, file_name: str) -> HttpResponse:
    principal = export_principal(request)
    job = bs.export_job_get(organization=request.tenant, principal=principal, job_id=job_id)
    kind = file_name.removesuffix(".ndjson")
    part = next((p for p in job.output if p["type"] == kind), None) if job.status == ExportStatus.COMPLETED else None
    path = job_folder(job) / f"{kind}.ndjson"
    if part is None or not path.is_file():
        raise FhirError(404, "Not found: there is no such file, or it is not yours to read.", "not-found")
    audit_record(
        action=AuditAction.READ,
        request=request,
        object_type="fhir",
        object_id=f"$export {job.uuid}",
        data_owner=job.organization,
        detail={"interaction": f"$export file {kind}", "client": principal.label, "resources": part["count"]},
    )
    return FileResponse(path.open("rb"), content_type=NDJSON)  # type: ignore[return-value]  # streamed; fhir_view passes any response through


@fhir_view
@require_http_methods(["GET"])
def group_read(request: AuthenticatedRequest, group_id: str) -> HttpResponse:
    """The organization's patients (those it cares for now) as a Group of persons."""
    principal = export_principal(request)
    organization = bs.group_organization(organization=request.tenant, group_id=group_id)
    members = [str(u) for u in bs.group_members(organization=organization).values_list("uuid", flat=True)]
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": str(organization.uuid),
        "type": "person",
        "actual": True,
        "name": f"Patients of {organization.name}",
        "managingEntity": m.ref("Organization", organization.uuid, organization.name),
        "quantity": len(members),
    }
    if members:
        resource["member"] = [{"entity": m.ref("Patient", uuid)} for uuid in members]
        audit_record(
            action=AuditAction.READ,
            request=request,
            object_type="fhir",
            object_id=f"Group/{organization.uuid}",
            data_owner=organization,
            detail={"interaction": "read Group", "client": principal.label, "patients_count": len(members)},
        )
    return fhir_response(resource)
