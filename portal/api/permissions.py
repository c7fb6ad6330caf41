from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsOrganizationMember(BasePermission):
    """Signed in at this organization's address, with an active membership there."""

    message = "Sign in at this organization's address with an active account."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request, "membership", None))


class IsClinicalMember(BasePermission):
    """A clinical role at this organization (the shared record is for clinicians)."""

    message = "Only clinicians read the shared record."

    def has_permission(self, request: Request, view: APIView) -> bool:
        membership = getattr(request, "membership", None)
        return bool(membership is not None and membership.is_clinical)
