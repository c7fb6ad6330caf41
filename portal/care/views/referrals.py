"""Referral pages: the navigator's queue, outbound referrals, a new referral, a referral and its entries, acting on it."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal.accounts.typing import AuthenticatedRequest
from portal.audit.services import AuditAction, audit_record
from portal.care import forms, selectors, services
from portal.care.models import CHECKLIST_ITEMS, OPEN_REFERRAL_STATES, Referral, ReferralState
from portal.care.views.common import _age_days, _is_uuid, _org, clinical_member
from portal.patients.models import RegistryEntry
from portal.patients.selectors import visible_entries, visible_patients
from tenants.models import Organization


@clinical_member
def queue(request: AuthenticatedRequest) -> HttpResponse:
    """The navigator's queue: inbound referrals of this organization, by state and age."""
    org = _org(request)
    show_all = request.GET.get("show") == "all"
    inbound = selectors.referrals_for(user=request.user, organization=org, direction="inbound")
    if not show_all:
        inbound = inbound.filter(state__in=OPEN_REFERRAL_STATES)
    groups: dict[str, list[Any]] = {state.value: [] for state in ReferralState}
    for referral in selectors.urgent_first(inbound)[:300]:
        referral.age_days = _age_days(referral.created_at)
        groups[referral.state].append(referral)
    audit_record(action=AuditAction.SEARCH, request=request, object_type="referral_queue")
    template = "care/partials/queue_groups.html" if getattr(request, "htmx", False) else "care/queue.html"
    return render(
        request,
        template,
        {
            "groups": [(ReferralState(state).label, state, rows) for state, rows in groups.items() if rows],
            "show_all": show_all,
            "tab": "inbound",
        },
    )


@clinical_member
def outbound(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    referrals = list(selectors.referrals_for(user=request.user, organization=org, direction="outbound")[:300])
    for referral in referrals:
        referral.age_days = _age_days(referral.created_at)
    audit_record(action=AuditAction.SEARCH, request=request, object_type="referral_outbound")
    return render(request, "care/outbound.html", {"referrals": referrals, "tab": "outbound"})


@clinical_member
def referral_new(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    patients = visible_patients(user=request.user, organization=org)
    form = forms.ReferralForm(
        request.POST or None, patients=patients, organization=org, initial={"patient": request.GET.get("patient")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.referral_create(
                user=request.user,
                organization=org,
                patient=data["patient"],
                receiving_organization=data["receiving_organization"],
                specialty=data["specialty"],
                reason=data["reason"],
                priority=data["priority"],
                checklist=data["checklist"],
                attachments=selectors.referral_attachments_get(
                    user=request.user,
                    organization=org,
                    patient=data["patient"],
                    entry_uuids=request.POST.getlist("attachments"),
                ),
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Referral sent.")
            return redirect("care:referral_detail", referral_uuid=referral.uuid)
    entries: list[RegistryEntry] = []
    chosen = request.POST.get("patient") or request.GET.get("patient")
    patient = patients.filter(uuid=chosen).first() if chosen and _is_uuid(chosen) else None
    if patient is not None:
        entries = list(
            visible_entries(user=request.user, organization=org, patient=patient)
            .filter(kind__in=ATTACHABLE_KINDS)
            .exclude(status="withdrawn")
            .select_related("organization")
            .order_by("-effective_at")[:30]
        )
        audit_record(
            action=AuditAction.READ,
            request=request,
            object_type="registry_entries",
            patient=patient,
            detail={"purpose": "referral attachments"},
        )
    return render(
        request,
        "care/referral_form.html",
        {"form": form, "entries": entries, "attached": request.POST.getlist("attachments"), "tab": "outbound"},
    )


ATTACHABLE_KINDS = [
    "pathology_report",
    "imaging_report",
    "lab_result",
    "cancer_diagnosis",
    "consult_note",
    "note",
    "treatment",
    "medication",
    "problem",
    "discharge",
]


@clinical_member
def referral_detail(request: AuthenticatedRequest, referral_uuid: uuid.UUID) -> HttpResponse:
    org = _org(request)
    referral = selectors.referral_get_for_user(user=request.user, organization=org, referral_uuid=referral_uuid)
    audit_record(
        action=AuditAction.READ,
        request=request,
        object_type="referral",
        object_id=referral.uuid,
        patient=referral.patient,
        data_owner=referral.referring_organization,
    )
    return _render_referral(request, referral, org)


def _render_referral(
    request: AuthenticatedRequest,
    referral: Referral,
    org: Organization,
    form: forms.TransitionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actions = selectors.referral_actions(referral=referral, organization=org)
    consult_reports: list[RegistryEntry] = []
    write_report_url = ""
    closes_early = False
    if any(a.action == "complete" for a in actions):
        consult_reports = selectors.referral_outcome_candidates(user=request.user, organization=org, referral=referral)
        back = reverse("care:referral_detail", kwargs={"referral_uuid": referral.uuid})
        write_report_url = (
            reverse("records:new", kwargs={"patient_uuid": referral.patient.uuid, "kind": "consult_note"})
            + "?"
            + urlencode({"referral": str(referral.uuid), "next": back})
        )
        closes_early = referral.appointment_at is not None and timezone.now() < referral.appointment_at
    return render(
        request,
        "care/referral_detail.html",
        {
            "referral": referral,
            "actions": actions,
            "side": services.referral_side(referral=referral, organization=org),
            "events": selectors.referral_history(referral=referral),
            "notes": referral.notes.select_related("author"),
            "attachments": selectors.referral_attachments(referral=referral),
            "checklist": [(label, referral.checklist.get(key, False)) for key, label in CHECKLIST_ITEMS],
            "consult_reports": consult_reports,
            "write_report_url": write_report_url,
            "attachments_open": referral.state not in selectors.ATTACHMENTS_CLOSED_STATES,
            "closes_early": closes_early,
            "escalations": selectors.escalations_for(object_type="referral", object_ids=[referral.pk]),
            "form": form,
            "tab": "inbound" if referral.receiving_organization_id == org.pk else "outbound",
        },
        status=status,
    )


@clinical_member
def referral_entry(request: AuthenticatedRequest, referral_uuid: uuid.UUID, entry_uuid: uuid.UUID) -> HttpResponse:
    """An entry the referral carries (for its receiver) or its outcome (for its referrer),
    shown as the record shows an entry."""
    from portal.records.display import entry_sections

    org = _org(request)
    opened = selectors.referral_entry_get_for_user(
        user=request.user, organization=org, referral_uuid=referral_uuid, entry_uuid=entry_uuid, request=request
    )
    referral_url = reverse("care:referral_detail", kwargs={"referral_uuid": referral_uuid})
    return render(
        request,
        "patients/entry.html",
        {
            "opened": opened,
            "patient": opened.item.patient,
            "sections": entry_sections(opened.item.kind, opened.item.data or {}, title=opened.item.title),
            "history": None,
            "is_owner": False,
            "can_author": False,
            "back_url": referral_url,
            "back_label": "Referral",
            "file_url": reverse(
                "care:referral_entry_file", kwargs={"referral_uuid": referral_uuid, "entry_uuid": entry_uuid}
            ),
        },
    )


@clinical_member
def referral_entry_file(
    request: AuthenticatedRequest, referral_uuid: uuid.UUID, entry_uuid: uuid.UUID
) -> HttpResponseBase:
    from django_tenants.utils import schema_context

    opened = selectors.referral_entry_get_for_user(
        user=request.user,
        organization=_org(request),
        referral_uuid=referral_uuid,
        entry_uuid=entry_uuid,
        request=request,
    )
    if opened.document is None:
        raise Http404("No file")
    with schema_context(opened.entry.organization.schema_name):
        handle = opened.document.file.open("rb")
    return FileResponse(handle, content_type=opened.document.content_type, filename=opened.document.original_name)


@clinical_member
def referral_act(request: AuthenticatedRequest, referral_uuid: uuid.UUID) -> HttpResponse:
    org = _org(request)
    referral = selectors.referral_get_for_user(user=request.user, organization=org, referral_uuid=referral_uuid)
    if request.method != "POST":
        return redirect("care:referral_detail", referral_uuid=referral.uuid)
    form = forms.TransitionForm(request.POST)
    if not form.is_valid():
        return _render_referral(request, referral, org, form, status=400)
    data = form.cleaned_data
    outcome = None
    if data.get("outcome_entry"):
        outcome = selectors.referral_outcome_get(
            user=request.user, organization=org, referral=referral, entry_uuid=data["outcome_entry"]
        )
    try:
        services.referral_transition(
            referral=referral,
            action=data["action"],
            user=request.user,
            organization=org,
            reason=data.get("reason") or "",
            note=data.get("note") or "",
            appointment_at=data.get("appointment_at"),
            outcome_entry=outcome,
        )
    except ValidationError as error:
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return _render_referral(request, referral, org, form, status=400)
    except PermissionDenied as error:
        messages.error(request, str(error))
        return redirect("care:referral_detail", referral_uuid=referral.uuid)
    messages.success(request, "Referral updated.")
    return redirect("care:referral_detail", referral_uuid=referral.uuid)
