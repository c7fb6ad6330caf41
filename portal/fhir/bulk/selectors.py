"""Reads of bulk export jobs and of the organization's Group: only the requester's own jobs,
at the address they asked at; forbidden and missing are the same 404."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from portal.fhir.bulk.services import Principal
from portal.fhir.models import ExportJob, ExportStatus
from portal.patients.models import NetworkPatient
from portal.patients.selectors import patients_cared_for
from tenants.models import Organization


def export_job_get(*, organization: Organization, principal: Principal, job_id: str) -> ExportJob:
    """The principal's own job at this organization, not cancelled and not expired."""
    try:
        job_uuid = uuid.UUID(job_id)
    except ValueError:
        raise Http404("No such export")
    if principal.user is None and not principal.client_id:
        raise Http404("No such export")
    job = (
        ExportJob.objects.filter(
            uuid=job_uuid, organization=organization, requested_by=principal.user, client_id=principal.client_id
        )
        .exclude(status=ExportStatus.CANCELLED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .select_related("organization")
        .first()
    )
    if job is None:
        raise Http404("No such export")
    return job


def group_organization(*, organization: Organization, group_id: str) -> Organization:
    """The organization's own Group (its id is the organization's uuid); any other: 404."""
    if group_id != str(organization.uuid):
        raise Http404("No such group")
    return organization


def group_members(*, organization: Organization) -> QuerySet[NetworkPatient]:
    return patients_cared_for(organization=organization).order_by("pk")
