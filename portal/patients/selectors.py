"""Reads of patients, and the one question every route asks: may this user see this patient?

Forbidden and missing give the same answer (``Http404``), so a guessed id reveals nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from portal.accounts.models import Membership
from portal.patients.models import CareRelationship, NetworkPatient


def visible_patients(*, user: Any, organization: Any) -> Any:
    """The patients this user may see at this organization's address (a queryset)."""
    membership = _clinical_membership(user=user, organization=organization)
    if membership is None:
        return NetworkPatient.objects.none()
    patient_ids = CareRelationship.objects.active().filter(organization=organization).values("patient_id")
    return NetworkPatient.objects.filter(pk__in=patient_ids)


def user_can_view_patient(*, user: Any, organization: Any, patient: NetworkPatient) -> bool:
    if _clinical_membership(user=user, organization=organization) is None:
        return False
    return CareRelationship.objects.active().filter(organization=organization, patient=patient).exists()


def patient_get_for_user(*, user: Any, organization: Any, patient_uuid: Any) -> NetworkPatient:
    """The patient, if this user may see them at this address; else ``Http404``."""
    patient = NetworkPatient.objects.filter(uuid=patient_uuid).first()
    if patient is None or not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise Http404("No such patient")
    return patient


def _clinical_membership(*, user: Any, organization: Any) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or organization is None or organization.is_network:
        return None
    if not organization.is_active:
        return None
    return Membership.objects.active().clinical().filter(user=user, organization=organization).first()
