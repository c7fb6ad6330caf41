"""Reads of patients, and the one question every route asks: may this user see this patient?

A user opens a patient's chart at an organization's address only through
1. an active clinical membership there, and that organization's active care relationship
   with the patient (backed by the guardian permission derived from it), or
2. their own active emergency ("break-the-glass") grant.
What the chart shows is a second question: the organization's own entries always; what
other organizations share only while one of its relationships shares the record (not a
bare registration: ``view_shared_record``) or through the user's emergency grant. Every
read of registry entries goes through ``visible_entries`` (one patient) or
``shared_entry_condition`` (many).
Forbidden and missing give the same answer (``Http404``), so a guessed id reveals nothing.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from portal.accounts.selectors import clinical_membership
from portal.db.replica import stale_reads
from portal.patients.access import VIEW_SHARED, access_ids
from portal.patients.models import (
    CareRelationship,
    EmergencyAccess,
    NetworkPatient,
    NetworkPatientGroupObjectPermission,
    RegistryEntry,
)

if TYPE_CHECKING:
    from uuid import UUID

    from django.db.models.expressions import Combinable

    from portal.accounts.models import User
    from tenants.models import Organization

# Set on a patient by the selectors below: whether the asking user sees what other
# organizations share about them (a sharing relationship or the user's emergency grant).
# The query annotates ``SHARED_ATTRIBUTE``; the answer is then kept per (user, organization)
# under ``SHARED_ANSWERS``, so a patient object passed on to a call for someone else is
# asked again rather than answered with another person's access.
SHARED_ATTRIBUTE = "record_shared_here"
SHARED_ANSWERS = "_record_shared_answers"


def _shared_answer_keep(*, patient: NetworkPatient, user: User, organization: Organization, shared: bool) -> None:
    answers = patient.__dict__.setdefault(SHARED_ANSWERS, {})
    answers[(getattr(user, "pk", None), getattr(organization, "pk", None))] = bool(shared)


# "Never opened": every entry is new.
_NEVER = _dt.datetime(1900, 1, 1, tzinfo=_dt.UTC)


def _open_grants(*, user: User, organization: Organization, now: _dt.datetime) -> QuerySet[EmergencyAccess]:
    """The user's open break-the-glass grants at this address (few and short-lived)."""
    return EmergencyAccess.objects.filter(
        user=user, organization=organization, starts_at__lte=now, expires_at__gt=now, revoked_at__isnull=True
    )


def _emergency_grants(*, user: User, organization: Organization, now: _dt.datetime) -> list[EmergencyAccess]:
    return list(_open_grants(user=user, organization=organization, now=now).order_by("-expires_at"))


def _active_relationships(*, organization: Organization, now: _dt.datetime) -> QuerySet[CareRelationship]:
    return CareRelationship.objects.active(at=now).filter(organization=organization)


def _chart_permission(*, organization: Organization) -> Exists:
    """The guardian permission derived from the organization's relationships: one probe of
    guardian's unique (group, permission, object) index per patient row."""
    return Exists(_group_permission(*access_ids(organization), patient_ref=OuterRef("pk")))


def _group_permission(
    group_id: int | None, permission_id: int, *, patient_ref: OuterRef | NetworkPatient
) -> QuerySet[NetworkPatientGroupObjectPermission]:
    """The guardian rows granting ``permission_id`` on the patient to the group. An
    organization without a clinical group yet (``None``) matches no row."""
    return NetworkPatientGroupObjectPermission.objects.filter(
        group_id=group_id,  # type: ignore[misc]  # None is meant: IS NULL matches no row
        permission_id=permission_id,
        content_object=patient_ref,
    )


def _shared_access(
    *, organization: Organization, now: _dt.datetime, patient_ref: OuterRef | NetworkPatient | None = None
) -> Q:
    """A sharing relationship of this organization with the patient and the
    ``view_shared_record`` permission derived from it (the record beyond its own entries)."""
    patient_ref = patient_ref if patient_ref is not None else OuterRef("pk")
    relationship = _active_relationships(organization=organization, now=now).filter(
        patient=patient_ref, shares_record=True
    )
    permission = _group_permission(*access_ids(organization, VIEW_SHARED), patient_ref=patient_ref)
    return Exists(relationship) & Exists(permission)


def _regular_access(*, organization: Organization, now: _dt.datetime) -> Q:
    """An active care relationship of this organization with the patient, and the guardian
    permission derived from it."""
    relationship = _active_relationships(organization=organization, now=now).filter(patient=OuterRef("pk"))
    return Exists(relationship) & _chart_permission(organization=organization)


def _access_condition(*, user: User, organization: Organization, grants: list[EmergencyAccess] | None = None) -> Q:
    """The access rule over many patients. Break-the-glass grants are read first (one indexed
    query) so the usual case, no grant, leaves the planner plain semi-joins instead of an OR."""
    now = timezone.now()
    regular = _regular_access(organization=organization, now=now)
    if grants is None:
        grants = _emergency_grants(user=user, organization=organization, now=now)
    emergency = [grant.patient_id for grant in grants]
    return (regular | Q(pk__in=emergency)) if emergency else regular


def _one_patient_access(*, user: User, organization: Organization) -> Q | Combinable:
    """The same rule for a single patient, grants included, in one query (for one row an OR
    costs the planner nothing)."""
    now = timezone.now()
    grant = _open_grants(user=user, organization=organization, now=now).filter(patient=OuterRef("pk"))
    return _regular_access(organization=organization, now=now) | Exists(grant)


def visible_patients(*, user: User, organization: Organization) -> QuerySet[NetworkPatient]:
    """The patients this user may see at this organization's address (a queryset)."""
    if clinical_membership(user=user, organization=organization) is None:
        return NetworkPatient.objects.none()
    return NetworkPatient.objects.filter(_access_condition(user=user, organization=organization))


def patients_cared_for(*, organization: Organization) -> QuerySet[NetworkPatient]:
    """The patients this organization cares for now (an active care relationship and the
    permission derived from it): the rule of ``visible_patients`` for the organization as a
    whole, without any one user's emergency grants (a bulk export, the FHIR Group). Each
    patient carries ``SHARED_ATTRIBUTE``: whether their record is shared with the organization."""
    now = timezone.now()
    return NetworkPatient.objects.filter(_regular_access(organization=organization, now=now)).annotate(
        **{SHARED_ATTRIBUTE: _shared_access(organization=organization, now=now)}
    )


def user_can_view_patient(*, user: User, organization: Organization, patient: NetworkPatient) -> bool:
    if clinical_membership(user=user, organization=organization) is None:
        return False
    access = _one_patient_access(user=user, organization=organization)
    return NetworkPatient.objects.filter(access, pk=patient.pk).exists()


def membership_sees_patient(*, patient: NetworkPatient) -> Q | Combinable:
    """For ``Membership`` rows (active and clinical): may that person see this patient at
    that organization — the rule of ``user_can_view_patient``, inside one query for a whole
    list of people: the organization's relationship and permission, or the person's own
    open emergency grant there."""
    from portal.patients.access import organization_sees_patient

    now = timezone.now()
    grant = EmergencyAccess.objects.filter(
        patient=patient,
        user=OuterRef("user"),
        organization=OuterRef("organization"),
        starts_at__lte=now,
        expires_at__gt=now,
        revoked_at__isnull=True,
    )
    return organization_sees_patient(patient=patient, now=now) | Exists(grant)


def patient_get_for_user(*, user: User, organization: Organization, patient_uuid: UUID | str) -> NetworkPatient:
    """The patient, if this user may see them at this address; else ``Http404``."""
    if clinical_membership(user=user, organization=organization) is None:
        raise Http404("No such patient")
    now = timezone.now()
    access = _one_patient_access(user=user, organization=organization)
    grant = _open_grants(user=user, organization=organization, now=now).filter(patient=OuterRef("pk"))
    shared = _shared_access(organization=organization, now=now) | Exists(grant)
    patient = NetworkPatient.objects.filter(access, uuid=patient_uuid).annotate(**{SHARED_ATTRIBUTE: shared}).first()
    if patient is None:
        raise Http404("No such patient")
    _shared_answer_keep(
        patient=patient, user=user, organization=organization, shared=getattr(patient, SHARED_ATTRIBUTE)
    )
    return patient


def patient_access_for_user(
    *, user: User, organization: Organization, patient_uuid: UUID | str
) -> tuple[NetworkPatient, EmergencyAccess | None]:
    """The patient (as ``patient_get_for_user``) and the user's open emergency grant for
    them, if any, from one read of the grants."""
    if clinical_membership(user=user, organization=organization) is None:
        raise Http404("No such patient")
    now = timezone.now()
    grants = _emergency_grants(user=user, organization=organization, now=now)
    patient = (
        NetworkPatient.objects.filter(_access_condition(user=user, organization=organization, grants=grants))
        .filter(uuid=patient_uuid)
        .annotate(**{SHARED_ATTRIBUTE: _shared_access(organization=organization, now=now)})
        .first()
    )
    if patient is None:
        raise Http404("No such patient")
    emergency = next((grant for grant in grants if grant.patient_id == patient.pk), None)
    shared = emergency is not None or bool(getattr(patient, SHARED_ATTRIBUTE))
    _shared_answer_keep(patient=patient, user=user, organization=organization, shared=shared)
    return patient, emergency


def record_shared_with(*, user: User, organization: Organization, patient: NetworkPatient) -> bool:
    """Whether this user at this address sees what other organizations share about the
    patient (a sharing relationship, or the user's own emergency grant). Read from the
    patient when a selector of this module has just answered it."""
    known = patient.__dict__.get(SHARED_ANSWERS, {}).get((getattr(user, "pk", None), getattr(organization, "pk", None)))
    if known is not None:
        return bool(known)
    now = timezone.now()
    grant = _open_grants(user=user, organization=organization, now=now).filter(patient=OuterRef("pk"))
    shared = NetworkPatient.objects.filter(
        _shared_access(organization=organization, now=now) | Exists(grant), pk=patient.pk
    ).exists()
    _shared_answer_keep(patient=patient, user=user, organization=organization, shared=shared)
    return shared


def visible_entries(*, user: User, organization: Organization, patient: NetworkPatient) -> QuerySet[RegistryEntry]:
    """The registry entries about ``patient`` this user may see here: the organization's
    own, and the others' only where the record is shared with it. The caller has checked
    that the user may open the patient at all (``patient_get_for_user`` and kin)."""
    entries = RegistryEntry.objects.filter(patient=patient)
    if not record_shared_with(user=user, organization=organization, patient=patient):
        entries = entries.filter(organization=organization)
    return entries


# --- The organization itself as the one who asks (a backend API client acting for it) ---
#
# The rule its clinicians share: the organization's active care relationships and the
# permissions derived from them, the record beyond its own entries only through a
# relationship that shares it. Nobody's emergency grant counts (those are one person's).


def _organization_may_ask(organization: Organization) -> bool:
    return organization is not None and not organization.is_network and organization.is_active


def organization_visible_patients(*, organization: Organization) -> QuerySet[NetworkPatient]:
    """The patients the organization's clinicians may see through its relationships."""
    if not _organization_may_ask(organization):
        return NetworkPatient.objects.none()
    return NetworkPatient.objects.filter(_regular_access(organization=organization, now=timezone.now()))


def organization_patient_access(*, organization: Organization, patient_uuid: UUID | str) -> tuple[NetworkPatient, bool]:
    """The patient, if the organization cares for them (else ``Http404``), and whether what
    other organizations share about them is shared with it."""
    if not _organization_may_ask(organization):
        raise Http404("No such patient")
    now = timezone.now()
    patient = (
        NetworkPatient.objects.filter(_regular_access(organization=organization, now=now), uuid=patient_uuid)
        .annotate(**{SHARED_ATTRIBUTE: _shared_access(organization=organization, now=now)})
        .first()
    )
    if patient is None:
        raise Http404("No such patient")
    return patient, bool(getattr(patient, SHARED_ATTRIBUTE))


def organization_visible_entries(*, organization: Organization, patient: NetworkPatient) -> QuerySet[RegistryEntry]:
    """``visible_entries`` for the organization itself: its own entries, and the others'
    only through a relationship that shares the record."""
    entries = RegistryEntry.objects.filter(patient=patient)
    shared = NetworkPatient.objects.filter(
        _shared_access(organization=organization, now=timezone.now()), pk=patient.pk
    ).exists()
    return entries if shared else entries.filter(organization=organization)


def shared_entry_condition(*, organization: Organization, entry_patient: str = "patient") -> Q:
    """For queries over many patients' entries: an entry counts for this organization when
    it is its own or the patient's record is shared with it (emergency grants, one user's
    and short-lived, are left out of such lists)."""
    shared = _shared_access(organization=organization, now=timezone.now(), patient_ref=OuterRef(entry_patient))
    return Q(organization=organization) | shared


def has_regular_access(*, organization: Organization, patient: NetworkPatient) -> bool:
    return CareRelationship.objects.active().filter(organization=organization, patient=patient).exists()


def my_patients(*, user: User, organization: Organization, only_mine: bool = False) -> QuerySet[NetworkPatient]:
    """The clinician's patients here, each with its MRN here and the count of entries
    published since the user last opened the chart (all of them if never)."""
    from django.db.models import BooleanField, Case, Count, F, Subquery, Value, When
    from django.db.models.functions import Coalesce

    from portal.patients.models import PatientIdentifier, PatientView

    patients = visible_patients(user=user, organization=organization)
    if only_mine:
        patients = patients.filter(
            care_relationships__in=CareRelationship.objects.active().filter(organization=organization, clinician=user)
        )
    last_view = PatientView.objects.filter(user=user, patient=OuterRef("pk")).values("last_viewed_at")[:1]
    mrn = PatientIdentifier.objects.filter(organization=organization, patient=OuterRef("pk")).values("mrn")[:1]
    # Entries of other organizations published after the mark on *this* patient. The mark
    # is read on the patient's row (the ``last_viewed_at`` annotation) and compared from the
    # entries' subquery through ``OuterRef``: a ``PatientView`` subquery nested inside the
    # entries' subquery would resolve ``OuterRef("pk")`` to the entry's id, not the patient's.
    entry_counts = shared_entry_condition(organization=organization)
    new_entries = (
        RegistryEntry.objects.filter(patient=OuterRef("pk"))
        .filter(entry_counts)
        .exclude(organization=organization)
        .filter(published_at__gt=Coalesce(OuterRef("last_viewed_at"), Value(_NEVER)))
        .values("patient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    latest = (
        RegistryEntry.objects.filter(patient=OuterRef("pk"))
        .filter(entry_counts)
        .order_by("-published_at")
        .values("published_at")[:1]
    )
    return (
        patients.annotate(mrn_here=Subquery(mrn), last_viewed_at=Subquery(last_view))
        .annotate(new_count=Coalesce(Subquery(new_entries), 0), last_entry_at=Subquery(latest))
        .annotate(
            has_new=Case(When(new_count__gt=0, then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .distinct()
        # Something new first, then the latest entry, then by name.
        .order_by(F("has_new").desc(), F("last_entry_at").desc(nulls_last=True), "family_name", "given_name")
    )


# How many of the nearest names a name search ranks: twice a page of 25, so a page stays
# full after the permission check, however large the practice. The walk stops there: the
# last candidates are the farthest and cost the most pages (100 read three times the pages
# of 50 at a million patients, for the same first page).
SEARCH_CANDIDATES = 50


def patient_search(*, user: User, organization: Organization, query: str, limit: int = 25) -> list[NetworkPatient]:
    """Search by name (tolerant of typos), date of birth or MRN, among visible patients only.

    Nothing about other patients is revealed: a search that finds nothing says only that.
    """
    query = (query or "").strip()
    if not query:
        return []
    with stale_reads():  # from the read replica when there is one (portal.db.replica)
        return _patient_search(user=user, organization=organization, query=query, limit=limit)


def _patient_search(*, user: User, organization: Organization, query: str, limit: int) -> list[NetworkPatient]:
    import datetime as dt

    from django.contrib.postgres.search import TrigramWordDistance, TrigramWordSimilarity

    from portal.patients.matching import normalize_name
    from portal.patients.models import PatientIdentifier

    if clinical_membership(user=user, organization=organization) is None:
        return []
    now = timezone.now()
    grants = _emergency_grants(user=user, organization=organization, now=now)
    patients = NetworkPatient.objects.filter(_access_condition(user=user, organization=organization, grants=grants))
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            born = dt.datetime.strptime(query, pattern).date()
        except ValueError:
            continue
        return list(patients.filter(date_of_birth=born).order_by("family_name", "given_name")[:limit])
    if any(character.isdigit() for character in query):  # medical record numbers have digits; names don't
        by_mrn = list(
            patients.filter(
                pk__in=PatientIdentifier.objects.filter(mrn__in={query, query.upper()}).values("patient_id")
            )[:limit]
        )
        if by_mrn:
            return by_mrn
    key = normalize_name(query, "")
    if len(key) < 2:
        return []
    # The access rule read from the relationships' side, and the nearest names first: this
    # organization's active care relationships ordered by word distance to the query
    # through their (organization, name) trigram GiST index, which walks the index in that
    # order and stops after ``SEARCH_CANDIDATES`` rows, so a practice of 100,000 patients
    # costs about what one of 10,000 does (a GIN index had to fetch and rank every
    # similar name of the practice: hundreds of "Kowalski"s; why the index also holds the
    # names' initials: its comment in portal/patients/models.py). Of those candidates, the
    # ones close enough (the word similarity every database session starts with,
    # portal.db.base.SESSION_SETTINGS) or containing the query, then the permission derived
    # from their relationships, as for every other read. The patients of the user's
    # emergency grants are matched by their own name. The organization's id is compared as
    # the column's own type, so the index's organization column serves the condition.
    nearest = (
        CareRelationship.objects.active(at=now)
        .filter(organization_id=Cast(Value(organization.pk), BigIntegerField()))
        .annotate(distance=TrigramWordDistance(key, "match_key"))
        .order_by("distance")
        .values("patient_id")[:SEARCH_CANDIDATES]
    )
    name_matches = Q(match_key__trigram_word_similar=key) | Q(match_key__contains=key)
    found: Q | Combinable = Q(pk__in=nearest) & name_matches & _chart_permission(organization=organization)
    emergency = [grant.patient_id for grant in grants]
    if emergency:
        found |= Q(pk__in=emergency) & name_matches
    return list(
        NetworkPatient.objects.filter(found)
        .annotate(similarity=TrigramWordSimilarity(key, "match_key"))
        .order_by("-similarity", "family_name", "given_name")[:limit]
    )


def matches_to_decide(*, organization: Organization) -> QuerySet[Any]:
    """Pending probable matches whose candidate this organization cares for now: its
    navigators and site admins already see that person, so they decide (views also ask
    for the role)."""
    from portal.patients.models import MatchStatus, PatientMatchCandidate

    caring = CareRelationship.objects.active().filter(organization=organization).values("patient")
    return PatientMatchCandidate.objects.filter(status=MatchStatus.PENDING, candidate__in=caring).exclude(
        organization=organization
    )


def access_requests_to_decide(*, organization: Organization) -> QuerySet[Any]:
    """Pending requests about patients whose record this organization shares."""
    from portal.patients.models import AccessRequest, AccessRequestStatus

    sharing = CareRelationship.objects.active().filter(organization=organization, shares_record=True)
    return (
        AccessRequest.objects.filter(status=AccessRequestStatus.PENDING, patient__in=sharing.values("patient"))
        .exclude(organization=organization)
        .order_by("created_at")
    )
