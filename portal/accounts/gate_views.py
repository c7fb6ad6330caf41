"""Pages of the sign-in gate: terms of use, second factor (enroll, verify), invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import devices_for_user

from portal.accounts.forms import InvitationAcceptForm, TermsForm, TokenForm
from portal.accounts.middleware import SESSION_SCHEMA_KEY, second_factor_mark_verified
from portal.accounts.models import User
from portal.accounts.qr import qr_svg
from portal.accounts.services import (
    invitation_accept,
    invitation_for_token,
    terms_accept,
    totp_confirm,
    totp_enrollment_device,
)
from portal.audit.services import AuditAction, AuditOutcome, audit_record

if TYPE_CHECKING:
    from portal.accounts.typing import AuthenticatedRequest, TenantRequest


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/"
    return target


@never_cache
@login_required
def terms(request: AuthenticatedRequest) -> HttpResponse:
    form = TermsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        terms_accept(user=request.user)
        return redirect(_next(request))
    return render(
        request, "accounts/terms.html", {"form": form, "next": _next(request), "version": settings.TERMS_VERSION}
    )


@never_cache
@login_required
def otp_verify(request: AuthenticatedRequest) -> HttpResponse:
    devices = list(devices_for_user(request.user, confirmed=True))
    if not devices:
        return redirect(f"/accounts/second-factor/setup/?next={_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip().replace(" ", "")
        for device in devices:
            if device.verify_token(token):
                second_factor_mark_verified(request, device)
                return redirect(_next(request))
        audit_record(
            action=AuditAction.SIGN_IN_REFUSED,
            request=request,
            outcome=AuditOutcome.DENIED,
            detail={"step": "totp_code_wrong"},
        )
        form.add_error("token", "That code is not right, or it has expired. Enter the current code.")
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _next(request)})


@never_cache
@login_required
def otp_enroll(request: AuthenticatedRequest) -> HttpResponse:
    user: User = request.user
    if list(devices_for_user(user, confirmed=True)) and request.method == "GET":
        # Re-enrolling needs this session to have verified the current device first.
        from portal.accounts.middleware import second_factor_verified

        if not second_factor_verified(request):
            return redirect(f"/accounts/second-factor/?next={_next(request)}")
    device = totp_enrollment_device(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_confirm(device=device, token=form.cleaned_data["token"], request=request):
            second_factor_mark_verified(request, device)
            messages.success(request, "Your second factor is set up. You will enter a code at each sign-in.")
            return redirect(_next(request))
        form.add_error("token", "That code is not right. Check your app shows Continuum and enter the current code.")
    return render(
        request,
        "accounts/otp_enroll.html",
        {
            "form": form,
            "next": _next(request),
            "qr": qr_svg(device.config_url),
            "secret": _base32(device.bin_key),
        },
    )


def _base32(key: bytes) -> str:
    import base64

    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@never_cache
@sensitive_post_parameters("password", "password_again")
def invitation(request: TenantRequest, token: str) -> HttpResponse:
    """Accept an invitation at the organization's address (one-time, expiring link)."""
    tenant = request.tenant
    found = None if tenant.is_network else invitation_for_token(organization=tenant, token=token)
    if found is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    existing = User.objects.filter(email=found.email).exists()
    form = InvitationAcceptForm(request.POST or None, existing_account=existing, initial={"full_name": found.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                invitation=found,
                full_name=form.cleaned_data.get("full_name", ""),
                password=form.cleaned_data["password"],
                accept_terms=form.cleaned_data["accept_terms"],
                request=request,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                form.add_error(None, error.messages)
        else:
            login(request, user, backend="portal.accounts.backends.OrganizationMembershipBackend")
            request.session[SESSION_SCHEMA_KEY] = tenant.schema_name
            messages.success(request, f"Welcome to {tenant.name}. Set up your second factor to finish.")
            return redirect("/")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": found, "existing": existing})


def locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' lockout answer: the page, and an audit event (no password, ever)."""
    from portal.accounts.backends import axes_username

    audit_record(
        action=AuditAction.SIGN_IN_REFUSED,
        request=request,
        outcome=AuditOutcome.DENIED,
        detail={"step": "locked_out", "email": axes_username(request, credentials)},
    )
    return render(request, "accounts/locked_out.html", status=429)
