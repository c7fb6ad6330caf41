from typing import Any

from rest_framework.permissions import BasePermission


class IsOrganizationMember(BasePermission):
    """Signed in at this organization's address, with an active membership there."""

    message = "Sign in at this organization's address with an active account."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request, "membership", None))


class IsClinicalMember(BasePermission):
    """A clinical role at this organization (the shared record is for clinicians)."""

    message = "Only clinicians read the shared record."

    def has_permission(self, request: Any, view: Any) -> bool:
        membership = getattr(request, "membership", None)
        return bool(membership is not None and membership.is_clinical)
