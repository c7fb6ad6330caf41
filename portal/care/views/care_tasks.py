"""Care-task pages: the list, a new task (with its checks), a task and its occurrences."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal.accounts.typing import AuthenticatedRequest
from portal.audit.services import AuditAction, audit_record
from portal.care import forms, selectors, services
from portal.care.views.common import _is_uuid, _org, clinical_member
from portal.patients.models import NetworkPatient
from portal.patients.selectors import visible_patients
from tenants.models import Organization


@clinical_member
def task_list(request: AuthenticatedRequest) -> HttpResponse:
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
        task.stats = stats.get(task.pk, {})
    audit_record(action=AuditAction.SEARCH, request=request, object_type="care_tasks")
    return render(request, "care/task_list.html", {"tasks": tasks, "tab": "tasks"})


@clinical_member
def task_new(request: AuthenticatedRequest) -> HttpResponse:
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


def _task_warnings(
    *, org: Organization, patient: NetworkPatient, owner: Organization | None, code: str, title: str
) -> dict[str, Any]:
    """What deserves a second look before a task is created: the same test done at another
    organization in the past 30 days, and an open task already asking for it."""
    return {
        "elsewhere": selectors.same_test_done_elsewhere(
            patient=patient, organization=org, owner_organization=owner, kind="lab_result", code=code, title=title
        ),
        "open_tasks": selectors.open_tasks_for_same_test(patient=patient, code=code, title=title),
    }


@clinical_member
def task_check(request: AuthenticatedRequest) -> HttpResponse:
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
def task_detail(request: AuthenticatedRequest, task_uuid: uuid.UUID) -> HttpResponse:
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
