"""Pages of closing the loop: the navigator's queue, referrals, tasks, hand-offs, scorecard."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from portal.audit.services import AuditAction, audit_record
from portal.care import forms, selectors, services
from portal.care.models import HANDOFF_SECTIONS, OPEN_REFERRAL_STATES, ReferralState, Responsible
from portal.care.scorecard import scorecard, scorecard_csv_rows
from portal.patients.models import RegistryEntry
from portal.patients.selectors import patient_get_for_user, visible_entries, visible_patients

View = Callable[..., HttpResponseBase]


def clinical_member(view: View) -> View:
    """Signed in at this address with a clinical role; everyone else gets the same 404."""

    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        membership = getattr(request, "membership", None)
        if membership is None or not membership.is_clinical:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return wrapper


def member(view: View) -> View:
    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "membership", None) is None:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return wrapper


def _org(request: HttpRequest) -> Any:
    return request.tenant  # type: ignore[attr-defined]


def _age_days(moment: dt.datetime) -> int:
    return (timezone.now() - moment).days


# --- Referrals ------------------------------------------------------------------------


@clinical_member
def queue(request: HttpRequest) -> HttpResponse:
    """The navigator's queue: inbound referrals of this organization, by state and age."""
    org = _org(request)
    show_all = request.GET.get("show") == "all"
    inbound = selectors.referrals_for(user=request.user, organization=org, direction="inbound")
    if not show_all:
        inbound = inbound.filter(state__in=OPEN_REFERRAL_STATES)
    groups: dict[str, list[Any]] = {state.value: [] for state in ReferralState}
    for referral in selectors.urgent_first(inbound)[:300]:
        referral.age_days = _age_days(referral.created_at)  # type: ignore[attr-defined]
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
def outbound(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    referrals = list(selectors.referrals_for(user=request.user, organization=org, direction="outbound")[:300])
    for referral in referrals:
        referral.age_days = _age_days(referral.created_at)  # type: ignore[attr-defined]
    audit_record(action=AuditAction.SEARCH, request=request, object_type="referral_outbound")
    return render(request, "care/outbound.html", {"referrals": referrals, "tab": "outbound"})


@clinical_member
def referral_new(request: HttpRequest) -> HttpResponse:
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


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@clinical_member
def referral_detail(request: HttpRequest, referral_uuid: Any) -> HttpResponse:
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
    request: HttpRequest, referral: Any, org: Any, form: Any = None, status: int = 200
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
            "checklist": [(label, referral.checklist.get(key, False)) for key, label in services.CHECKLIST_ITEMS],
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
def referral_entry(request: HttpRequest, referral_uuid: Any, entry_uuid: Any) -> HttpResponse:
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
def referral_entry_file(request: HttpRequest, referral_uuid: Any, entry_uuid: Any) -> HttpResponseBase:
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
def referral_act(request: HttpRequest, referral_uuid: Any) -> HttpResponse:
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


# --- Care tasks -----------------------------------------------------------------------


@clinical_member
def task_list(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    tasks = list(selectors.tasks_for(user=request.user, organization=org).order_by("status", "-created_at")[:200])
    task_ids = [t.pk for t in tasks]
    from django.db.models import Count, Min, Q

    from portal.care.models import TaskOccurrence

    stats = {
        row["task_id"]: row
        for row in TaskOccurrence.objects.filter(task_id__in=task_ids)
        .values("task_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(done_at__isnull=False)),
            overdue=Count("pk", filter=Q(done_at__isnull=True, due_at__lt=timezone.now())),
            next_due=Min("due_at", filter=Q(done_at__isnull=True)),
        )
    }
    for task in tasks:
        task.stats = stats.get(task.pk, {})  # type: ignore[attr-defined]
    audit_record(action=AuditAction.SEARCH, request=request, object_type="care_tasks")
    return render(request, "care/task_list.html", {"tasks": tasks, "tab": "tasks"})


@clinical_member
def task_new(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    patients = visible_patients(user=request.user, organization=org)
    chosen = request.POST.get("patient") or request.GET.get("patient")
    patient = patients.filter(uuid=chosen).first() if chosen and _is_uuid(chosen) else None
    form = forms.CareTaskForm(
        request.POST or None,
        patients=patients,
        organization=org,
        patient=patient,
        owner_url=reverse("care:task_new"),
        initial={"patient": request.GET.get("patient")},
    )
    warnings: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        warnings = _task_warnings(
            org=org,
            patient=data["patient"],
            owner=data["owner_organization"],
            code=data["code"],
            title=data["title"],
        )
        if any(warnings.values()) and not request.POST.get("confirm_duplicate"):
            return render(request, "care/task_form.html", {"form": form, "warnings": warnings, "tab": "tasks"})
        try:
            recurrence = ""
            starts_at = None
            if data["schedule"] == "weekly":
                recurrence = services.recurrence_rule(
                    times_per_week=data.get("times_per_week") or 0, weeks=data.get("weeks"), until=data.get("until")
                )
                starts_on = data.get("starts_on") or timezone.localdate()
                starts_at = dt.datetime.combine(starts_on, dt.time(9), tzinfo=timezone.get_current_timezone())
            task = services.care_task_create(
                user=request.user,
                organization=org,
                patient=data["patient"],
                owner_organization=data["owner_organization"],
                title=data["title"],
                code=data["code"],
                instructions=data["instructions"],
                due_at=data.get("due_at") if not recurrence else None,
                recurrence=recurrence,
                starts_at=starts_at,
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Care task created.")
            return redirect("care:task_detail", task_uuid=task.uuid)
    return render(request, "care/task_form.html", {"form": form, "warnings": warnings, "tab": "tasks"})


def _task_warnings(*, org: Any, patient: Any, owner: Any, code: str, title: str) -> dict[str, Any]:
    """What deserves a second look before a task is created: the same test done at another
    organization in the past 30 days, and an open task already asking for it."""
    return {
        "elsewhere": selectors.same_test_done_elsewhere(
            patient=patient, organization=org, owner_organization=owner, kind="lab_result", code=code, title=title
        ),
        "open_tasks": selectors.open_tasks_for_same_test(patient=patient, code=code, title=title),
    }


@clinical_member
def task_check(request: HttpRequest) -> HttpResponse:
    """The task form's live check (HTMX, as the form is filled): the warnings for the
    patient, test and owner chosen so far. About a patient this user may not see, or with
    nothing chosen yet, it says nothing at all."""
    org = _org(request)
    if request.method != "POST":
        return redirect("care:task_new")
    chosen = request.POST.get("patient", "")
    patients = visible_patients(user=request.user, organization=org)
    patient = patients.filter(uuid=chosen).first() if _is_uuid(chosen) else None
    warnings: dict[str, Any] = {}
    if patient is not None:
        from portal.care.forms import _organizations_caring_for

        raw_owner = request.POST.get("owner_organization", "")
        owner = _organizations_caring_for(patient).filter(pk=raw_owner).first() if raw_owner.isdigit() else None
        warnings = _task_warnings(
            org=org,
            patient=patient,
            owner=owner,
            code=request.POST.get("code", "")[:64],
            title=request.POST.get("title", "")[:200],
        )
    return render(request, "care/partials/task_warnings.html", {"warnings": warnings, "live": True})


@clinical_member
def task_detail(request: HttpRequest, task_uuid: Any) -> HttpResponse:
    org = _org(request)
    task = selectors.task_get_for_user(user=request.user, organization=org, task_uuid=task_uuid)
    form = forms.LinkResultForm(request.POST or None)
    status = 200
    if request.method == "POST" and request.POST.get("cancel_task"):
        try:
            services.care_task_cancel(task=task, user=request.user, organization=org)
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Care task cancelled.")
        return redirect("care:task_detail", task_uuid=task.uuid)
    if request.method == "POST":
        if form.is_valid():
            occurrence = selectors.occurrence_get_for_user(
                user=request.user, organization=org, task=task, occurrence_id=form.cleaned_data["occurrence"]
            )
            entry = selectors.result_to_link_get(
                user=request.user, organization=org, task=task, entry_uuid=form.cleaned_data["entry"]
            )
            try:
                if entry is None:
                    raise ValidationError({"entry": ["Choose a published result of this patient."]})
                services.occurrence_link_result(occurrence=occurrence, entry=entry, user=request.user, organization=org)
            except ValidationError as error:
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
                status = 400
            except PermissionDenied as error:
                messages.error(request, str(error))
                return redirect("care:task_detail", task_uuid=task.uuid)
            else:
                messages.success(request, "Result linked; the task's creator is notified.")
                return redirect("care:task_detail", task_uuid=task.uuid)
        else:
            status = 400
    audit_record(
        action=AuditAction.READ,
        request=request,
        object_type="care_task",
        object_id=task.uuid,
        patient=task.patient,
        data_owner=task.creating_organization,
    )
    occurrences = list(task.occurrences.select_related("result_entry", "done_by"))
    may_link = org.pk in (task.owner_organization_id, task.creating_organization_id)
    link_forms = []
    if may_link:
        link_forms = [
            forms.OccurrenceResultForm(choices=choices)
            for choices in selectors.occurrence_link_choices(
                user=request.user, organization=org, task=task, occurrences=occurrences
            )
        ]
    return render(
        request,
        "care/task_detail.html",
        {
            "task": task,
            "occurrences": occurrences,
            "link_forms": link_forms,
            "asks_for": selectors.task_asks_for(task=task),
            "escalations": selectors.escalations_for(object_type="occurrence", object_ids=[o.pk for o in occurrences]),
            "may_link": may_link,
            "may_cancel": org.pk == task.creating_organization_id and task.status == "open",
            "form": form,
            "tab": "tasks",
        },
        status=status,
    )


# --- Hand-offs ------------------------------------------------------------------------


@clinical_member
def handoff_list(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    handoffs = list(selectors.handoffs_for(user=request.user, organization=org)[:200])
    audit_record(action=AuditAction.SEARCH, request=request, object_type="handoffs")
    return render(request, "care/handoff_list.html", {"handoffs": handoffs, "tab": "handoffs"})


@clinical_member
def handoff_new(request: HttpRequest) -> HttpResponse:
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
def handoff_check(request: HttpRequest) -> HttpResponse:
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


def _uuid_or_404(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise Http404("No such patient") from error


@clinical_member
def handoff_detail(request: HttpRequest, handoff_uuid: Any) -> HttpResponse:
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


# --- Scorecard ------------------------------------------------------------------------


def scorecard_default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The past twelve months: from the first of the month eleven months back to today."""
    month = today.replace(day=1)
    for _ in range(11):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month, today


@member
def scorecard_view(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    form = forms.ScorecardFilter(request.GET or None)
    start, end = scorecard_default_range(timezone.localdate())
    scope = "organization"
    wants_csv = request.GET.get("format") == "csv"
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        scope = form.cleaned_data.get("scope") or scope
        if start > end:  # one end given, past the default other end
            form.add_error("end" if form.cleaned_data.get("end") else "start", "The end date is before the start date.")
    if form.errors:
        # A reversed or unreadable range is an error on the form (and of the export), never swapped.
        if wants_csv:
            reasons = "; ".join(m for ms in form.errors.values() for m in ms)
            return HttpResponse(reasons, status=400, content_type="text/plain; charset=utf-8")
        context = {"card": None, "form": form, "scope": request.GET.get("scope") or scope, "tab": "scorecard"}
        return render(request, "care/scorecard.html", context, status=400)
    card = scorecard(organization=None if scope == "network" else org, start=start, end=end)
    if wants_csv:
        audit_record(
            action=AuditAction.EXPORT,
            request=request,
            object_type="scorecard",
            detail={"start": str(start), "end": str(end), "scope": scope},
        )
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="scorecard-{start}-{end}.csv"'
        writer = csv.writer(response)
        writer.writerows(scorecard_csv_rows(card))
        return response
    query = f"start={start}&end={end}&scope={scope}"
    return render(
        request,
        "care/scorecard.html",
        {"card": card, "form": form, "start": start, "end": end, "scope": scope, "query": query, "tab": "scorecard"},
    )
