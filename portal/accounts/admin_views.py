"""Site admins' pages at their organization's address: people, invitations, roles, attestation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.accounts.forms import BulkInviteForm, InviteForm, RoleForm
from portal.accounts.models import Invitation
from portal.accounts.selectors import (
    bulk_invitation_for_admin,
    members_for_admin,
    membership_for_admin,
    pending_invitations,
    site_admin_membership,
)
from portal.accounts.services import (
    bulk_invitation_create,
    invitation_create,
    invitation_revoke,
    membership_attest,
    membership_deactivate,
    membership_reactivate,
    membership_second_factor_reset,
    membership_set_role,
)

if TYPE_CHECKING:
    from django import forms

    from portal.accounts.models import Membership
    from portal.accounts.typing import AuthenticatedRequest, TenantRequest


def site_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in here as a site admin; anyone else gets the same 404 as a missing page."""

    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if site_admin_membership(request) is None:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _errors_to_form(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


@site_admin_required
def users(request: AuthenticatedRequest) -> HttpResponse:
    organization = request.tenant
    only_due = request.GET.get("filter") == "attestation"
    members = list(
        members_for_admin(
            organization=organization, attestation_due_days=settings.ATTESTATION_WARNING_DAYS if only_due else None
        )
    )
    due_before = timezone.now() - timedelta(days=settings.ATTESTATION_DAYS - settings.ATTESTATION_WARNING_DAYS)
    for member in members:
        member.attestation_due = member.last_attested_at is None or member.last_attested_at < due_before
        member.attestation_deadline = (
            member.last_attested_at + timedelta(days=settings.ATTESTATION_DAYS) if member.last_attested_at else None
        )
    return render(
        request,
        "accounts/admin/users.html",
        {
            "members": members,
            "invitations": list(pending_invitations(organization=organization)),
            "only_due": only_due,
            "invite_form": InviteForm(),
            "bulk_form": BulkInviteForm(),
        },
    )


@site_admin_required
def invite(request: AuthenticatedRequest) -> HttpResponse:
    organization = request.tenant
    form = InviteForm(request.POST or None)
    link = None
    sent_to = ""
    if request.method == "POST" and form.is_valid():
        try:
            _invitation, link = invitation_create(
                organization=organization,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                is_site_admin=form.cleaned_data["is_site_admin"],
                invited_by=request.user,
                request=request,
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            sent_to = form.cleaned_data["email"]
            if not request.htmx:
                messages.success(request, f"Invitation sent to {sent_to}.")
            form = InviteForm()  # cleared for the next person
    context = {"form": form, "link": link, "sent_to": sent_to}
    if request.htmx:
        return render(request, "accounts/admin/partials/invite_panel.html", context)
    return render(request, "accounts/admin/invite.html", context)


@site_admin_required
def bulk_upload(request: AuthenticatedRequest) -> HttpResponse:
    organization = request.tenant
    form = BulkInviteForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        bulk = bulk_invitation_create(
            organization=organization,
            csv_text=form.cleaned_data["text"],
            filename=form.cleaned_data["file"].name,
            created_by=request.user,
            request=request,
        )
        return redirect("site_admin:bulk_detail", uuid=bulk.uuid)
    return render(request, "accounts/admin/bulk_upload.html", {"form": form})


@site_admin_required
def bulk_detail(request: AuthenticatedRequest, uuid: str) -> HttpResponse:
    bulk = bulk_invitation_for_admin(organization=request.tenant, uuid=uuid)
    if bulk is None:
        raise Http404("No such import.")
    template = "accounts/partials/bulk_progress.html" if request.htmx else "accounts/admin/bulk_detail.html"
    return render(request, template, {"bulk": bulk})


def _member_or_404(request: TenantRequest, pk: int) -> Membership:
    membership = membership_for_admin(organization=request.tenant, pk=pk)
    if membership is None:
        raise Http404("No such person.")
    return membership


@site_admin_required
def member(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    membership = _member_or_404(request, pk)
    form = RoleForm(request.POST or None, initial={"role": membership.role, "is_site_admin": membership.is_site_admin})
    if request.method == "POST" and form.is_valid():
        try:
            membership_set_role(
                membership=membership,
                role=form.cleaned_data["role"],
                is_site_admin=form.cleaned_data["is_site_admin"],
                actor=request.user,
                request=request,
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, f"{membership.user.full_name}'s role is saved.")
            return redirect("site_admin:member", pk=pk)
    return render(
        request,
        "accounts/admin/member.html",
        {"member": membership, "form": form, "attestation_days": settings.ATTESTATION_DAYS},
    )


@site_admin_required
@require_POST
def member_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    membership = _member_or_404(request, pk)
    actions = {
        "deactivate": (membership_deactivate, "deactivated"),
        "reactivate": (membership_reactivate, "reactivated"),
        "attest": (membership_attest, "re-attested"),
        "reset-second-factor": (membership_second_factor_reset, "set to enroll a new second factor at next sign-in"),
    }
    if action not in actions:
        raise Http404("No such action.")
    service, done = actions[action]
    try:
        service(membership=membership, actor=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.full_name}'s account is {done}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("site_admin:users")


@site_admin_required
@require_POST
def invitation_revoke_view(request: AuthenticatedRequest, uuid: str) -> HttpResponse:
    found = Invitation.objects.filter(organization=request.tenant, uuid=uuid).first()
    if found is None:
        raise Http404("No such invitation.")
    invitation_revoke(invitation=found, actor=request.user, request=request)
    messages.success(request, f"The invitation to {found.email} is revoked.")
    return redirect("site_admin:users")
