"""The request types of the portal, for annotations only.

Django's ``HttpRequest`` knows nothing of what our middleware adds: django-tenants puts the
organization of the address on ``request.tenant``, ``OrganizationSessionMiddleware`` the
signed-in person's membership there on ``request.membership`` and django-htmx its details on
``request.htmx``. A view annotates its request with the class that says what it may rely on:

- ``TenantRequest``: any request at an organization's address (anyone, signed in or not);
- ``AuthenticatedRequest``: behind ``login_required`` (``.user`` is a ``User``);
- ``APIRequest``: a DRF request that passed the API's permission classes (signed in, at the
  organization of the address).

These classes are never instantiated; Django and DRF build the requests. Nothing here is
checked at run time, so a view still checks what it needs (membership, role)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

if TYPE_CHECKING:
    from portal.accounts.models import Membership, User
    from tenants.models import Organization


class TenantRequest(HttpRequest):
    """A request at an organization's (or the network's) address."""

    tenant: Organization
    membership: Membership | None  # set by OrganizationSessionMiddleware; None at the network
    htmx: HtmxDetails
    signin_refusal: str  # why the sign-in backend refused (portal.accounts.backends)


class AuthenticatedRequest(TenantRequest):
    """Behind ``login_required``: a signed-in person."""

    user: User


class APIRequest(Request):
    """A DRF request past the API's permission classes: signed in at this organization."""

    tenant: Organization
    membership: Membership | None
    user: User


def api_request(request: Request) -> APIRequest:
    """A DRF request as ``APIRequest``, where DRF fixes the signature (``has_permission``,
    ``initial``): the API's middleware and permission classes have set what it declares."""
    return cast(APIRequest, request)
