"""Pages of the shared record at an organization's address: my patients, search, chart."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from portal.accounts.roles import AUTHOR_ROLES, NAVIGATOR_ROLES
from portal.audit.services import AuditAction, audit_record
from portal.patients.forms import EmergencyAccessForm, RegisterPatientForm
from portal.patients.models import MatchStatus, PatientMatchCandidate
from portal.patients.selectors import my_patients, patient_search
from portal.patients.services import emergency_access_request, patient_match_decide, patient_register
from portal.records.display import entry_sections
from portal.records.kinds import SPECS
from portal.records.models import ItemKind
from portal.records.selectors import chart_get, drafts_for, entry_open, result_history_for


def _clinical(request: HttpRequest) -> None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_clinical:
        raise Http404("No such page")


def _form_errors(form, error: ValidationError) -> None:  # type: ignore[no-untyped-def]
    if hasattr(error, "error_dict"):
        for field_name, messages_ in error.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    only_mine = request.GET.get("show") != "all"
    patients = list(my_patients(user=request.user, organization=request.tenant, only_mine=only_mine)[:200])
    return render(request, "patients/list.html", {"patients": patients, "only_mine": only_mine})


SEARCH_MAX_LENGTH = 100


@login_required
def search(request: HttpRequest) -> HttpResponse:
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
def chart(request: HttpRequest, patient_uuid: str) -> HttpResponse:
    _clinical(request)
    data = chart_get(user=request.user, organization=request.tenant, patient_uuid=patient_uuid, request=request)
    can_author = request.membership.role in AUTHOR_ROLES
    context = {
        "chart": data,
        "patient": data.patient,
        "can_author": can_author,
        "kinds": [(kind.value, kind.label) for kind in ItemKind],
        "drafts": list(drafts_for(user=request.user, organization=request.tenant, patient=data.patient))
        if can_author
        else [],
        "extra_panels": _extra_panels(request, data.patient),
    }
    return render(request, "patients/chart.html", context)


def _extra_panels(request: HttpRequest, patient) -> list[Any]:  # type: ignore[no-untyped-def]
    """Panels other apps add to the chart (threads, referrals, hand-offs), rendered to HTML.
    ``chart_get`` has just checked access to ``patient`` in this request."""
    from django.template.loader import render_to_string

    from portal.care.selectors import care_items_for_patient
    from portal.messaging.selectors import threads_for_patient

    who = {"user": request.user, "organization": request.tenant, "patient": patient}
    threads = list(threads_for_patient(**who, access_checked=True))
    care = care_items_for_patient(**who, access_checked=True)
    return [
        render_to_string(
            "messaging/partials/patient_threads.html", {"patient_threads": threads, "patient": patient}, request=request
        ),
        render_to_string("care/partials/patient_care.html", {"items": care, "patient": patient}, request=request),
    ]


@login_required
def entry_detail(request: HttpRequest, patient_uuid: str, entry_uuid: str) -> HttpResponse:
    _clinical(request)
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
            "can_author": request.membership.role in AUTHOR_ROLES,
        },
    )


@login_required
def entry_file(request: HttpRequest, patient_uuid: str, entry_uuid: str) -> FileResponse:
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


@login_required
def register(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    form = RegisterPatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration = patient_register(
                organization=request.tenant,
                registered_by=request.user,
                clinician=request.user if request.membership.role in AUTHOR_ROLES else None,
                **form.cleaned_data,
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            notes = {
                "linked": "Linked to the patient already known on the network.",
                "new": "Registered as a new patient on the network.",
                "queued": "Registered. A possible match with another record is waiting for review.",
            }
            messages.success(request, notes[registration.outcome])
            return redirect("patients:chart", patient_uuid=registration.patient.uuid)
    return render(request, "patients/register.html", {"form": form})


def _may_review_matches(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and (membership.is_admin or membership.role in NAVIGATOR_ROLES)


@login_required
def match_queue(request: HttpRequest) -> HttpResponse:
    if not _may_review_matches(request):
        raise Http404("No such page")
    matches = (
        PatientMatchCandidate.objects.filter(organization=request.tenant, status=MatchStatus.PENDING)
        .select_related("patient", "candidate")
        .prefetch_related("patient__identifiers__organization", "candidate__identifiers__organization")
    )
    return render(request, "patients/matches.html", {"matches": matches})


@login_required
@require_POST
def match_decide(request: HttpRequest, pk: int) -> HttpResponse:
    if not _may_review_matches(request):
        raise Http404("No such page")
    match = get_object_or_404(PatientMatchCandidate, pk=pk, organization=request.tenant)
    decision = request.POST.get("decision")
    if decision not in {"same", "different"}:
        messages.error(request, "Choose whether the two records are the same person.")
        return redirect("patients:matches")
    try:
        patient_match_decide(match=match, user=request.user, same_person=decision == "same")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, "Merged into one patient." if decision == "same" else "Kept as two different patients."
        )
    return redirect("patients:matches")


@login_required
def emergency(request: HttpRequest) -> HttpResponse:
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
