"""Pages of tumor boards: my boards, a board, a meeting (the coordinator's room view),
a case, submitting a case, my submissions, and the print views."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from portal.accounts.typing import AuthenticatedRequest
from portal.audit.services import AuditAction, audit_record
from portal.boards import forms, selectors, services
from portal.boards.models import Board, Case, CaseState, Category, Evidence, FollowUp, Meeting, Specialty
from portal.care.views import clinical_member
from portal.patients.selectors import visible_entries, visible_patients
from tenants.models import Organization


def _org(request: AuthenticatedRequest) -> Organization:
    return request.tenant


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError):
        return False
    return True


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return list(error.messages)


@clinical_member
def board_list(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    boards = list(selectors.boards_for(user=request.user, organization=org))
    for board in boards:
        board.next_meeting = (
            Meeting.objects.filter(board=board, starts_at__gt=services.timezone.now()).order_by("starts_at").first()
        )
    return render(request, "boards/board_list.html", {"boards": boards, "tab": "boards"})


@clinical_member
def board_detail(request: AuthenticatedRequest, board_uuid: Any) -> HttpResponse:
    org = _org(request)
    board = selectors.board_get_for_user(user=request.user, organization=org, board_uuid=board_uuid)
    return _board_page(request, board)


def _board_page(request: AuthenticatedRequest, board: Board, status: int = 200) -> HttpResponse:
    meetings = selectors.board_meetings(board=board)
    next_meeting = meetings["upcoming"][0] if meetings["upcoming"] else None
    agenda = selectors.agenda(meeting=next_meeting, role=board.role) if next_meeting else []
    if agenda:
        audit_record(action=AuditAction.SEARCH, request=request, object_type="board_agenda")
    return render(
        request,
        "boards/board_detail.html",
        {
            "board": board,
            "next_meeting": next_meeting,
            "agenda": agenda,
            "upcoming": meetings["upcoming"][1:],
            "past": meetings["past"],
            "waiting": selectors.cases_waiting(board=board) if board.role == selectors.COORDINATOR else [],
            "deputies": list(board.deputies.order_by("full_name")),
            "candidates": list(selectors.deputy_candidates(board=board).exclude(pk__in=board.deputies.values("pk")))
            if board.coordinator_id == request.user.pk
            else [],
            "is_coordinator": board.coordinator_id == request.user.pk,
            "tab": "boards",
        },
        status=status,
    )


def _meeting_context(request: AuthenticatedRequest, meeting: Meeting) -> dict[str, Any]:
    role = meeting.role
    board = meeting.board
    cases = selectors.agenda(meeting=meeting, role=role)
    coordinator = role == selectors.COORDINATOR
    quorum = selectors.quorum(meeting=meeting)
    later = []
    if coordinator:
        later = list(
            Meeting.objects.filter(board=board, starts_at__gt=services.timezone.now())
            .exclude(pk=meeting.pk)
            .order_by("starts_at")[:4]
        )
    return {
        "meeting": meeting,
        "board": board,
        "local": selectors.local_time(meeting),
        "cases": cases,
        "coordinator": coordinator,
        "waiting": selectors.cases_waiting(board=board) if coordinator else [],
        "quorum": quorum,
        "seats": selectors.meeting_seats(meeting=meeting, quorum=quorum),
        "specialties": Specialty.choices,
        "categories": Category.choices,
        "evidence": Evidence.choices,
        "later_meetings": later,
        "tab": "boards",
    }


@clinical_member
def meeting_detail(request: AuthenticatedRequest, meeting_uuid: Any) -> HttpResponse:
    org = _org(request)
    meeting = selectors.meeting_get_for_user(user=request.user, organization=org, meeting_uuid=meeting_uuid)
    context = _meeting_context(request, meeting)
    if context["cases"]:
        audit_record(action=AuditAction.SEARCH, request=request, object_type="board_agenda")
    if getattr(request, "htmx", False) and request.GET.get("part") == "quorum":
        return render(request, "boards/partials/quorum.html", context)
    return render(request, "boards/meeting.html", context)


@clinical_member
def meeting_act(request: AuthenticatedRequest, meeting_uuid: Any) -> HttpResponse:
    """The coordinator's actions on a meeting: agenda (add, remove, up, down, next, reorder,
    publish), attendance. HTMX requests get the part of the page that changed."""
    org = _org(request)
    meeting = selectors.meeting_get_for_user(user=request.user, organization=org, meeting_uuid=meeting_uuid)
    if request.method != "POST":
        return redirect("boards:meeting", meeting_uuid=meeting.uuid)
    action = request.POST.get("action", "")
    status = 200
    problems: list[str] = []
    try:
        # Asked first, so a member learns nothing about the cases the form names.
        services.require_coordinator(user=request.user, organization=org, board=meeting.board)
        if action == "attendance":
            attendee = next(
                (
                    s.user
                    for s in selectors.meeting_seats(meeting=meeting)
                    if str(s.user.pk) == request.POST.get("user")
                ),
                None,
            )
            if attendee is None:
                raise ValidationError({"attendee": ["Only the board's members attend."]})
            services.attendance_set(
                meeting=meeting,
                attendee=attendee,
                present=request.POST.get("present") == "1",
                specialty=request.POST.get("specialty", ""),
                user=request.user,
                organization=org,
            )
        elif action == "publish":
            services.agenda_publish(meeting=meeting, user=request.user, organization=org)
            messages.success(request, "Agenda published; the members have been told.")
        elif action == "reorder":
            services.agenda_reorder(
                meeting=meeting, order=request.POST.getlist("order"), user=request.user, organization=org
            )
        else:
            case = _board_case(meeting.board, request.POST.get("case", ""))
            if action == "add":
                services.case_schedule(case=case, meeting=meeting, user=request.user, organization=org)
            elif action == "remove":
                services.case_unschedule(case=case, user=request.user, organization=org)
            elif action in ("up", "down"):
                services.agenda_move(case=case, direction=action, user=request.user, organization=org)
            elif action == "next":
                services.case_move_next(case=case, user=request.user, organization=org)
            else:
                raise ValidationError({"action": ["Unknown action."]})
    except ValidationError as error:
        problems, status = _errors(error), 400
    except PermissionDenied as error:
        problems, status = [str(error)], 403
    context = _meeting_context(request, meeting)
    context["problems"] = problems
    if getattr(request, "htmx", False):
        template = "boards/partials/quorum.html" if action == "attendance" else "boards/partials/agenda.html"
        return render(request, template, context, status=status)
    if problems:
        return render(request, "boards/meeting.html", context, status=status)
    return redirect("boards:meeting", meeting_uuid=meeting.uuid)


def _board_case(board: Board, value: str) -> Case:
    case = Case.objects.filter(board=board, uuid=value).first() if _is_uuid(value) else None
    if case is None:
        raise ValidationError({"case": ["No such case for this board."]})
    return case


@clinical_member
def board_act(request: AuthenticatedRequest, board_uuid: Any) -> HttpResponse:
    """The coordinator names or removes a deputy who runs the board too."""
    org = _org(request)
    board = selectors.board_get_for_user(user=request.user, organization=org, board_uuid=board_uuid)
    if request.method != "POST":
        return redirect("boards:board", board_uuid=board.uuid)
    named = request.POST.get("action") == "add_deputy"
    value = request.POST.get("user", "")
    try:
        if board.coordinator_id != request.user.pk:
            raise services.BoardRefused("Only the board's coordinator names its deputies.")
        people = selectors.deputy_candidates(board=board) if named else board.deputies.all()
        deputy = people.filter(pk=int(value)).first() if value.isdigit() and len(value) < 12 else None
        if deputy is None:
            raise ValidationError({"user": ["Choose a clinician or navigator of the board's organization."]})
        services.board_deputy_set(
            board=board, deputy=deputy, named=named, user=request.user, organization=org, request=request
        )
    except ValidationError as error:
        messages.error(request, " ".join(_errors(error)))
        return _board_page(request, board, status=400)
    except PermissionDenied as error:
        messages.error(request, str(error))
        return _board_page(request, board, status=403)
    messages.success(request, f"{deputy.display_name} {'now runs' if named else 'no longer runs'} the board with you.")
    return redirect("boards:board", board_uuid=board.uuid)


@clinical_member
def meeting_print(request: AuthenticatedRequest, meeting_uuid: Any) -> HttpResponse:
    """The agenda as a handout: a cover page without patients, then one case per page."""
    org = _org(request)
    meeting = selectors.meeting_get_for_user(user=request.user, organization=org, meeting_uuid=meeting_uuid)
    cases = selectors.agenda_with_entries(cases=selectors.agenda(meeting=meeting, role=meeting.role))
    for case in cases:
        case.via = meeting.role
        selectors.case_read(case=case, user=request.user, organization=org, request=request)
    return render(
        request,
        "boards/print_agenda.html",
        {"meeting": meeting, "board": meeting.board, "local": selectors.local_time(meeting), "cases": cases},
    )


@clinical_member
def case_new(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    patients = visible_patients(user=request.user, organization=org)
    boards = selectors.boards_directory(user=request.user, organization=org)
    form = forms.CaseForm(
        request.POST or None,
        patients=patients,
        boards=boards,
        initial={"patient": request.GET.get("patient"), "board": request.GET.get("board")},
    )
    chosen = request.POST.get("patient") or request.GET.get("patient") or ""
    patient = patients.filter(uuid=chosen).first() if _is_uuid(chosen) else None
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wanted = [value for value in request.POST.getlist("entries") if _is_uuid(value)]
        try:
            case = services.case_submit(
                user=request.user,
                organization=org,
                board=data["board"],
                patient=data["patient"],
                question=data["question"],
                presentation=data["presentation"],
                entries=visible_entries(user=request.user, organization=org, patient=data["patient"]).filter(
                    uuid__in=wanted
                ),
                request=request,
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            if case.is_ready:
                messages.success(request, "Case submitted. The board's coordinator has been told.")
            else:
                messages.warning(
                    request, f"Case submitted, but it cannot go on an agenda until it has: {', '.join(case.missing)}."
                )
            return redirect("boards:case", case_uuid=case.uuid)
    if request.method == "POST":
        status = 400
    entries: list[Any] = []
    checked: set[Any] = set()
    if patient is not None:
        entries, checked = selectors.submit_prefill(user=request.user, organization=org, patient=patient)
        audit_record(
            action=AuditAction.READ,
            request=request,
            object_type="registry_entries",
            patient=patient,
            detail={"purpose": "tumor board case"},
        )
        if request.method == "POST":
            checked = set(request.POST.getlist("entries"))
    return render(
        request,
        "boards/case_form.html",
        {
            "form": form,
            "patient": patient,
            "entries": entries,
            "checked": {str(value) for value in checked},
            "preview": services.checklist_for([e for e in entries if str(e.uuid) in {str(c) for c in checked}]),
            "tab": "submissions",
        },
        status=status,
    )


def _case_context(request: AuthenticatedRequest, case: Case, entries: list[Any]) -> dict[str, Any]:
    org = _org(request)
    via = case.via
    recommendation = getattr(case, "recommendation", None)
    later = []
    if via == selectors.COORDINATOR and case.state in (CaseState.SUBMITTED, CaseState.SCHEDULED):
        later = list(
            Meeting.objects.filter(board=case.board, starts_at__gt=services.timezone.now()).order_by("starts_at")[:4]
        )
    addable: list[Any] = []
    if via == selectors.SUBMITTER and case.state in (CaseState.SUBMITTED, CaseState.SCHEDULED):
        carried = {entry.pk for entry in entries}
        candidates, _ = selectors.submit_prefill(user=request.user, organization=org, patient=case.patient)
        addable = [entry for entry in candidates if entry.pk not in carried]
    chase_thread = None
    if via == selectors.COORDINATOR and recommendation is not None and recommendation.thread_id:
        chase_thread = selectors.thread_for_participant(
            thread_id=recommendation.thread_id, user=request.user, organization=org
        )
    return {
        "case": case,
        "board": case.board,
        "via": via,
        "followup_due": case.finalised_at + dt.timedelta(days=services.FOLLOWUP_DAYS) if case.finalised_at else None,
        "chase_thread": chase_thread,
        "addable": addable,
        "entries": entries,
        "checklist": selectors.checklist_rows(case),
        "recommendation": recommendation,
        "meetings": later,
        "categories": Category.choices,
        "evidence": Evidence.choices,
        "followups": FollowUp.choices,
        "may_answer": via == selectors.SUBMITTER and case.state == CaseState.FINALISED,
        "may_record": via == selectors.COORDINATOR
        and case.meeting is not None
        and case.meeting.status == "published"
        and case.state in (CaseState.SCHEDULED, CaseState.DISCUSSED),
        "organization": org,
        "tab": "submissions" if via == selectors.SUBMITTER else "boards",
    }


@clinical_member
def case_detail(request: AuthenticatedRequest, case_uuid: Any) -> HttpResponse:
    org = _org(request)
    case = selectors.case_get_for_user(user=request.user, organization=org, case_uuid=case_uuid)
    entries = selectors.case_read(case=case, user=request.user, organization=org, request=request)
    return render(request, "boards/case_detail.html", _case_context(request, case, entries))


@clinical_member
def case_print(request: AuthenticatedRequest, case_uuid: Any) -> HttpResponse:
    org = _org(request)
    case = selectors.case_get_for_user(user=request.user, organization=org, case_uuid=case_uuid)
    case.carried = selectors.case_read(case=case, user=request.user, organization=org, request=request)
    meeting = case.meeting
    return render(
        request,
        "boards/print_agenda.html",
        {
            "meeting": meeting,
            "board": case.board,
            "local": selectors.local_time(meeting) if meeting else None,
            "cases": [case],
            "single": True,
        },
    )


@clinical_member
def case_entry(request: AuthenticatedRequest, case_uuid: Any, entry_uuid: Any) -> HttpResponse:
    from portal.records.display import entry_sections

    org = _org(request)
    case, opened = selectors.case_entry_open(
        user=request.user, organization=org, case_uuid=case_uuid, entry_uuid=entry_uuid, request=request
    )
    return render(
        request,
        "boards/case_entry.html",
        {
            "case": case,
            "entry": opened.entry,
            "item": opened.item,
            "author_name": opened.author_name,
            "sections": entry_sections(opened.item.kind, opened.item.data, opened.item.title),
            "tab": "boards",
        },
    )


@clinical_member
def case_act(request: AuthenticatedRequest, case_uuid: Any) -> HttpResponse:
    """Recording the recommendation, finalising it (the coordinator); acknowledging it and
    recording the follow-up (the submitter)."""
    org = _org(request)
    case = selectors.case_get_for_user(user=request.user, organization=org, case_uuid=case_uuid)
    if request.method != "POST":
        return redirect("boards:case", case_uuid=case.uuid)
    action = request.POST.get("action", "")
    problems: list[str] = []
    status = 400
    try:
        if action == "recommend":
            services.recommendation_record(
                case=case,
                user=request.user,
                organization=org,
                text=request.POST.get("text", ""),
                category=request.POST.get("category", ""),
                evidence=request.POST.get("evidence", ""),
                trial=request.POST.get("trial", ""),
                no_trial_suitable=request.POST.get("no_trial_suitable") == "1",
                genetic_counselling=request.POST.get("genetic_counselling") == "1",
                dissent=request.POST.get("dissent", ""),
            )
            messages.success(request, "Recommendation recorded.")
        elif action == "finalise":
            services.recommendation_finalise(case=case, user=request.user, organization=org, request=request)
            messages.success(request, "Recommendation finalised: it is on the patient's record and was sent.")
        elif action == "acknowledge":
            services.recommendation_acknowledge(case=case, user=request.user, organization=org)
            messages.success(request, "Recommendation acknowledged.")
        elif action == "followup":
            services.followup_record(
                case=case,
                user=request.user,
                organization=org,
                outcome=request.POST.get("outcome", ""),
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, "Follow-up recorded.")
        elif action == "add_entries":
            wanted = [value for value in request.POST.getlist("entries") if _is_uuid(value)]
            services.case_entries_add(
                case=case,
                user=request.user,
                organization=org,
                entries=visible_entries(user=request.user, organization=org, patient=case.patient).filter(
                    uuid__in=wanted
                ),
            )
            messages.success(request, "Added to the case.")
        elif action == "schedule":
            value = request.POST.get("meeting", "")
            meeting = Meeting.objects.filter(board=case.board, uuid=value).first() if _is_uuid(value) else None
            if meeting is None:
                raise ValidationError({"meeting": ["Choose a meeting of this board."]})
            services.case_schedule(case=case, meeting=meeting, user=request.user, organization=org)
            messages.success(request, "Case put on the agenda.")
        else:
            raise ValidationError({"action": ["Unknown action."]})
    except ValidationError as error:
        problems = _errors(error)
    except PermissionDenied as error:
        problems, status = [str(error)], 403
    if not problems:
        return redirect("boards:case", case_uuid=case.uuid)
    case = selectors.case_get_for_user(user=request.user, organization=org, case_uuid=case_uuid)
    entries = selectors.case_entries(case=case, user=request.user, organization=org)
    context = _case_context(request, case, entries)
    context["problems"] = problems
    context["posted"] = request.POST
    return render(request, "boards/case_detail.html", context, status=status)


@clinical_member
def submissions(request: AuthenticatedRequest) -> HttpResponse:
    org = _org(request)
    cases = list(selectors.my_submissions(user=request.user, organization=org)[:200])
    audit_record(action=AuditAction.SEARCH, request=request, object_type="board_submissions")
    return render(request, "boards/submissions.html", {"cases": cases, "tab": "submissions"})
