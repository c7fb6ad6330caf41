"""Sign-in that is valid only at an organization where the user is a member."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.http import HttpRequest

from portal.accounts.models import User
from portal.accounts.selectors import may_sign_in_at
from portal.text import text_clean

if TYPE_CHECKING:
    from portal.accounts.typing import TenantRequest


class OrganizationMembershipBackend(ModelBackend):
    """Email and password, then: is this person a member of the organization at this address?

    The password check alone is never enough; a user refused here gets no session.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = text_clean(username or kwargs.get("email") or "").lower()
        if not email or password is None:
            return None
        user = super().authenticate(request, username=email, password=password, **kwargs)
        if user is None:
            return None
        organization = getattr(request, "tenant", None) if request is not None else getattr(connection, "tenant", None)
        allowed, reason = may_sign_in_at(user=user, organization=organization)
        if not allowed:
            if request is not None:
                cast("TenantRequest", request).signin_refusal = reason  # read by SignInForm
            return None
        return user


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The key django-axes counts failures under: the email as typed, normalized like sign-in
    (so invisible characters around it never make a fresh key)."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if not value and request is not None:
        value = request.POST.get("username", "")
    return text_clean(str(value or "")).lower()
