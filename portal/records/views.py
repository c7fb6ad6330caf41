"""Authoring at an organization's address: new items, publishing, corrections, withdrawal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.accounts.roles import AUTHOR_ROLES
from portal.care.selectors import referral_consult_prefill
from portal.patients.models import RegistryEntry
from portal.patients.selectors import patient_get_for_user
from portal.records.kinds import form_for
from portal.records.models import BOARD_ONLY_KINDS, ItemKind
from portal.records.selectors import own_item_get
from portal.records.services import item_correct, item_create, item_publish, item_withdraw

if TYPE_CHECKING:
    from django import forms

    from portal.accounts.typing import AuthenticatedRequest


def _author(request: HttpRequest) -> None:
    membership = getattr(request, "membership", None)
    if membership is None or membership.role not in AUTHOR_ROLES:
        raise Http404("No such page")


def _apply_errors(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errs in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errs)
    else:
        form.add_error(None, error.messages)


def _local_next(request: HttpRequest) -> str:
    """Where to go once the item is published: a path of this address only (``next``), never
    another site (no open redirect); empty when absent or not safe."""
    target = request.GET.get("next", "")
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    ):
        return ""
    return target


# Kinds written on the day they happen: their date starts as today (the portal's time zone,
# which its organizations share: ``TIME_ZONE``).
DATED_TODAY = {ItemKind.CONSULT_NOTE, ItemKind.NOTE}


def _initial_for(kind: str) -> dict[str, Any]:
    return {"effective_date": timezone.localdate()} if kind in DATED_TODAY else {}


@login_required
def item_new(request: AuthenticatedRequest, patient_uuid: str, kind: str) -> HttpResponse:
    _author(request)
    patient = patient_get_for_user(user=request.user, organization=request.tenant, patient_uuid=patient_uuid)
    if kind not in ItemKind.values or kind in BOARD_ONLY_KINDS:
        raise Http404("No such kind")
    # A consult report answering a referral starts with the referral's question, read from
    # the referral (its uuid is all the address carries).
    answering = None
    if kind == ItemKind.CONSULT_NOTE and request.GET.get("referral"):
        answering = referral_consult_prefill(
            user=request.user, organization=request.tenant, referral_uuid=request.GET["referral"]
        )
        if answering is not None and answering["referral"].patient_id != patient.pk:
            answering = None
    initial = {**_initial_for(kind), **(answering["initial"] if answering else {})}
    form = form_for(kind, request.POST or None, request.FILES or None, initial=initial)
    next_url = _local_next(request)
    # Privacy is a choice of its own (a radio), not a button: "private" is never published.
    private = request.POST.get("sharing") == "private" or request.POST.get("private") == "on"
    if request.method == "POST" and form.is_valid() and private and request.POST.get("action") == "publish":
        form.add_error(None, "A private item is never published. Save it, or choose the shared record to publish it.")
    elif request.method == "POST" and form.is_valid():
        publish = request.POST.get("action") == "publish"
        try:
            item_create(
                user=request.user,
                organization=request.tenant,
                patient=patient,
                kind=kind,
                values=request.POST,
                files=request.FILES,
                publish=publish,
                private=private,
                request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                "Published to the shared record."
                if publish
                else "Saved as private: never shared."
                if private
                else "Saved as a draft (not shared yet).",
            )
            if publish and next_url:
                return redirect(next_url)
            return redirect("patients:chart", patient_uuid=patient.uuid)
    return render(
        request,
        "records/item_form.html",
        {
            "form": form,
            "patient": patient,
            "kind": kind,
            "kind_label": ItemKind(kind).label,
            "mode": "new",
            "answering": answering["referral"] if answering else None,
            "next_url": next_url,
            "sharing": "private" if private else "shared",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def publish(request: AuthenticatedRequest, item_id: str) -> HttpResponse:
    _author(request)
    item = own_item_get(user=request.user, organization=request.tenant, item_id=item_id)
    try:
        item_publish(user=request.user, organization=request.tenant, item=item, request=request)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, f"“{item.title}” is now on the shared record.")
    return redirect("patients:chart", patient_uuid=item.patient.uuid)


@login_required
def correct(request: AuthenticatedRequest, item_id: str) -> HttpResponse:
    _author(request)
    item = own_item_get(user=request.user, organization=request.tenant, item_id=item_id)
    initial = {**item.data, "effective_date": item.effective_at.date()}
    form = form_for(item.kind, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            correction = item_correct(
                user=request.user, organization=request.tenant, item=item, values=request.POST, request=request
            )
        except (ValidationError, PermissionDenied) as error:
            _apply_errors(form, error if isinstance(error, ValidationError) else ValidationError(str(error)))
        else:
            entry = RegistryEntry.objects.get(organization=request.tenant, item_uuid=correction.pk)
            messages.success(request, "Corrected. The earlier version is kept and the entry is marked amended.")
            return redirect("patients:entry", patient_uuid=item.patient.uuid, entry_uuid=entry.uuid)
    return render(
        request,
        "records/item_form.html",
        {
            "form": form,
            "patient": item.patient,
            "kind": item.kind,
            "kind_label": item.get_kind_display(),
            "mode": "correct",
            "item": item,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def withdraw(request: AuthenticatedRequest, item_id: str) -> HttpResponse:
    _author(request)
    item = own_item_get(user=request.user, organization=request.tenant, item_id=item_id)
    try:
        item_withdraw(
            user=request.user,
            organization=request.tenant,
            item=item,
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, "Withdrawn. The entry stays on the record, marked withdrawn.")
    return redirect("patients:chart", patient_uuid=item.patient.uuid)
