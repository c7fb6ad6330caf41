"""Who looked at an organization's data: reads for its site admins."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from portal.audit.models import AuditEvent, AuditOutcome
from portal.patients.models import CareRelationship, NetworkPatient

if TYPE_CHECKING:
    from uuid import UUID

    from portal.accounts.models import Membership


def _admin(membership: Membership | None) -> Membership:
    if membership is None or not membership.is_admin:
        raise Http404("No such page")
    return membership


def access_log(
    *,
    membership: Membership | None,
    emergency_only: bool = False,
    patient_uuid: UUID | str | None = None,
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
    organization = _admin(membership).organization
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


def patient_for_report(*, membership: Membership | None, patient_uuid: UUID | str) -> NetworkPatient:
    """A patient the organization holds (a record here or a relationship), for its access report."""
    organization = _admin(membership).organization
    patient = (
        NetworkPatient.objects.filter(
            Q(identifiers__organization=organization) | Q(care_relationships__organization=organization),
            uuid=patient_uuid,
        )
        .distinct()
        .first()
    )
    if patient is None:
        raise Http404("No such patient")
    return patient
