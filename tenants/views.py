"""The network console's pages, at the network's own address."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from portal.accounts.services import invitation_create
from tenants.addresses import absolute_url, organization_host
from tenants.forms import AgreementForm, ConfirmForm, OrganizationCreateForm, SiteAdminInviteForm
from tenants.models import Organization, OrganizationExport, OrganizationStatus
from tenants.selectors import (
    onboarding_checklist,
    organization_for_console,
    organizations_for_console,
)
from tenants.services import (
    agreement_record,
    organization_archive_schema,
    organization_create,
    organization_export,
    organization_go_live,
    organization_offboard,
    organization_provision_retry,
    organization_reinstate,
    organization_suspend,
)

if TYPE_CHECKING:
    from uuid import UUID

    from django import forms
    from django.http.response import HttpResponseBase

    from portal.accounts.typing import AuthenticatedRequest


def no_such_organization(request: HttpRequest) -> HttpResponse:
    """An address that belongs to no organization of the network."""
    return render(
        request,
        "tenants/no_such_organization.html",
        {"host": request.get_host().split(":")[0], "network_url": absolute_url(settings.BASE_DOMAIN)},
        status=404,
    )


def network_admin_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        tenant = getattr(request, "tenant", None)
        if tenant is None or not tenant.is_network or not request.user.is_network_admin:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _organization_or_404(uuid: UUID) -> Organization:
    organization = organization_for_console(uuid=uuid)
    if organization is None:
        raise Http404("No such organization.")
    return organization


def _form_errors(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


@network_admin_required
def organizations(request: AuthenticatedRequest) -> HttpResponse:
    rows: list[dict[str, Any]] = []
    for organization in organizations_for_console():
        checklist = onboarding_checklist(organization)
        rows.append(
            {
                "org": organization,
                "done": sum(item.done for item in checklist),
                "total": len(checklist),
                "percent": int(100 * sum(item.done for item in checklist) / len(checklist)),
                "host": organization_host(organization.slug),
            }
        )
    counts = {status: sum(1 for row in rows if row["org"].status == status) for status in OrganizationStatus.values}
    return render(request, "tenants/console/organizations.html", {"rows": rows, "counts": counts})


@network_admin_required
def organization_new(request: AuthenticatedRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = organization_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                kind=form.cleaned_data["kind"],
                npi=form.cleaned_data["npi"],
                city=form.cleaned_data["city"],
                requested_by=request.user,
                request=request,
            )
        except Exception as error:  # provisioning failed halfway: its state is recorded, retry resumes it
            created = Organization.objects.filter(slug=form.cleaned_data["slug"]).first()
            if created is None:
                raise
            messages.error(request, f"Provisioning stopped: {error}. Retry from this page.")
            return redirect("console:organization", uuid=created.uuid)
        messages.success(request, f"{organization.name} is created at {organization_host(organization.slug)}.")
        return redirect("console:organization", uuid=organization.uuid)
    return render(request, "tenants/console/organization_new.html", {"form": form, "base": settings.BASE_DOMAIN})


@network_admin_required
def organization_detail(request: AuthenticatedRequest, uuid: UUID) -> HttpResponse:
    organization = _organization_or_404(uuid)
    from portal.accounts.models import Invitation, Membership

    checklist = onboarding_checklist(organization)
    return render(
        request,
        "tenants/console/organization.html",
        {
            "org": organization,
            "checklist": checklist,
            "missing": [item for item in checklist if not item.done],
            "host": organization_host(organization.slug),
            "url": absolute_url(organization_host(organization.slug)),
            "agreements": list(organization.agreements.all()),
            "admins": list(
                Membership.objects.filter(organization=organization, is_site_admin=True).select_related("user")
            ),
            "invitations": list(Invitation.objects.filter(organization=organization, is_site_admin=True)[:20]),
            "exports": list(organization.exports.all()[:5]),
            "agreement_form": AgreementForm(),
            "invite_form": SiteAdminInviteForm(),
        },
    )


@network_admin_required
def agreement_new(request: AuthenticatedRequest, uuid: UUID) -> HttpResponse:
    organization = _organization_or_404(uuid)
    form = AgreementForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        agreement_record(
            organization=organization,
            kind=form.cleaned_data["kind"],
            document=form.cleaned_data["document"],
            signer_name=form.cleaned_data["signer_name"],
            signer_title=form.cleaned_data["signer_title"],
            signed_on=form.cleaned_data["signed_on"],
            recorded_by=request.user,
            request=request,
        )
        messages.success(request, "The agreement is recorded.")
        return redirect("console:organization", uuid=organization.uuid)
    return render(
        request,
        "tenants/console/agreement_new.html",
        {"org": organization, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@network_admin_required
def site_admin_invite(request: AuthenticatedRequest, uuid: UUID) -> HttpResponse:
    organization = _organization_or_404(uuid)
    form = SiteAdminInviteForm(request.POST or None)
    link = None
    if request.method == "POST" and form.is_valid():
        try:
            _invitation, link = invitation_create(
                organization=organization,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                is_site_admin=True,
                invited_by=request.user,
                request=request,
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    return render(request, "tenants/console/site_admin_invite.html", {"org": organization, "form": form, "link": link})


STEPS: dict[str, dict[str, Any]] = {
    "go-live": {"service": organization_go_live, "title": "Bring live", "done": "is live", "confirm": False},
    "suspend": {"service": organization_suspend, "title": "Suspend", "done": "is suspended", "confirm": True},
    "reinstate": {"service": organization_reinstate, "title": "Reinstate", "done": "is reinstated", "confirm": True},
    "export": {"service": organization_export, "title": "Export repository", "done": "is exported", "confirm": True},
    "offboard": {"service": organization_offboard, "title": "Offboard", "done": "is offboarded", "confirm": True},
    "archive": {
        "service": organization_archive_schema,
        "title": "Archive schema",
        "done": "is archived",
        "confirm": True,
    },
    "retry": {
        "service": organization_provision_retry,
        "title": "Retry provisioning",
        "done": "is provisioned",
        "confirm": False,
    },
}


@network_admin_required
def organization_step(request: AuthenticatedRequest, uuid: UUID, step: str) -> HttpResponse:
    """Every lifecycle step: a confirmation page (GET), then the audited step (POST)."""
    organization = _organization_or_404(uuid)
    if step not in STEPS:
        raise Http404("No such step.")
    spec = STEPS[step]
    form = ConfirmForm(request.POST or None, expected=organization.slug) if spec["confirm"] else None
    error = None
    checklist = onboarding_checklist(organization)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            spec["service"](organization=organization, actor=request.user, request=request)
        except ValidationError as problem:
            error = problem.messages
        except Exception as problem:  # a provisioning retry that failed again: shown, recorded
            error = [f"{type(problem).__name__}: {problem}"]
        else:
            messages.success(request, f"{organization.name} {spec['done']}.")
            return redirect("console:organization", uuid=organization.uuid)
    return render(
        request,
        "tenants/console/step.html",
        {
            "org": organization,
            "step": step,
            "spec": spec,
            "form": form,
            "error": error,
            "checklist": checklist,
            "missing": [item for item in checklist if not item.done],
        },
    )


@network_admin_required
def export_download(request: AuthenticatedRequest, uuid: UUID) -> FileResponse:
    export = OrganizationExport.objects.select_related("organization").filter(uuid=uuid).first()
    if export is None or not Path(export.path).is_file():
        raise Http404("No such export.")
    from portal.audit.services import AuditAction, audit_record

    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_type="organization_export",
        object_id=export.uuid,
        data_owner=export.organization,
        detail={"step": "export_downloaded"},
    )
    return FileResponse(open(export.path, "rb"), as_attachment=True, filename=Path(export.path).name)  # noqa: SIM115
