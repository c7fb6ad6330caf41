"""The request as the portal's middleware leaves it, for type checking.

``tenants.middleware`` sets ``request.tenant`` (the organization of the address) and
``portal.accounts.middleware`` sets ``request.membership`` (the signed-in user's active
membership there, or None). Views that read them take a ``MemberRequest``; Django passes
the same ``HttpRequest`` object, so this class is never instantiated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from portal.accounts.models import User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.accounts.models import Membership
    from tenants.models import Organization


class MemberRequest(HttpRequest):
    tenant: Organization
    membership: Membership | None
    user: User | AnonymousUser


class SignedInRequest(MemberRequest):
    """A request behind ``login_required`` and a membership check (the care pages'
    ``clinical_member``, the home page): the user is signed in and a member here."""

    user: User
    membership: Membership


def signed_in_user(request: HttpRequest | Request) -> User:
    """The user of a request that ``login_required`` or the API's permission classes have
    already let through (so never anonymous): typed as our user model for the services."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")  # not reached behind those checks
    return user
