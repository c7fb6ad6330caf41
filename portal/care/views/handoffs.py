"""Hand-off pages: the list, a new hand-off (with its checks), a hand-off and its acknowledgement."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from portal.accounts.typing import AuthenticatedRequest
from portal.audit.services import AuditAction, audit_record
from portal.care import forms, selectors, services
from portal.care.models import HANDOFF_SECTIONS, Responsible
from portal.care.views.common import _is_uuid, _org, _uuid_or_404, clinical_member
from portal.patients.selectors import patient_get_for_user, visible_patients


@clinical_member
def handoff_list(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    handoffs = list(selectors.handoffs_for(user=request.user, organization=org)[:200])
    audit_record(action=AuditAction.SEARCH, request=request, object_type="handoffs")
    return render(request, "care/handoff_list.html", {"handoffs": handoffs, "tab": "handoffs"})


@clinical_member
def handoff_new(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    patient = patient_get_for_user(
        user=request.user,
        organization=org,
        patient_uuid=_uuid_or_404(request.GET.get("patient") or request.POST.get("patient")),
    )
    prefill = selectors.handoff_prefill(patient=patient, organization=org)
    audit_record(action=AuditAction.READ, request=request, object_type="handoff_prefill", patient=patient)
    form = forms.HandoffForm(
        request.POST or None,
        organization=org,
        patient=patient,
        initial={"treatment_summary": prefill["treatment_summary"], "kind": "survivorship"},
    )
    items = prefill["items"]
    kind = request.POST.get("kind") or "survivorship"
    open_handoffs = selectors.open_handoffs_of_kind(patient=patient, kind=kind)
    if request.method == "POST":
        items = forms.handoff_items_from_post(request.POST)
        if form.is_valid() and open_handoffs and not request.POST.get("confirm_duplicate"):
            form.add_error(None, "Tick “Send it anyway” to send a second open plan, or open the one waiting.")
        elif form.is_valid():
            data = form.cleaned_data
            try:
                handoff = services.handoff_send(
                    user=request.user,
                    organization=org,
                    patient=patient,
                    to_organization=data["to_organization"],
                    kind=data["kind"],
                    treatment_summary=data["treatment_summary"],
                    items=items,
                    to_user=selectors.pcp_of_record(patient=patient, organization=data["to_organization"]),
                )
            except ValidationError as error:
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, "Hand-off sent.")
                return redirect("care:handoff_detail", handoff_uuid=handoff.uuid)
    rows = [*items, *[{"section": "", "text": "", "responsible": ""}] * 3]
    return render(
        request,
        "care/handoff_form.html",
        {
            "form": form,
            "patient": patient,
            "items": rows,
            "sections": HANDOFF_SECTIONS,
            "responsibles": Responsible.choices,
            "open_handoffs": open_handoffs,
            "tab": "handoffs",
        },
        status=400 if request.method == "POST" else 200,
    )


@clinical_member
def handoff_check(request: AuthenticatedRequest) -> HttpResponse:
    """The hand-off form's live check (HTMX): another plan of this kind still waiting for
    the patient. About a patient this user may not see it says nothing."""
    org = _org(request)
    if request.method != "POST":
        return redirect("care:handoff_list")
    chosen = request.POST.get("patient", "")
    patient = (
        visible_patients(user=request.user, organization=org).filter(uuid=chosen).first() if _is_uuid(chosen) else None
    )
    open_handoffs = []
    if patient is not None:
        open_handoffs = selectors.open_handoffs_of_kind(patient=patient, kind=request.POST.get("kind", "")[:20])
    return render(request, "care/partials/handoff_warnings.html", {"open_handoffs": open_handoffs, "live": True})


@clinical_member
def handoff_detail(request: AuthenticatedRequest, handoff_uuid: uuid.UUID) -> HttpResponse:
    org = _org(request)
    handoff = selectors.handoff_get_for_user(user=request.user, organization=org, handoff_uuid=handoff_uuid)
    if request.method == "POST":
        try:
            services.handoff_acknowledge(handoff=handoff, user=request.user, organization=org)
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Hand-off acknowledged.")
        return redirect("care:handoff_detail", handoff_uuid=handoff.uuid)
    audit_record(
        action=AuditAction.READ,
        request=request,
        object_type="handoff",
        object_id=handoff.uuid,
        patient=handoff.patient,
        data_owner=handoff.from_organization,
    )
    sections = [(label, [item for item in handoff.items if item["section"] == key]) for key, label in HANDOFF_SECTIONS]
    may_acknowledge = (
        handoff.acknowledged_at is None
        and handoff.to_organization_id == org.pk
        and handoff.to_user_id in (None, request.user.pk)
    )
    return render(
        request,
        "care/handoff_detail.html",
        {
            "handoff": handoff,
            "summary": selectors.handoff_summary(treatment_summary=handoff.treatment_summary),
            "sections": sections,
            "may_acknowledge": may_acknowledge,
            "responsible": dict(Responsible.choices),
            "tab": "handoffs",
        },
    )
