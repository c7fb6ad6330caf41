from typing import Any

from rest_framework.permissions import BasePermission


class IsOrganizationMember(BasePermission):
    """Signed in at this organization's address, with an active membership there."""

    message = "Sign in at this organization's address with an active account."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request, "membership", None))
