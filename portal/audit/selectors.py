"""Who looked at an organization's data: reads for its site admins."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from portal.audit.models import AuditEvent
from portal.patients.models import NetworkPatient


def _admin(membership: Any) -> None:
    if membership is None or not membership.is_admin:
        raise Http404("No such page")


def access_log(*, membership: Any, emergency_only: bool = False, patient_uuid: Any = None) -> QuerySet[AuditEvent]:
    """Events touching this organization's data, or done under emergency access to its patients."""
    _admin(membership)
    organization = membership.organization
    events = AuditEvent.objects.filter(
        Q(data_owner=organization) | Q(emergency=True, patient__care_relationships__organization=organization)
    )
    if emergency_only:
        events = events.filter(emergency=True)
    if patient_uuid:
        events = events.filter(patient__uuid=patient_uuid)
    return (
        events.select_related("actor", "acting_organization", "patient", "data_owner")
        .distinct()
        .order_by("-occurred_at")
    )


def patient_for_report(*, membership: Any, patient_uuid: Any) -> NetworkPatient:
    """A patient the organization holds (a record here or a relationship), for its access report."""
    _admin(membership)
    patient = (
        NetworkPatient.objects.filter(
            Q(identifiers__organization=membership.organization)
            | Q(care_relationships__organization=membership.organization),
            uuid=patient_uuid,
        )
        .distinct()
        .first()
    )
    if patient is None:
        raise Http404("No such patient")
    return patient
