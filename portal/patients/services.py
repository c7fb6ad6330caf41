"""Writes to the master patient index, care relationships and emergency access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rapidfuzz import fuzz

from portal.accounts.models import Membership
from portal.audit.services import AuditAction, audit_record
from portal.notifications.services import notification_send
from portal.patients.access import chart_permission_grant, chart_permission_sync
from portal.patients.matching import normalize_name
from portal.patients.models import (
    CareRelationship,
    EmergencyAccess,
    MatchStatus,
    NetworkPatient,
    PatientIdentifier,
    PatientMatchCandidate,
    RelationshipKind,
)

EMERGENCY_ACCESS_HOURS = 4
PROBABLE_MATCH_SCORE = 80.0


@dataclass
class Registration:
    patient: NetworkPatient
    outcome: str  # "linked" (existing network patient), "new", or "queued" (new, with a probable match to review)
    candidate: PatientMatchCandidate | None = None


def _new_patient(*, given_name: str, family_name: str, date_of_birth: dt.date, sex: str) -> NetworkPatient:
    return NetworkPatient.objects.create(
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        sex=sex,
        match_key=normalize_name(given_name, family_name),
    )


@transaction.atomic
def patient_register(
    *,
    organization: Any,
    mrn: str,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    sex: str,
    registered_by: Any = None,
    clinician: Any = None,
) -> Registration:
    """Register a patient at an organization under its MRN, linking to the network patient.

    A deterministic match (same normalized name, date of birth and sex) links to the
    existing network patient. A probable but uncertain match (same date of birth, a
    similar name) creates a new network patient and queues the pair for a person to
    confirm or reject: never merged silently. The organization starts caring for the
    patient (a care-team relationship).
    """
    mrn = mrn.strip()
    if not mrn:
        raise ValidationError({"mrn": "The medical record number is required."})
    if date_of_birth > timezone.localdate():
        raise ValidationError({"date_of_birth": "The date of birth cannot be in the future."})
    if PatientIdentifier.objects.filter(organization=organization, mrn__iexact=mrn).exists():
        raise ValidationError({"mrn": f"MRN {mrn} is already registered at {organization.name}."})
    key = normalize_name(given_name, family_name)
    exact = NetworkPatient.objects.filter(match_key=key, date_of_birth=date_of_birth, sex=sex).first()
    candidate = None
    if exact is not None:
        if PatientIdentifier.objects.filter(organization=organization, patient=exact).exists():
            raise ValidationError({"mrn": f"This patient is already registered at {organization.name}."})
        patient, outcome = exact, "linked"
    else:
        patient, outcome = (
            _new_patient(given_name=given_name, family_name=family_name, date_of_birth=date_of_birth, sex=sex),
            "new",
        )
        best: tuple[float, NetworkPatient] | None = None
        for other in NetworkPatient.objects.filter(date_of_birth=date_of_birth).exclude(pk=patient.pk):
            score = fuzz.token_sort_ratio(key, other.match_key)
            if score >= PROBABLE_MATCH_SCORE and (best is None or score > best[0]):
                best = (score, other)
        if best is not None:
            reasons = f"same date of birth; names {best[0]:.0f}% alike"
            if best[1].sex != sex:
                reasons += "; recorded sex differs"
            candidate = PatientMatchCandidate.objects.create(
                patient=patient, candidate=best[1], organization=organization, score=best[0], reasons=reasons
            )
            outcome = "queued"
    PatientIdentifier.objects.create(patient=patient, organization=organization, mrn=mrn)
    care_relationship_start(
        patient=patient,
        organization=organization,
        kind=RelationshipKind.CARE_TEAM,
        clinician=clinician,
        granted_by=registered_by,
    )
    return Registration(patient=patient, outcome=outcome, candidate=candidate)


@transaction.atomic
def patient_match_decide(*, match: PatientMatchCandidate, user: Any, same_person: bool) -> PatientMatchCandidate:
    """Confirm (merge the newly registered record into the existing patient) or reject."""
    if match.status != MatchStatus.PENDING:
        raise ValidationError("This match was already decided.")
    match.status = MatchStatus.CONFIRMED if same_person else MatchStatus.REJECTED
    match.decided_at = timezone.now()
    match.decided_by = user
    match.save(update_fields=["status", "decided_at", "decided_by"])
    if same_person:
        duplicate, keep = match.patient, match.candidate
        for identifier in PatientIdentifier.objects.filter(patient=duplicate):
            if PatientIdentifier.objects.filter(organization_id=identifier.organization_id, patient=keep).exists():
                continue
            identifier.patient = keep
            identifier.save(update_fields=["patient"])
        for relationship in CareRelationship.objects.filter(patient=duplicate):
            relationship.patient = keep
            relationship.match_key = keep.match_key
            relationship.save(update_fields=["patient", "match_key"])
            chart_permission_sync(organization=relationship.organization, patient=keep)
    audit_record(
        action=AuditAction.ADMIN,
        actor=user,
        organization=match.organization,
        object_type="patient_match",
        object_id=match.pk,
        patient=match.candidate,
        detail={"decision": match.status},
    )
    return match


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
        patient = _new_patient(given_name=given_name, family_name=family_name, date_of_birth=date_of_birth, sex=sex)
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
    """An organization starts caring for a patient: the relationship, its permission, an audit event."""
    if ends_at is not None and ends_at <= (starts_at or timezone.now()):
        raise ValidationError({"ends_at": "Access must end after it starts."})
    relationship = CareRelationship.objects.create(
        patient=patient,
        organization=organization,
        kind=kind,
        clinician=clinician,
        granted_by=granted_by,
        starts_at=starts_at or timezone.now(),
        ends_at=ends_at,
        note=note,
        match_key=patient.match_key,
    )
    chart_permission_grant(organization=organization, patient=patient)
    audit_record(
        action=AuditAction.GRANT,
        actor=granted_by,
        organization=organization,
        object_type="care_relationship",
        object_id=relationship.pk,
        patient=patient,
        detail={"kind": kind, "ends_at": ends_at.isoformat() if ends_at else None},
    )
    return relationship


@transaction.atomic
def care_relationship_end(*, relationship: CareRelationship, ended_by: Any = None) -> CareRelationship:
    if relationship.ended_at is not None:
        return relationship
    relationship.ended_at = timezone.now()
    relationship.ended_by = ended_by
    relationship.save(update_fields=["ended_at", "ended_by"])
    chart_permission_sync(organization=relationship.organization, patient=relationship.patient)
    audit_record(
        action=AuditAction.REVOKE,
        actor=ended_by,
        organization=relationship.organization,
        object_type="care_relationship",
        object_id=relationship.pk,
        patient=relationship.patient,
    )
    return relationship


@transaction.atomic
def emergency_access_request(
    *,
    user: Any,
    organization: Any,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    reason: str,
    request: Any = None,
) -> EmergencyAccess:
    """Break the glass: open a time-boxed, flagged access for a clinician without a relationship.

    The patient must be named exactly (name and date of birth); the grant notifies the
    admins of every organization that cares for the patient.
    """
    reason = (reason or "").strip()
    if len(reason) < 15:
        raise ValidationError({"reason": "Say why you need emergency access (at least 15 characters)."})
    membership = Membership.objects.active().clinical().filter(user=user, organization=organization).first()
    if membership is None:
        raise ValidationError("Only clinicians may request emergency access.")
    patient = NetworkPatient.objects.filter(
        match_key=normalize_name(given_name, family_name), date_of_birth=date_of_birth
    ).first()
    if patient is None:
        audit_record(
            action=AuditAction.BREAK_GLASS,
            actor=user,
            organization=organization,
            request=request,
            outcome="denied",
            emergency=True,
            detail={"result": "no matching patient"},
        )
        raise ValidationError("No patient on the network matches that name and date of birth exactly.")
    now = timezone.now()
    grant = EmergencyAccess.objects.create(
        user=user,
        organization=organization,
        patient=patient,
        reason=reason,
        starts_at=now,
        expires_at=now + dt.timedelta(hours=EMERGENCY_ACCESS_HOURS),
    )
    audit_record(
        action=AuditAction.BREAK_GLASS,
        actor=user,
        organization=organization,
        request=request,
        patient=patient,
        emergency=True,
        object_type="emergency_access",
        object_id=grant.uuid,
        detail={"reason": reason[:300], "expires_at": grant.expires_at.isoformat()},
    )
    holders = CareRelationship.objects.active().filter(patient=patient).values("organization")
    by_org: dict[int, list[Any]] = {}
    for m in Membership.objects.active().filter(organization__in=holders).select_related("user"):
        if m.is_admin:
            by_org.setdefault(m.organization_id, []).append(m.user)
    from tenants.models import Organization

    for org in Organization.objects.filter(pk__in=by_org):
        notification_send(
            recipients=by_org[org.pk],
            kind="emergency_access",
            title=f"Emergency access was opened by {user.display_name} at {organization.name}",
            link="/audit/?emergency=1",
            organization=org,
            urgent=True,
        )
    return grant


@transaction.atomic
def care_relationships_end_for_organization(*, organization: Any, ended_by: Any = None) -> int:
    """End every open care relationship of an organization (offboarding). Returns how many.

    Each goes through ``care_relationship_end``, so derived permissions and the audit
    trail follow as for any ending.
    """
    count = 0
    open_relationships = CareRelationship.objects.filter(organization=organization, ended_at__isnull=True)
    for relationship in open_relationships.select_related("organization", "patient"):
        care_relationship_end(relationship=relationship, ended_by=ended_by)
        count += 1
    return count
