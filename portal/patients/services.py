"""Writes to the master patient index and to care relationships."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.patients.matching import normalize_name
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier


@transaction.atomic
def patient_identifier_ensure(
    *, organization: Any, mrn: str, given_name: str, family_name: str, date_of_birth: dt.date, sex: str
) -> NetworkPatient:
    """The network patient behind an organization's MRN, created with it if new (demo and imports)."""
    existing = PatientIdentifier.objects.select_related("patient").filter(organization=organization, mrn=mrn).first()
    if existing is not None:
        return existing.patient
    patient = NetworkPatient.objects.filter(
        match_key=normalize_name(given_name, family_name), date_of_birth=date_of_birth, sex=sex
    ).first()
    if patient is None:
        patient = NetworkPatient.objects.create(
            given_name=given_name,
            family_name=family_name,
            date_of_birth=date_of_birth,
            sex=sex,
            match_key=normalize_name(given_name, family_name),
        )
    PatientIdentifier.objects.create(patient=patient, organization=organization, mrn=mrn)
    return patient


@transaction.atomic
def care_relationship_start(
    *,
    patient: NetworkPatient,
    organization: Any,
    kind: str,
    clinician: Any = None,
    granted_by: Any = None,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    note: str = "",
) -> CareRelationship:
    return CareRelationship.objects.create(
        patient=patient,
        organization=organization,
        kind=kind,
        clinician=clinician,
        granted_by=granted_by,
        starts_at=starts_at or timezone.now(),
        ends_at=ends_at,
        note=note,
    )


@transaction.atomic
def care_relationships_end_for_organization(*, organization: Any, ended_by: Any = None) -> int:
    """End every open care relationship of an organization (offboarding). Returns how many.

    Each goes through ``care_relationship_end`` where this module has one, so whatever
    follows an ending (derived permissions, audit) follows here too.
    """
    open_relationships = CareRelationship.objects.filter(organization=organization, ended_at__isnull=True)
    end_one = globals().get("care_relationship_end")
    if end_one is None:
        return open_relationships.update(ended_at=timezone.now(), ended_by=ended_by)
    count = 0
    for relationship in open_relationships.select_related("organization", "patient"):
        end_one(relationship=relationship, ended_by=ended_by)
        count += 1
    return count
