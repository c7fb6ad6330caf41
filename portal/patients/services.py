"""Writes to the master patient index, care relationships and emergency access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone
from rapidfuzz import fuzz

from portal.accounts.models import Membership
from portal.accounts.roles import NAVIGATOR_ROLES
from portal.audit.services import AuditAction, audit_record
from portal.notifications.services import notification_send, notifications_mark_read_for
from portal.patients.access import chart_permission_grant, chart_permission_sync
from portal.patients.matching import normalize_name
from portal.patients.models import (
    AccessRequest,
    AccessRequestStatus,
    CareRelationship,
    EmergencyAccess,
    MatchStatus,
    NetworkPatient,
    PatientIdentifier,
    PatientMatchCandidate,
    RegistryEntry,
    RelationshipKind,
)
from portal.text import text_clean

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest

    from portal.accounts.models import User
    from tenants.models import Organization

EMERGENCY_ACCESS_HOURS = 4
PROBABLE_MATCH_SCORE = 80.0


@dataclass
class Registration:
    patient: NetworkPatient
    outcome: str  # "linked" (existing network patient), "new", or "queued" (new, with a probable match to review)
    candidate: PatientMatchCandidate | None = None


def _new_patient(*, given_name: str, family_name: str, date_of_birth: dt.date, sex: str) -> NetworkPatient:
    return NetworkPatient.objects.create(
        given_name=text_clean(given_name),
        family_name=text_clean(family_name),
        date_of_birth=date_of_birth,
        sex=sex,
        match_key=normalize_name(given_name, family_name),
    )


@transaction.atomic
def patient_register(
    *,
    organization: Organization,
    mrn: str,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    sex: str,
    registered_by: User | None = None,
    clinician: User | None = None,
) -> Registration:
    """Register a patient at an organization under its MRN, linking to the network patient.

    A deterministic match (same normalized name, date of birth and sex) links to the
    existing network patient. A probable but uncertain match (same date of birth, a
    similar name) creates a new network patient and queues the pair for a person who may
    already see the candidate to confirm or reject: never merged silently.

    Registering grants nothing of anybody else's: the organization's standing is a
    registration, which opens its own entries only. What other organizations share needs
    a relationship that comes from one of them (a confirmed access request, a referral or
    hand-off from a sharing organization) or break-the-glass. The caller tells the user the
    same thing whatever the outcome, so a registration reveals nothing about who else
    knows the person.
    """
    mrn = text_clean(mrn)
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
        kind=RelationshipKind.REGISTERED,
        clinician=clinician,
        granted_by=registered_by,
        shares_record=False,
    )
    return Registration(patient=patient, outcome=outcome, candidate=candidate)


def match_decider_organizations(*, match: PatientMatchCandidate) -> QuerySet[Organization]:
    """The organizations whose navigators and site admins decide a probable match: those
    that care for the candidate now (they already see that person). Never the
    organization that registered the new record, unless it already cared for the candidate."""
    from tenants.models import Organization

    return Organization.objects.filter(
        pk__in=CareRelationship.objects.active().filter(patient=match.candidate).values("organization")
    )


def may_decide_match(*, user: User, organization: Organization, match: PatientMatchCandidate) -> bool:
    """A navigator or site admin of an organization that cares for the candidate, at its
    address, or a network admin."""
    if getattr(user, "is_network_admin", False) and getattr(organization, "is_network", False):
        return True
    membership = Membership.objects.active().filter(user=user, organization=organization).first()
    if membership is None or not (membership.is_admin or membership.role in NAVIGATOR_ROLES):
        return False
    return match_decider_organizations(match=match).filter(pk=organization.pk).exists()


def _repository_references_to_patient() -> list[tuple[type[Model], str]]:
    """The models of the organizations' repositories (the tenant apps, one schema each) that
    point at a network patient, with the field that does: read from the models, so this
    app names none of the apps above it."""
    from django.conf import settings
    from django.db.models import ForeignKey

    repository_apps = set(settings.TENANT_APPS) - set(settings.SHARED_APPS)
    return [
        (model, field.name)
        for config in django_apps.get_app_configs()
        if config.name in repository_apps
        for model in config.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, ForeignKey) and field.related_model is NetworkPatient
    ]


def _merge_patient(*, duplicate: NetworkPatient, keep: NetworkPatient) -> set[Any]:
    """Move everything of ``duplicate`` onto ``keep``; returns the organizations involved.

    What the duplicate's relationships opened is not carried over: each becomes a
    registration on ``keep`` (its organization's own entries), since it was granted about
    another record, by organizations that may not share ``keep``'s.
    """
    from django_tenants.utils import schema_context

    from portal.patients.models import NetworkPatientGroupObjectPermission, PatientView

    involved: dict[int, Any] = {}
    for identifier in PatientIdentifier.objects.filter(patient=duplicate).select_related("organization"):
        involved[identifier.organization_id] = identifier.organization
        if PatientIdentifier.objects.filter(organization_id=identifier.organization_id, patient=keep).exists():
            continue
        identifier.patient = keep
        identifier.save(update_fields=["patient"])
    for relationship in CareRelationship.objects.filter(patient=duplicate).select_related("organization"):
        involved[relationship.organization_id] = relationship.organization
        relationship.patient = keep
        relationship.match_key = keep.match_key
        relationship.shares_record = False
        relationship.save(update_fields=["patient", "match_key", "shares_record"])
    # Each involved organization's repository (its own schema) follows it too.
    for organization in list(involved.values()):
        with schema_context(organization.schema_name):
            for model, field in _repository_references_to_patient():
                model._default_manager.filter(**{field: duplicate}).update(**{field: keep})
    for entry_owner in RegistryEntry.objects.filter(patient=duplicate).values_list("organization", flat=True):
        involved.setdefault(entry_owner, None)
    RegistryEntry.objects.filter(patient=duplicate).update(patient=keep)
    PatientView.objects.filter(patient=duplicate).delete()
    NetworkPatientGroupObjectPermission.objects.filter(content_object=duplicate).delete()
    # Work about the duplicate (threads, referrals, tasks, hand-offs, requests) follows it.
    for relation in NetworkPatient._meta.related_objects:
        model = relation.related_model
        if (
            model
            in (
                PatientIdentifier,
                CareRelationship,
                RegistryEntry,
                PatientView,
                PatientMatchCandidate,
                NetworkPatientGroupObjectPermission,
            )
            or not relation.many_to_one
        ):
            continue
        model._default_manager.filter(**{relation.field.name: duplicate}).update(**{relation.field.name: keep})
    from tenants.models import Organization

    organizations = set(Organization.objects.filter(pk__in=involved))
    for organization in organizations:
        chart_permission_sync(organization=organization, patient=keep)
    return organizations


@transaction.atomic
def patient_match_decide(
    *, match: PatientMatchCandidate, user: User, same_person: bool, organization: Organization
) -> PatientMatchCandidate:
    """Confirm (merge the newly registered record into the existing patient) or reject.

    Decided by someone who may already see the candidate (``may_decide_match``), never by
    the organization that asked; "same" gives the registering organization the standing of
    a registration (its own entries), never a relationship that shares the record."""
    match = PatientMatchCandidate.objects.select_for_update().get(pk=match.pk)
    if not may_decide_match(user=user, organization=organization, match=match):
        raise PermissionDenied("Only an organization that cares for this patient decides this match.")
    if match.status != MatchStatus.PENDING:
        raise ValidationError("This match was already decided.")
    match.status = MatchStatus.CONFIRMED if same_person else MatchStatus.REJECTED
    match.decided_at = timezone.now()
    match.decided_by = user
    match.save(update_fields=["status", "decided_at", "decided_by"])
    if same_person:
        _merge_patient(duplicate=match.patient, keep=match.candidate)
    audit_record(
        action=AuditAction.ADMIN,
        actor=user,
        organization=organization,
        object_type="patient_match",
        object_id=match.pk,
        patient=match.candidate,
        data_owner=match.organization,
        detail={"decision": match.status},
    )
    registrars = Membership.objects.active().filter(organization=match.organization).select_related("user")
    recipients = [m.user for m in registrars if m.is_admin or m.role in NAVIGATOR_ROLES]
    if recipients:
        notification_send(
            recipients=recipients,
            kind="patient_match",
            title="A registration's identity review was decided",
            link="/patients/matches/",
            organization=match.organization,
        )
    return match


@transaction.atomic
def patient_identifier_ensure(
    *, organization: Organization, mrn: str, given_name: str, family_name: str, date_of_birth: dt.date, sex: str
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
    organization: Organization,
    kind: str,
    clinician: User | None = None,
    granted_by: User | None = None,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    note: str = "",
    shares_record: bool = True,
) -> CareRelationship:
    """An organization starts caring for a patient: the relationship, its permissions, and
    one audit event per organization whose data it opens (so the grant is in each one's
    access log): the organization's own for a registration; for a relationship that shares
    the record, every organization that publishes about or cares for the patient."""
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
        shares_record=shares_record,
    )
    chart_permission_grant(organization=organization, patient=patient, shares_record=shares_record)
    for owner in data_owners_opened(relationship=relationship):
        audit_record(
            action=AuditAction.GRANT,
            actor=granted_by,
            organization=organization,
            object_type="care_relationship",
            object_id=relationship.pk,
            patient=patient,
            data_owner=owner,
            detail={
                "kind": kind,
                "shares_record": shares_record,
                "ends_at": ends_at.isoformat() if ends_at else None,
            },
        )
    return relationship


def data_owners_opened(*, relationship: CareRelationship) -> list[Any]:
    """The organizations whose data a relationship opens: its own organization's, and for a
    relationship that shares the record also every other organization that publishes
    about or cares for the patient."""
    from tenants.models import Organization

    if not relationship.shares_record:
        return [relationship.organization]
    owners = Organization.objects.filter(
        Q(pk=relationship.organization_id)
        | Q(pk__in=RegistryEntry.objects.filter(patient=relationship.patient_id).values("organization"))
        | Q(pk__in=CareRelationship.objects.active().filter(patient=relationship.patient_id).values("organization"))
    )
    return list(owners.order_by("pk"))


@transaction.atomic
def care_relationship_end(*, relationship: CareRelationship, ended_by: User | None = None) -> CareRelationship:
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
    user: User,
    organization: Organization,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    reason: str,
    request: HttpRequest | None = None,
) -> EmergencyAccess:
    """Break the glass: open a time-boxed, flagged access for a clinician without a relationship.

    The patient must be named exactly (name and date of birth); the grant notifies the
    admins of every organization that cares for the patient.
    """
    reason = text_clean(reason or "")
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
            subject=grant,
        )
    return grant


@transaction.atomic
def care_relationships_end_for_organization(*, organization: Organization, ended_by: User | None = None) -> int:
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


ACCESS_REQUEST_REASON_MIN = 15


def access_request_deciders(*, patient: NetworkPatient, exclude: Organization | None = None) -> QuerySet[Organization]:
    """Organizations that may answer a request to see a patient's shared record: those
    whose active relationship with the patient shares it."""
    from tenants.models import Organization

    sharing = CareRelationship.objects.active().filter(patient=patient, shares_record=True)
    organizations = Organization.objects.filter(pk__in=sharing.values("organization"))
    return organizations.exclude(pk=exclude.pk) if exclude is not None else organizations


@transaction.atomic
def access_request_create(
    *, user: User, organization: Organization, patient: NetworkPatient, reason: str, request: HttpRequest | None = None
) -> AccessRequest:
    """An organization that registered a patient asks the organizations sharing the
    patient's record to let it see what they share. Their navigators and site admins are
    told (no clinical detail); the asker is told the same whether anyone is asked or not."""
    from portal.patients.selectors import record_shared_with, user_can_view_patient

    reason = text_clean(reason or "")
    if len(reason) < ACCESS_REQUEST_REASON_MIN:
        raise ValidationError(
            {
                "reason": f"Say why your organization needs the shared record (at least {ACCESS_REQUEST_REASON_MIN} characters)."
            }
        )
    if Membership.objects.active().clinical().filter(user=user, organization=organization).first() is None:
        raise PermissionDenied("Only clinical staff ask for access to a patient's record.")
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("No such patient.")
    if record_shared_with(user=user, organization=organization, patient=patient):
        raise ValidationError("Your organization already sees this patient's shared record.")
    pending = AccessRequest.objects.filter(
        patient=patient, organization=organization, status=AccessRequestStatus.PENDING
    ).first()
    if pending is not None:
        raise ValidationError("Your organization has already asked; the request is waiting for an answer.")
    access_request = AccessRequest.objects.create(
        patient=patient, organization=organization, requested_by=user, reason=reason[:2000]
    )
    audit_record(
        action=AuditAction.ADMIN,
        actor=user,
        organization=organization,
        request=request,
        object_type="access_request",
        object_id=access_request.uuid,
        patient=patient,
        detail={"asked": "shared record"},
    )
    deciders = access_request_deciders(patient=patient, exclude=organization)
    for decider in deciders:
        people = [
            m.user
            for m in Membership.objects.active().filter(organization=decider).select_related("user")
            if m.is_admin or m.role in NAVIGATOR_ROLES
        ]
        if people:
            notification_send(
                recipients=people,
                kind="access_request",
                title=f"{organization.name} asks to see a patient's shared record",
                link="/patients/access-requests/",
                organization=decider,
                subject=access_request,
            )
    return access_request


def may_decide_access_request(*, user: User, organization: Organization, access_request: AccessRequest) -> bool:
    membership = Membership.objects.active().filter(user=user, organization=organization).first()
    if membership is None or not (membership.is_admin or membership.role in NAVIGATOR_ROLES):
        return False
    if access_request.organization_id == organization.pk:
        return False
    return access_request_deciders(patient=access_request.patient).filter(pk=organization.pk).exists()


@transaction.atomic
def access_request_decide(
    *,
    access_request: AccessRequest,
    user: User,
    organization: Organization,
    confirm: bool,
    reason: str = "",
    request: HttpRequest | None = None,
) -> AccessRequest:
    """A navigator or site admin of an organization sharing the patient's record confirms
    (a sharing care-team relationship starts, granted by them, in every data owner's access
    log) or declines with a reason."""
    access_request = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if not may_decide_access_request(user=user, organization=organization, access_request=access_request):
        raise PermissionDenied("No such request.")
    if access_request.status != AccessRequestStatus.PENDING:
        raise ValidationError("This request was already answered.")
    reason = text_clean(reason or "")
    if not confirm and not reason:
        raise ValidationError({"reason": "Give a reason for declining."})
    now = timezone.now()
    access_request.decided_at = now
    access_request.decided_by = user
    access_request.deciding_organization = organization
    fields = ["status", "decided_at", "decided_by", "deciding_organization"]
    if confirm:
        access_request.status = AccessRequestStatus.CONFIRMED
        access_request.relationship = care_relationship_start(
            patient=access_request.patient,
            organization=access_request.organization,
            kind=RelationshipKind.CARE_TEAM,
            granted_by=user,
            note=f"Access request {access_request.uuid} confirmed by {organization.name}",
            shares_record=True,
        )
        fields.append("relationship")
    else:
        access_request.status = AccessRequestStatus.DECLINED
        access_request.decline_reason = reason[:2000]
        fields.append("decline_reason")
        audit_record(
            action=AuditAction.ADMIN,
            actor=user,
            organization=organization,
            request=request,
            object_type="access_request",
            object_id=access_request.uuid,
            patient=access_request.patient,
            data_owner=organization,
            detail={"decision": "declined"},
        )
    access_request.save(update_fields=fields)
    notification_send(
        recipients=[access_request.requested_by],
        kind="access_request",
        title=f"{organization.name} {'confirmed' if confirm else 'declined'} your request to see a shared record",
        link="/patients/access-requests/",
        organization=access_request.organization,
        subject=access_request,
    )
    # Deciding answers what the deciding organization was told about the request.
    notifications_mark_read_for(user=user, subject=access_request, organization=organization)
    return access_request
