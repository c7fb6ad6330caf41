"""Who looked at an organization's data: reads for its site admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from portal.audit.models import AuditEvent, AuditOutcome
from portal.patients.models import CareRelationship, NetworkPatient


def _admin(membership: Any) -> None:
    if membership is None or not membership.is_admin:
        raise Http404("No such page")


def access_log(
    *,
    membership: Any,
    emergency_only: bool = False,
    patient_uuid: Any = None,
    person: str = "",
    action: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
    denied_only: bool = False,
) -> QuerySet[AuditEvent]:
    """Events touching this organization's data, or done under emergency access to its patients.

    Filters: a person (part of the actor's name or email), an action, a date range (whole
    days in the portal's time zone, both ends included), emergency access only, one patient.
    The patients under emergency access come from a subquery, so no row is repeated.
    """
    _admin(membership)
    organization = membership.organization
    its_patients = CareRelationship.objects.filter(organization=organization).values("patient_id")
    events = AuditEvent.objects.filter(
        Q(data_owner=organization)
        | Q(emergency=True, patient_id__in=its_patients)
        # Refused requests of this organization's own people (what they asked for, by id).
        | Q(outcome=AuditOutcome.DENIED, acting_organization=organization)
    )
    if denied_only:
        events = events.filter(outcome=AuditOutcome.DENIED)
    if emergency_only:
        events = events.filter(emergency=True)
    if patient_uuid:
        events = events.filter(patient__uuid=patient_uuid)
    if person:
        events = events.filter(Q(actor_label__icontains=person) | Q(actor__full_name__icontains=person))
    if action:
        events = events.filter(action=action)
    zone = timezone.get_current_timezone()
    if start:
        events = events.filter(occurred_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=zone))
    if end:
        events = events.filter(
            occurred_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        )
    return events.select_related("actor", "acting_organization", "patient", "data_owner").order_by(
        "-occurred_at", "-pk"
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
