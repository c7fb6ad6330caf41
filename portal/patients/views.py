"""Pages of the shared record at an organization's address: my patients, search, chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from portal.accounts.roles import AUTHOR_ROLES, NAVIGATOR_ROLES
from portal.audit.services import AuditAction, audit_record
from portal.db.replica import reads_only
from portal.patients.forms import AccessRequestForm, EmergencyAccessForm, RegisterPatientForm, TimelinePageForm
from portal.patients.models import AccessRequest, PatientIdentifier, PatientMatchCandidate
from portal.patients.selectors import (
    access_requests_to_decide,
    matches_to_decide,
    my_patients,
    patient_get_for_user,
    patient_search,
)
from portal.patients.services import (
    access_request_create,
    access_request_decide,
    emergency_access_request,
    patient_match_decide,
    patient_register,
)
from portal.records.display import entry_sections
from portal.records.kinds import SPECS
from portal.records.models import BOARD_ONLY_KINDS, ItemKind
from portal.records.selectors import chart_get, drafts_for, entry_open, result_history_for, timeline_page_get

if TYPE_CHECKING:
    from django import forms

    from portal.accounts.models import Membership
    from portal.accounts.typing import AuthenticatedRequest, TenantRequest
    from portal.patients.models import NetworkPatient


def _clinical(request: TenantRequest) -> Membership:
    """The clinical membership of the signed-in person here; anyone else gets a 404."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_clinical:
        raise Http404("No such page")
    return membership


def _form_errors(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field_name, messages_ in error.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@login_required
def patient_list(request: AuthenticatedRequest) -> HttpResponse:
    _clinical(request)
    only_mine = request.GET.get("show") != "all"
    patients = list(my_patients(user=request.user, organization=request.tenant, only_mine=only_mine)[:200])
    context = {"patients": patients, "only_mine": only_mine, "may_review_identities": _may_review_matches(request)}
    return render(request, "patients/list.html", context)


SEARCH_MAX_LENGTH = 100


@reads_only
@login_required
def search(request: AuthenticatedRequest) -> HttpResponse:
    """Find a patient. The terms are POSTed, never put in the address: a patient's name or
    birth date in a URL would land in browser history and in every server's access log."""
    _clinical(request)
    query = request.POST.get("q", "").strip()[:SEARCH_MAX_LENGTH] if request.method == "POST" else ""
    results = patient_search(user=request.user, organization=request.tenant, query=query) if query else []
    if query:
        audit_record(action=AuditAction.SEARCH, request=request, detail={"results": len(results)})
    template = "patients/partials/search_results.html" if request.htmx else "patients/search.html"
    return render(request, template, {"query": query, "results": results})


@login_required
def chart(request: AuthenticatedRequest, patient_uuid: str) -> HttpResponse:
    membership = _clinical(request)
    data = chart_get(user=request.user, organization=request.tenant, patient_uuid=patient_uuid, request=request)
    can_author = membership.role in AUTHOR_ROLES
    context = {
        "chart": data,
        "patient": data.patient,
        "can_author": can_author,
        "kinds": [(kind.value, kind.label) for kind in ItemKind if kind not in BOARD_ONLY_KINDS],
        "drafts": list(drafts_for(user=request.user, organization=request.tenant, patient=data.patient))
        if can_author
        else [],
        "extra_panels": _extra_panels(request, data.patient),
    }
    return render(request, "patients/chart.html", context)


@login_required
def timeline_page(request: AuthenticatedRequest, patient_uuid: str) -> HttpResponse:
    """The chart timeline's next page ("Show older entries"): the rows alone for HTMX, which
    puts them in place of the control; a page of its own without JavaScript."""
    _clinical(request)
    form = TimelinePageForm(request.GET)
    if not form.is_valid():
        refused = "patients/partials/timeline_refused.html" if request.htmx else "patients/timeline_refused.html"
        return render(request, refused, status=400)
    page = timeline_page_get(
        user=request.user,
        organization=request.tenant,
        patient_uuid=patient_uuid,
        after_entry=form.cleaned_data["after"],
        request=request,
    )
    context = {"page": page, "patient": page.patient, "new_since": form.cleaned_data["since"]}
    if request.htmx:
        return render(request, "patients/partials/timeline_page.html", context)
    return render(request, "patients/timeline.html", context)


def _extra_panels(request: AuthenticatedRequest, patient: NetworkPatient) -> list[str]:
    """Panels other apps add to the chart (threads, referrals, hand-offs), rendered to HTML.
    ``chart_get`` has just checked access to ``patient`` in this request."""
    from django.template.loader import render_to_string

    from portal.care.selectors import care_items_for_patient
    from portal.messaging.selectors import threads_for_patient

    user, organization = request.user, request.tenant
    threads = list(threads_for_patient(user=user, organization=organization, patient=patient, access_checked=True))
    care = care_items_for_patient(user=user, organization=organization, patient=patient, access_checked=True)
    return [
        render_to_string(
            "messaging/partials/patient_threads.html", {"patient_threads": threads, "patient": patient}, request=request
        ),
        render_to_string("care/partials/patient_care.html", {"items": care, "patient": patient}, request=request),
    ]


@login_required
def entry_detail(request: AuthenticatedRequest, patient_uuid: str, entry_uuid: str) -> HttpResponse:
    membership = _clinical(request)
    opened = entry_open(
        user=request.user,
        organization=request.tenant,
        patient_uuid=patient_uuid,
        entry_uuid=entry_uuid,
        request=request,
    )
    sections = entry_sections(opened.item.kind, opened.item.data or {}, title=opened.item.title)
    history = None
    if opened.entry.kind == "lab_result":
        history = result_history_for(
            user=request.user, organization=request.tenant, entry=opened.entry, access_checked=True
        )
    return render(
        request,
        "patients/entry.html",
        {
            "opened": opened,
            "patient": opened.item.patient,
            "sections": sections,
            "history": history,
            "is_owner": opened.entry.organization_id == request.tenant.pk,
            "can_author": membership.role in AUTHOR_ROLES,
        },
    )


@login_required
def entry_file(request: AuthenticatedRequest, patient_uuid: str, entry_uuid: str) -> FileResponse:
    _clinical(request)
    opened = entry_open(
        user=request.user,
        organization=request.tenant,
        patient_uuid=patient_uuid,
        entry_uuid=entry_uuid,
        request=request,
    )
    if opened.document is None:
        raise Http404("No file")
    with schema_context(opened.entry.organization.schema_name):
        handle = opened.document.file.open("rb")
    return FileResponse(handle, content_type=opened.document.content_type, filename=opened.document.original_name)


REGISTERED_NOTE = (
    "Registered under MRN {mrn}. Your organization sees the entries it publishes for this patient; "
    "to see what other organizations share, ask them from the chart."
)


@login_required
def register(request: AuthenticatedRequest) -> HttpResponse:
    membership = _clinical(request)
    form = RegisterPatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration = patient_register(
                organization=request.tenant,
                registered_by=request.user,
                clinician=request.user if membership.role in AUTHOR_ROLES else None,
                **form.cleaned_data,
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            # One answer whatever the outcome (linked, new, or queued for review): a
            # registration never tells the asker whether anyone else knows the person.
            messages.success(request, REGISTERED_NOTE.format(mrn=form.cleaned_data["mrn"].strip()))
            return redirect("patients:chart", patient_uuid=registration.patient.uuid)
    return render(request, "patients/register.html", {"form": form})


def _may_review_matches(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and (membership.is_admin or membership.role in NAVIGATOR_ROLES)


@login_required
def match_queue(request: AuthenticatedRequest) -> HttpResponse:
    """Two lists. To decide: probable matches whose candidate this organization cares for
    (so it already sees that person). Ours under review: what this organization registered,
    its own side only, and the outcome: never the candidate it may be."""
    if not _may_review_matches(request):
        raise Http404("No such page")
    to_decide = list(
        matches_to_decide(organization=request.tenant)
        .select_related("patient", "candidate", "organization")
        .prefetch_related("candidate__identifiers__organization")
    )
    ours = list(
        PatientMatchCandidate.objects.filter(organization=request.tenant)
        .select_related("patient")
        .order_by("-created_at")[:50]
    )
    mrns = dict(
        PatientIdentifier.objects.filter(
            organization=request.tenant, patient__in=[m.patient_id for m in ours]
        ).values_list("patient_id", "mrn")
    )
    own = [{"match": m, "mrn": mrns.get(m.patient_id, "")} for m in ours]
    return render(request, "patients/matches.html", {"matches": to_decide, "own": own})


@login_required
@require_POST
def match_decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    if not _may_review_matches(request):
        raise Http404("No such page")
    match = get_object_or_404(matches_to_decide(organization=request.tenant), pk=pk)
    decision = request.POST.get("decision")
    if decision not in {"same", "different"}:
        messages.error(request, "Choose whether the two records are the same person.")
        return redirect("patients:matches")
    try:
        patient_match_decide(
            match=match, user=request.user, same_person=decision == "same", organization=request.tenant
        )
    except PermissionDenied:
        raise Http404("No such match") from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, "Merged into one patient." if decision == "same" else "Kept as two different patients."
        )
    return redirect("patients:matches")


@login_required
def access_request_new(request: AuthenticatedRequest, patient_uuid: str) -> HttpResponse:
    """Ask the organizations that share this patient's record to let this one see it."""
    _clinical(request)
    patient = patient_get_for_user(user=request.user, organization=request.tenant, patient_uuid=patient_uuid)
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access_request_create(
                user=request.user,
                organization=request.tenant,
                patient=patient,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except PermissionDenied:
            raise Http404("No such patient") from None
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                "Your request was sent. The organizations that share this patient's record answer it; "
                "you are told when they do.",
            )
            return redirect("patients:chart", patient_uuid=patient.uuid)
    return render(request, "patients/access_request.html", {"form": form, "patient": patient})


@login_required
def access_requests(request: AuthenticatedRequest) -> HttpResponse:
    """Requests this organization may answer (navigators and site admins of an organization
    sharing the patient's record), and the requests it sent."""
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404("No such page")
    may_decide = membership.is_admin or membership.role in NAVIGATOR_ROLES
    to_decide = (
        list(
            access_requests_to_decide(organization=request.tenant).select_related(
                "patient", "organization", "requested_by"
            )
        )
        if may_decide
        else []
    )
    sent = list(
        AccessRequest.objects.filter(organization=request.tenant)
        .select_related("patient", "requested_by", "deciding_organization")
        .order_by("-created_at")[:50]
    )
    return render(request, "patients/access_requests.html", {"to_decide": to_decide, "sent": sent})


@login_required
@require_POST
def access_request_decide_view(request: AuthenticatedRequest, request_uuid: str) -> HttpResponse:
    if not _may_review_matches(request):
        raise Http404("No such page")
    access_request = get_object_or_404(access_requests_to_decide(organization=request.tenant), uuid=request_uuid)
    decision = request.POST.get("decision")
    if decision not in {"confirm", "decline"}:
        messages.error(request, "Choose to confirm or decline the request.")
        return redirect("patients:access_requests")
    try:
        access_request_decide(
            access_request=access_request,
            user=request.user,
            organization=request.tenant,
            confirm=decision == "confirm",
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except PermissionDenied:
        raise Http404("No such request") from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Access confirmed." if decision == "confirm" else "Request declined.")
    return redirect("patients:access_requests")


@login_required
def emergency(request: AuthenticatedRequest) -> HttpResponse:
    _clinical(request)
    form = EmergencyAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = emergency_access_request(
                user=request.user, organization=request.tenant, request=request, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as error:
            _form_errors(form, error if isinstance(error, ValidationError) else ValidationError(str(error)))
        else:
            messages.warning(
                request, f"Emergency access is open until {grant.expires_at:%H:%M}. It is recorded and reported."
            )
            return redirect("patients:chart", patient_uuid=grant.patient.uuid)
    return render(request, "patients/emergency.html", {"form": form})


KIND_LABELS = {kind.value: kind.label for kind in ItemKind}
__all__ = ["SPECS", "KIND_LABELS"]
