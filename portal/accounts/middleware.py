"""Bind a session to the organization it was opened at, and re-check it every request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from portal.accounts.selectors import membership_for, remember_request_membership

if TYPE_CHECKING:
    from portal.accounts.models import Membership, User
    from portal.accounts.typing import TenantRequest
    from tenants.models import Organization

SESSION_SCHEMA_KEY = "continuum_schema"
SESSION_REFRESHED_KEY = "continuum_refreshed"
SESSION_REFRESH_MAX_SECONDS = 60.0


def session_keep_alive(request: HttpRequest) -> None:
    """Restart the idle timeout (``SESSION_COOKIE_AGE``) of a session in use.

    Saving the session restarts it, but not on every request: at most once a minute (a
    tenth of the timeout when that is shorter), so most requests write nothing to Redis
    and send no cookie. An idle session therefore ends between a minute before the
    timeout and the timeout after its last request."""
    import time

    from django.conf import settings

    now = time.time()
    every = min(SESSION_REFRESH_MAX_SECONDS, settings.SESSION_COOKIE_AGE / 10)
    if now - request.session.get(SESSION_REFRESHED_KEY, 0.0) >= every:
        request.session[SESSION_REFRESHED_KEY] = now  # marks it modified: saved with a new expiry


class OrganizationSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        request.membership = None
        tenant = getattr(request, "tenant", None)
        user = request.user
        if user.is_authenticated and tenant is not None:
            if request.session.get(SESSION_SCHEMA_KEY) != tenant.schema_name:
                logout(request)
            elif tenant.is_network:
                if not user.is_network_admin:
                    logout(request)
            else:
                membership = membership_for(user=user, organization=tenant)
                remember_request_membership(user=user, organization=tenant, membership=membership)
                if membership is None or not tenant.accepts_logins:
                    logout(request)
                else:
                    request.membership = membership
            if request.user.is_authenticated:  # not signed out above
                session_keep_alive(request)
        return self.get_response(request)


# Paths a signed-in person reaches before the gate is satisfied (sign-in, terms, second
# factor, invitations, sign-out) and assets.
GATE_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/favicon")
SEEN_SESSION_KEY = "continuum_seen"
SEEN_EVERY_SECONDS = 3600


OTP_SESSION_KEY = "continuum_otp_device"


def second_factor_verified(request: HttpRequest) -> bool:
    """Has this session verified a TOTP code? (A session flag: no query per request.)"""
    return bool(request.session.get(OTP_SESSION_KEY))


def second_factor_mark_verified(request: HttpRequest, device: Any) -> None:
    """Record a verified device in the session (and on the user, as django-otp does)."""
    from django_otp import login as otp_login

    otp_login(request, device)
    request.session[OTP_SESSION_KEY] = device.persistent_id


def requires_second_factor(*, tenant: Organization | None, membership: Membership | None) -> bool:
    """Clinical roles, site admins and network admins must use a second factor."""
    if tenant is not None and tenant.is_network:
        return True
    return membership is not None and (membership.is_clinical or membership.is_admin)


def terms_accepted(request: HttpRequest) -> bool:
    from django.conf import settings

    user = request.user
    return user.is_authenticated and user.terms_accepted_version == settings.TERMS_VERSION


def second_factor_satisfied(request: HttpRequest) -> bool:
    """Has this session verified a code, or does the person's role at this address not need one?"""
    tenant = getattr(request, "tenant", None)
    if not requires_second_factor(tenant=tenant, membership=getattr(request, "membership", None)):
        return True
    return second_factor_verified(request)


def past_sign_in_gate(request: HttpRequest) -> bool:
    """Is this a signed-in session that has accepted the terms and given its second factor?
    (Until then the pages show no navigation, no notifications, nothing but the gate.)"""
    user = getattr(request, "user", None)  # none on a page answered before sign-in (an unknown address)
    return bool(
        user is not None and user.is_authenticated and terms_accepted(request) and second_factor_satisfied(request)
    )


class SignInSafetyMiddleware:
    """Terms of use first, then the second factor, before anything else at an address.

    Nothing past this point (patients, messages, the console, the API) is reachable by
    a session that has not accepted the current terms or, for the roles that need one,
    verified a TOTP code in this session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(GATE_EXEMPT_PREFIXES):
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            self._seen(request, user)
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not terms_accepted(request):
            return self._redirect(request, "accounts:terms", "Accept the terms of use to continue.")
        if not second_factor_satisfied(request):
            from django_otp import user_has_device

            if user_has_device(user):
                return self._redirect(request, "accounts:otp_verify", "Enter the code from your authenticator app.")
            return self._redirect(request, "accounts:otp_enroll", "Set up a second factor to continue.")
        return None

    def _redirect(self, request: HttpRequest, url_name: str, message: str) -> HttpResponse:
        from django.http import HttpResponseRedirect, JsonResponse
        from django.urls import reverse
        from django.utils.http import urlencode

        url = reverse(url_name)
        if request.path.startswith("/fhir/"):
            from portal.fhir.errors import outcome_json

            return outcome_json(403, message, "login")
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "errors": {"sign_in": [url]}}, status=403)
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(f"{url}?{urlencode({'next': request.get_full_path()})}")

    def _seen(self, request: HttpRequest, user: User) -> None:
        import time

        last = request.session.get(SEEN_SESSION_KEY, 0)
        now = int(time.time())
        if now - last >= SEEN_EVERY_SECONDS:
            from portal.accounts.services import seen_now

            seen_now(user=user)
            request.session[SEEN_SESSION_KEY] = now
