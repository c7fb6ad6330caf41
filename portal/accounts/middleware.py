"""Bind a session to the organization it was opened at, and re-check it every request."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from portal.accounts.selectors import membership_for

SESSION_SCHEMA_KEY = "continuum_schema"


class OrganizationSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        tenant = getattr(request, "tenant", None)
        user = request.user
        if user.is_authenticated and tenant is not None:
            if request.session.get(SESSION_SCHEMA_KEY) != tenant.schema_name:
                logout(request)
            elif tenant.is_network:
                if not user.is_network_admin:  # type: ignore[union-attr]
                    logout(request)
            else:
                membership = membership_for(user=user, organization=tenant)
                if membership is None or not tenant.accepts_logins:
                    logout(request)
                else:
                    request.membership = membership  # type: ignore[attr-defined]
        return self.get_response(request)
