"""The API's base classes. Every endpoint that touches a patient derives from
``PatientScopedAPIView``: the patient is resolved through the one access selector in
``initial()`` — before any handler runs — so a subclass cannot skip the check, and
forbidden and missing are the same 404.

The base classes are sealed when a subclass is created: a subclass that overrides
``initial``, ``check_permissions`` or ``get_permissions`` is refused (``TypeError``), and
``permission_classes`` may add checks but never drop the base class's own (they are put
back in front). So a later endpoint cannot bypass the tenant and access checks by accident."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.request import Request
from rest_framework.views import APIView

from portal.accounts.typing import api_request
from portal.api.permissions import IsClinicalMember, IsOrganizationMember
from portal.patients.selectors import patient_get_for_user

if TYPE_CHECKING:
    from portal.accounts.models import User
    from tenants.models import Organization

SEALED_METHODS = ("initial", "check_permissions", "get_permissions")


class OrganizationAPIView(APIView):
    """Signed in at this organization's address, with an active membership there."""

    permission_classes = [IsOrganizationMember]
    # The checks no subclass may drop (each base class below sets its own).
    required_permission_classes: tuple[type, ...] = (IsOrganizationMember,)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        sealed_bases = [base for base in cls.__mro__[1:] if base.__module__ == __name__]
        if cls.__module__ != __name__:
            for name in SEALED_METHODS:
                if name in cls.__dict__ and any(hasattr(base, name) for base in sealed_bases):
                    raise TypeError(f"{cls.__name__} may not override {name}(): the API's access checks are sealed.")
        required = list(cls.required_permission_classes)
        extra = [p for p in cls.permission_classes if p not in required]
        cls.permission_classes = [*required, *extra]

    @property
    def organization(self) -> Organization:
        return api_request(self.request).tenant

    @property
    def user(self) -> User:
        """The person signed in (the permission classes have checked it)."""
        return api_request(self.request).user


class PatientScopedAPIView(OrganizationAPIView):
    """``self.patient`` is the patient of the URL, only if the user may see them here."""

    permission_classes = [IsOrganizationMember, IsClinicalMember]
    required_permission_classes = (IsOrganizationMember, IsClinicalMember)
    patient_url_kwarg = "patient_uuid"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request = api_request(request)
        self.patient = patient_get_for_user(
            user=request.user,
            organization=request.tenant,
            patient_uuid=kwargs[self.patient_url_kwarg],
        )
