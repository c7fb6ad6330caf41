"""Care relationships → django-guardian object permissions.

Each organization has a group standing for its clinical staff; while the organization
has an active care relationship with a patient, that group holds ``view_chart`` on the
patient (guardian's direct foreign-key model, never the generic one). The selectors
ask for both the permission and a relationship active *now*, so an access that expires
ends at once, and the periodic ``relationships_expire`` task then removes the
permission that no relationship backs any more.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from portal.patients.models import CareRelationship, NetworkPatient, NetworkPatientGroupObjectPermission

VIEW_CHART = "view_chart"


def _clinical_group_name(organization: Any) -> str:
    return f"org:{organization.schema_name}:clinical"


def clinical_group_for(organization: Any) -> Group:
    group, _ = Group.objects.get_or_create(name=_clinical_group_name(organization))
    return group


def _view_permission() -> Permission:
    return Permission.objects.get(codename=VIEW_CHART, content_type__app_label="patients")


_GROUP_ID = "_clinical_group_id"
_view_permission_ids: dict[str, int] = {}


def access_ids(organization: Any) -> tuple[int | None, int]:
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
    database = connection.settings_dict["NAME"]
    permission_id = _view_permission_ids.get(database)
    if permission_id is None:
        permission_id = _view_permission_ids[database] = _view_permission().pk
    return group_id, permission_id


def chart_permission_grant(*, organization: Any, patient: NetworkPatient) -> None:
    NetworkPatientGroupObjectPermission.objects.get_or_create(
        group=clinical_group_for(organization), permission=_view_permission(), content_object=patient
    )


def chart_permission_sync(*, organization: Any, patient: NetworkPatient) -> bool:
    """Grant or remove the organization's permission to match its relationships now.

    Returns whether the organization still has access."""
    active = CareRelationship.objects.active().filter(organization=organization, patient=patient).exists()
    if active:
        chart_permission_grant(organization=organization, patient=patient)
    else:
        NetworkPatientGroupObjectPermission.objects.filter(
            group=clinical_group_for(organization), permission=_view_permission(), content_object=patient
        ).delete()
    return active


@transaction.atomic
def chart_permissions_sync_all() -> tuple[int, int]:
    """Make permissions match relationships: grant the missing, remove the ended.

    Run by the periodic task and after seeding; idempotent. Returns (granted, removed)."""
    granted = 0
    permission = _view_permission()
    for relationship in CareRelationship.objects.active().select_related("organization"):
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
        permission__codename=VIEW_CHART, group__name__startswith="org:"
    ).select_related("group"):
        schema = permission.group.name.split(":")[1]
        still = (
            CareRelationship.objects.active(at=now)
            .filter(organization__schema_name=schema, patient_id=permission.content_object_id)
            .exists()
        )
        if not still:
            permission.delete()
            removed += 1
    return removed
