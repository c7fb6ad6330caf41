"""Care relationships → django-guardian object permissions.

Each organization has a group standing for its clinical staff; while the organization
has an active care relationship with a patient, that group holds ``view_chart`` on the
patient (guardian's direct foreign-key model, never the generic one): the chart opens,
with the organization's own entries. While one of those relationships shares the record
(``shares_record``: not a bare registration), the group also holds
``view_shared_record``: what the other organizations publish about the patient. The selectors
ask for both the permission and a relationship active *now*, so an access that expires
ends at once, and the periodic ``relationships_expire`` task then removes the
permission that no relationship backs any more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from portal.patients.models import CareRelationship, NetworkPatient, NetworkPatientGroupObjectPermission

if TYPE_CHECKING:
    import datetime as dt

    from django.db.models import Q

    from tenants.models import Organization

VIEW_CHART = "view_chart"
VIEW_SHARED = "view_shared_record"


def _clinical_group_name(organization: Organization) -> str:
    return f"org:{organization.schema_name}:clinical"


def clinical_group_for(organization: Organization) -> Group:
    group, _ = Group.objects.get_or_create(name=_clinical_group_name(organization))
    return group


def _view_permission(codename: str = VIEW_CHART) -> Permission:
    return Permission.objects.get(codename=codename, content_type__app_label="patients")


_GROUP_ID = "_clinical_group_id"
_view_permission_ids: dict[tuple[str, str], int] = {}


def access_ids(organization: Organization, codename: str = VIEW_CHART) -> tuple[int | None, int]:
    """(the organization's clinical group id, the ``view_chart`` permission id), for the
    access rule's permission probe, as plain numbers rather than two subqueries per query.

    Neither changes once it exists: the group id is kept on the organization object (the
    routing cache keeps one per address for a while, so a request usually asks nothing) and
    the permission id per database. An organization without a group yet gets ``None``,
    which no permission row matches, and is asked again next time."""
    from django.db import connection

    group_id = getattr(organization, _GROUP_ID, None)
    if group_id is None:
        group_id = Group.objects.filter(name=_clinical_group_name(organization)).values_list("pk", flat=True).first()
        if group_id is not None:
            setattr(organization, _GROUP_ID, group_id)
    key = (connection.settings_dict["NAME"], codename)
    permission_id = _view_permission_ids.get(key)
    if permission_id is None:
        permission_id = _view_permission_ids[key] = _view_permission(codename).pk
    return group_id, permission_id


def chart_permission_grant(*, organization: Organization, patient: NetworkPatient, shares_record: bool = True) -> None:
    group = clinical_group_for(organization)
    for codename in (VIEW_CHART, VIEW_SHARED) if shares_record else (VIEW_CHART,):
        NetworkPatientGroupObjectPermission.objects.get_or_create(
            group=group, permission=_view_permission(codename), content_object=patient
        )


def chart_permission_sync(*, organization: Organization, patient: NetworkPatient) -> bool:
    """Grant or remove the organization's permissions to match its relationships now.

    Returns whether the organization still has access."""
    active = CareRelationship.objects.active().filter(organization=organization, patient=patient)
    wanted = set()
    if active.exists():
        wanted.add(VIEW_CHART)
        if active.filter(shares_record=True).exists():
            wanted.add(VIEW_SHARED)
    group = clinical_group_for(organization)
    for codename in (VIEW_CHART, VIEW_SHARED):
        if codename in wanted:
            NetworkPatientGroupObjectPermission.objects.get_or_create(
                group=group, permission=_view_permission(codename), content_object=patient
            )
        else:
            NetworkPatientGroupObjectPermission.objects.filter(
                group=group, permission=_view_permission(codename), content_object=patient
            ).delete()
    return VIEW_CHART in wanted


@transaction.atomic
def chart_permissions_sync_all() -> tuple[int, int]:
    """Make permissions match relationships: grant the missing, remove the ended.

    Run by the periodic task and after seeding; idempotent. Returns (granted, removed)."""
    granted = 0
    view, shared = _view_permission(VIEW_CHART), _view_permission(VIEW_SHARED)
    for relationship in CareRelationship.objects.active().select_related("organization"):
        for permission in (view, shared) if relationship.shares_record else (view,):
            _, created = NetworkPatientGroupObjectPermission.objects.get_or_create(
                group=clinical_group_for(relationship.organization),
                permission=permission,
                content_object_id=relationship.patient_id,
            )
            granted += int(created)
    return granted, relationships_expire()


@transaction.atomic
def relationships_expire() -> int:
    """Remove permissions whose relationships have ended (by time or by someone). Idempotent."""
    now = timezone.now()
    removed = 0
    for permission in NetworkPatientGroupObjectPermission.objects.filter(
        permission__codename__in=[VIEW_CHART, VIEW_SHARED], group__name__startswith="org:"
    ).select_related("group", "permission"):
        schema = permission.group.name.split(":")[1]
        backing = CareRelationship.objects.active(at=now).filter(
            organization__schema_name=schema, patient_id=permission.content_object_id
        )
        if permission.permission.codename == VIEW_SHARED:
            backing = backing.filter(shares_record=True)
        still = backing.exists()
        if not still:
            permission.delete()
            removed += 1
    return removed


def organization_sees_patient(
    *, patient: NetworkPatient, organization_ref: str = "organization", now: dt.datetime | None = None
) -> Q:
    """For rows that name an organization (``organization_ref``): may that organization's
    clinicians see this patient now — an active care relationship and the permission
    derived from it, the selectors' rule, answered inside one query for many rows (lists of
    people to choose from)."""
    from django.db.models import Exists, OuterRef, Value
    from django.db.models.functions import Concat

    now = now or timezone.now()
    relationship = CareRelationship.objects.active(at=now).filter(
        patient=patient, organization=OuterRef(organization_ref)
    )
    # The group's name as _clinical_group_name writes it, built in SQL from the row's organization.
    group_name = Concat(Value("org:"), OuterRef(f"{organization_ref}__schema_name"), Value(":clinical"))
    permission = NetworkPatientGroupObjectPermission.objects.filter(
        content_object=patient,
        permission__codename=VIEW_CHART,
        permission__content_type__app_label="patients",
        group__name=group_name,
    )
    return Exists(relationship) & Exists(permission)
