"""The request as the portal's middleware leaves it, for type checking.

``tenants.middleware`` sets ``request.tenant`` (the organization of the address) and
``portal.accounts.middleware`` sets ``request.membership`` (the signed-in user's active
membership there, or None). Views that read them take a ``MemberRequest``; Django passes
the same ``HttpRequest`` object, so this class is never instantiated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.accounts.models import Membership, User
    from tenants.models import Organization


class MemberRequest(HttpRequest):
    tenant: Organization
    membership: Membership | None
    user: User | AnonymousUser
