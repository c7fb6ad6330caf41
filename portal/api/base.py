"""The API's base classes. Every endpoint that touches a patient derives from
``PatientScopedAPIView``: the patient is resolved through the one access selector in
``initial()`` — before any handler runs — so a subclass cannot skip the check, and
forbidden and missing are the same 404."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.views import APIView

from portal.api.permissions import IsClinicalMember, IsOrganizationMember
from portal.patients.selectors import patient_get_for_user


class OrganizationAPIView(APIView):
    """Signed in at this organization's address, with an active membership there."""

    permission_classes = [IsOrganizationMember]

    @property
    def organization(self) -> Any:
        return self.request.tenant  # type: ignore[attr-defined]


class PatientScopedAPIView(OrganizationAPIView):
    """``self.patient`` is the patient of the URL, only if the user may see them here."""

    permission_classes = [IsOrganizationMember, IsClinicalMember]
    patient_url_kwarg = "patient_uuid"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.patient = patient_get_for_user(
            user=request.user,
            organization=request.tenant,
            patient_uuid=kwargs[self.patient_url_kwarg],  # type: ignore[attr-defined]
        )
