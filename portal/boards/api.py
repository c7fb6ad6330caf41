"""The tumor-board API: my boards and their deputies, a meeting's agenda (build, reorder,
move, publish), attendance and the quorum, cases (submit, list my submissions, read one),
the board's recommendation (record, finalise) and the submitter's answer (acknowledge,
follow-up). Same selectors and services as the pages, so the same rules: anyone who is not
one of the board's people, or not a clinician here, gets the same 404 as for something that
does not exist; a board's member who is not its coordinator or a deputy gets a 403 for what
only they do; bad input is a 400 that names the field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from portal.accounts.typing import APIRequest
from portal.api.base import OrganizationAPIView
from portal.api.pagination import limit_offset_parameters, paged
from portal.api.schema import errors
from portal.api.serializers import InputSerializer
from portal.audit.services import AuditAction, audit_record
from portal.boards import selectors, services
from portal.boards.models import Board, Case, Category, Evidence, FollowUp, Meeting, Presentation, Specialty
from portal.patients.selectors import patient_get_for_user, visible_entries
from tenants.models import Organization


class BoardsAPIView(OrganizationAPIView):
    """A member at this address. The selectors answer 404 (objects) or nothing (lists) to
    anyone without a clinical role here, as the pages do."""

    def runner_or_403(self, role: str | None) -> None:
        """What only the board's coordinator or a deputy does, asked before the body is read
        (so a member learns nothing from the answer)."""
        if role != selectors.COORDINATOR:
            raise services.BoardRefused(
                "Only the board's coordinator or a deputy does this, at the board's organization."
            )


class MeetingOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    status = serializers.CharField()
    cutoff_at = serializers.DateTimeField()


class BoardOut(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug")
    coordinator = serializers.EmailField(source="coordinator.email")
    deputies = serializers.SerializerMethodField(help_text="Who also runs the board (the chair, a second navigator)")

    class Meta:
        model = Board
        fields = [
            "uuid",
            "name",
            "organization",
            "disease_sites",
            "weekday",
            "meeting_time",
            "time_zone",
            "video_link",
            "coordinator",
            "deputies",
            "quorum_specialties",
            "cutoff_hours",
        ]

    def get_deputies(self, board: Board) -> list[str]:
        return [user.email for user in board.deputies.all()]


class RecommendationOut(serializers.Serializer):
    text = serializers.CharField()
    category = serializers.CharField()
    evidence = serializers.CharField()
    trial = serializers.CharField()
    no_trial_suitable = serializers.BooleanField()
    genetic_counselling = serializers.BooleanField()
    dissent = serializers.CharField()
    quorum_met = serializers.BooleanField()
    finalised_at = serializers.DateTimeField(allow_null=True)
    followup = serializers.CharField()
    followup_reason = serializers.CharField()


class CaseEntryOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    organization = serializers.CharField(source="organization.slug")
    effective_at = serializers.DateTimeField()
    summary = serializers.DictField()


class CaseOut(serializers.ModelSerializer):
    board = serializers.UUIDField(source="board.uuid")
    patient = serializers.UUIDField(source="patient.uuid")
    patient_name = serializers.CharField(source="patient.full_name")
    submitting_organization = serializers.CharField(source="submitting_organization.slug")
    submitted_by = serializers.EmailField(source="submitted_by.email")
    meeting = serializers.UUIDField(source="meeting.uuid", allow_null=True, default=None)
    missing = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Case
        fields = [
            "uuid",
            "board",
            "patient",
            "patient_name",
            "submitting_organization",
            "submitted_by",
            "question",
            "presentation",
            "checklist",
            "missing",
            "state",
            "meeting",
            "submitted_at",
            "discussed_at",
            "finalised_at",
            "acknowledged_at",
        ]


class CaseDetailOut(CaseOut):
    entries = CaseEntryOut(many=True)
    recommendation = RecommendationOut(allow_null=True)

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "entries", "recommendation"]


class CaseIn(InputSerializer):
    board = serializers.UUIDField()
    patient = serializers.UUIDField()
    question = serializers.CharField(max_length=4000)
    presentation = serializers.ChoiceField(choices=Presentation.choices)
    entries = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class AnswerIn(InputSerializer):
    action = serializers.ChoiceField(choices=["acknowledge", "followup"])
    outcome = serializers.ChoiceField(choices=FollowUp.choices, required=False, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


def _case_body(case: Case, entries: list[Any]) -> dict[str, Any]:
    body = dict(CaseOut(case).data)
    body["entries"] = CaseEntryOut(entries, many=True).data
    recommendation = getattr(case, "recommendation", None)
    body["recommendation"] = RecommendationOut(recommendation).data if recommendation is not None else None
    return body


class BoardList(BoardsAPIView, ListAPIView):
    """The boards you coordinate or sit on here (``?all=1``: every board you may submit to), paged."""

    serializer_class = BoardOut

    def get_queryset(self) -> Any:
        if self.request.query_params.get("all"):
            boards = selectors.boards_directory(user=self.user, organization=self.organization)
        else:
            boards = selectors.boards_for(user=self.user, organization=self.organization)
        return boards.select_related("coordinator").prefetch_related("deputies").order_by("name", "pk")


class BoardDetail(BoardsAPIView):
    @extend_schema(responses={200: BoardOut, **errors(403, 404)})
    def get(self, request: APIRequest, board_uuid: Any) -> Response:
        board = selectors.board_get_for_user(user=request.user, organization=self.organization, board_uuid=board_uuid)
        meetings = selectors.board_meetings(board=board)
        body = dict(BoardOut(board).data)
        body["upcoming"] = MeetingOut(meetings["upcoming"], many=True).data
        body["past"] = MeetingOut(meetings["past"], many=True).data
        return Response(body)


class MeetingAgendaOut(MeetingOut):
    board = serializers.UUIDField()
    cases = CaseOut(many=True, help_text="At most the agenda of one meeting")


class MeetingAgenda(BoardsAPIView):
    @extend_schema(responses={200: MeetingAgendaOut, **errors(403, 404)})
    def get(self, request: APIRequest, meeting_uuid: Any) -> Response:
        """A meeting's agenda: the coordinator's always, a member's once published."""
        meeting = selectors.meeting_get_for_user(
            user=request.user, organization=self.organization, meeting_uuid=meeting_uuid
        )
        return Response(_agenda_body(request, meeting))


class CaseListCreate(BoardsAPIView, ListAPIView):
    """The cases this organization submitted, about patients you may see here (paged)."""

    serializer_class = CaseOut

    def get_queryset(self) -> Any:
        return selectors.my_submissions(user=self.user, organization=self.organization)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit_record(action=AuditAction.SEARCH, request=request, object_type="board_submissions")
        return response

    @extend_schema(operation_id="board_cases_create", request=CaseIn, responses={201: CaseOut, **errors(400, 403)})
    def post(self, request: APIRequest) -> Response:
        data_in = CaseIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        try:
            patient = patient_get_for_user(
                user=request.user, organization=self.organization, patient_uuid=data["patient"]
            )
        except Http404 as error:
            raise ValidationError({"patient": ["No such patient, or not one you may see here."]}) from error
        board = (
            selectors.boards_directory(user=request.user, organization=self.organization)
            .filter(uuid=data["board"])
            .first()
        )
        if board is None:
            raise ValidationError({"board": ["No such board."]})
        case = services.case_submit(
            user=request.user,
            organization=self.organization,
            board=board,
            patient=patient,
            question=data["question"],
            presentation=data["presentation"],
            entries=visible_entries(user=request.user, organization=self.organization, patient=patient).filter(
                uuid__in=data["entries"]
            ),
            request=request,
        )
        return Response(CaseOut(case).data, status=status.HTTP_201_CREATED)


class CaseDetail(BoardsAPIView):
    @extend_schema(responses={200: CaseDetailOut, **errors(403, 404)})
    def get(self, request: APIRequest, case_uuid: Any) -> Response:
        case = selectors.case_get_for_user(user=request.user, organization=self.organization, case_uuid=case_uuid)
        entries = selectors.case_read(case=case, user=request.user, organization=self.organization, request=request)
        return Response(_case_body(case, entries))


class CaseAnswer(BoardsAPIView):
    @extend_schema(
        operation_id="board_cases_answer", request=AnswerIn, responses={200: CaseDetailOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest, case_uuid: Any) -> Response:
        """The submitter acknowledges the recommendation, or records whether it was followed."""
        case = selectors.case_get_for_user(user=request.user, organization=self.organization, case_uuid=case_uuid)
        data_in = AnswerIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        if data["action"] == "acknowledge":
            services.recommendation_acknowledge(case=case, user=request.user, organization=self.organization)
        else:
            services.followup_record(
                case=case,
                user=request.user,
                organization=self.organization,
                outcome=data["outcome"],
                reason=data["reason"],
            )
        return Response(_case_read_body(request, self.organization, case_uuid))


def _agenda_body(request: APIRequest, meeting: Meeting) -> dict[str, Any]:
    """A meeting and the cases on its agenda this person may open (the read audited)."""
    cases = selectors.agenda(meeting=meeting, role=meeting.role)
    if cases:
        audit_record(action=AuditAction.SEARCH, request=request, object_type="board_agenda")
    return {**MeetingOut(meeting).data, "board": str(meeting.board.uuid), "cases": CaseOut(cases, many=True).data}


def _case_read_body(request: APIRequest, organization: Organization, case_uuid: Any) -> dict[str, Any]:
    """The case as it is now, read again (and audited) after a change."""
    case = selectors.case_get_for_user(user=request.user, organization=organization, case_uuid=case_uuid)
    entries = selectors.case_read(case=case, user=request.user, organization=organization, request=request)
    return _case_body(case, entries)


def _meeting(view: BoardsAPIView, meeting_uuid: Any) -> Meeting:
    return selectors.meeting_get_for_user(user=view.user, organization=view.organization, meeting_uuid=meeting_uuid)


# --- Board: deputies, cases waiting -------------------------------------------------------


class DeputyIn(InputSerializer):
    user = serializers.IntegerField(help_text="The person's user id (a clinician of the board's organization)")
    named = serializers.BooleanField(default=True, help_text="true: name them deputy; false: remove them")


class BoardDeputies(BoardsAPIView):
    @extend_schema(operation_id="boards_deputies", request=DeputyIn, responses={200: BoardOut, **errors(400, 403, 404)})
    def post(self, request: APIRequest, board_uuid: Any) -> Response:
        """The coordinator names a deputy who runs the board too (agenda, attendance,
        recommendations) when the coordinator is away, or removes one. Audited."""
        board = selectors.board_get_for_user(user=request.user, organization=self.organization, board_uuid=board_uuid)
        if board.coordinator_id != request.user.pk:
            raise services.BoardRefused("Only the board's coordinator names its deputies.")
        data_in = DeputyIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        if data["named"]:
            candidates = selectors.deputy_candidates(board=board)
        else:
            candidates = board.deputies.all()
        deputy = candidates.filter(pk=data["user"]).first()
        if deputy is None:
            raise ValidationError(
                {"user": ["Name a clinician or navigator of the board's organization (a deputy, to remove one)."]}
            )
        board = services.board_deputy_set(
            board=board,
            deputy=deputy,
            named=data["named"],
            user=request.user,
            organization=self.organization,
            request=request,
        )
        return Response(BoardOut(board).data)


class BoardWaiting(BoardsAPIView, ListAPIView):
    """The board's submitted cases not on an agenda yet, oldest first, each with what it still
    misses (the coordinator's and deputies' list; paged)."""

    serializer_class = CaseOut

    def get_queryset(self) -> Any:
        board = selectors.board_get_for_user(
            user=self.user, organization=self.organization, board_uuid=self.kwargs["board_uuid"]
        )
        self.runner_or_403(board.role)
        return selectors.cases_waiting_queryset(board=board)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit_record(action=AuditAction.SEARCH, request=request, object_type="board_waiting")
        return response


# --- The agenda ----------------------------------------------------------------------------


class AgendaIn(InputSerializer):
    action = serializers.ChoiceField(
        choices=[
            ("add", "Put a ready case on this meeting's agenda"),
            ("remove", "Take a case off the agenda"),
            ("up", "Move a case one place up"),
            ("down", "Move a case one place down"),
            ("next", "Move a case to the board's next meeting"),
            ("reorder", "Set the order of every case on the agenda"),
        ]
    )
    case = serializers.UUIDField(required=False, help_text="The case (every action but reorder)")
    order = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=200,
        help_text="reorder: every case of the agenda once, first to last",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] == "reorder" and "order" not in attrs:
            raise serializers.ValidationError({"order": ["Give every case of the agenda once, first to last."]})
        if attrs["action"] != "reorder" and "case" not in attrs:
            raise serializers.ValidationError({"case": ["Name the case."]})
        return attrs


class MeetingAgendaEdit(BoardsAPIView):
    @extend_schema(
        operation_id="board_meetings_agenda",
        request=AgendaIn,
        responses={200: MeetingAgendaOut, **errors(400, 403, 404)},
    )
    def post(self, request: APIRequest, meeting_uuid: Any) -> Response:
        """Build the agenda (the coordinator or a deputy): add a ready case submitted before
        the cut-off, remove one, move one up or down or to the next meeting, or reorder."""
        meeting = _meeting(self, meeting_uuid)
        self.runner_or_403(meeting.role)
        data_in = AgendaIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        user, organization = request.user, self.organization
        if data["action"] == "reorder":
            services.agenda_reorder(meeting=meeting, order=data["order"], user=user, organization=organization)
        else:
            case = Case.objects.filter(board=meeting.board, uuid=data["case"]).first()
            if case is None:
                raise ValidationError({"case": ["No such case for this board."]})
            if data["action"] == "add":
                services.case_schedule(case=case, meeting=meeting, user=user, organization=organization)
            else:
                if case.meeting_id != meeting.pk:
                    raise ValidationError({"case": ["This case is not on this meeting's agenda."]})
                if data["action"] == "remove":
                    services.case_unschedule(case=case, user=user, organization=organization)
                elif data["action"] == "next":
                    services.case_move_next(case=case, user=user, organization=organization)
                else:
                    services.agenda_move(case=case, direction=data["action"], user=user, organization=organization)
        return Response(_agenda_body(request, _meeting(self, meeting_uuid)))


class MeetingPublish(BoardsAPIView):
    @extend_schema(
        operation_id="board_meetings_publish",
        request=None,
        responses={200: MeetingAgendaOut, **errors(400, 403, 404)},
    )
    def post(self, request: APIRequest, meeting_uuid: Any) -> Response:
        """Publish the agenda (again, after a change): every member is told in the portal and
        by an email that names the board and the date, never a patient."""
        meeting = _meeting(self, meeting_uuid)
        self.runner_or_403(meeting.role)
        services.agenda_publish(meeting=meeting, user=request.user, organization=self.organization)
        return Response(_agenda_body(request, _meeting(self, meeting_uuid)))


# --- Attendance and the quorum ------------------------------------------------------------


class QuorumSpecialtyOut(serializers.Serializer):
    specialty = serializers.ChoiceField(choices=Specialty.choices)
    name = serializers.CharField()
    covered = serializers.BooleanField()


class QuorumOut(serializers.Serializer):
    met = serializers.BooleanField()
    needed = QuorumSpecialtyOut(many=True, help_text="The specialties a quorum needs, each covered or not")
    missing = serializers.ListField(child=serializers.CharField(), help_text="The required specialties nobody covers")


class SeatOut(serializers.Serializer):
    user = serializers.IntegerField()
    name = serializers.CharField()
    organization = serializers.CharField(help_text="The organization they sit for (its slug)")
    specialty = serializers.ChoiceField(choices=Specialty.choices, help_text="Their seat's specialty")
    present = serializers.BooleanField()
    present_as = serializers.ChoiceField(
        choices=Specialty.choices, allow_null=True, help_text="The specialty they cover today, if present"
    )


class AttendancePageOut(serializers.Serializer):
    quorum = QuorumOut()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SeatOut(many=True)


class AttendanceIn(InputSerializer):
    user = serializers.IntegerField(help_text="A member of the board, or its coordinator or a deputy")
    present = serializers.BooleanField(default=True)
    specialty = serializers.ChoiceField(
        choices=Specialty.choices, required=False, default="", help_text="Empty: the specialty of their seat"
    )


class AttendanceOut(serializers.Serializer):
    user = serializers.IntegerField()
    present = serializers.BooleanField()
    specialty = serializers.ChoiceField(choices=Specialty.choices, allow_null=True)
    quorum = QuorumOut()


def _quorum_body(quorum: selectors.Quorum) -> dict[str, Any]:
    return {
        "met": quorum.met,
        "required": [
            {"specialty": value, "label": label, "covered": covered} for value, label, covered in quorum.required
        ],
        "missing": quorum.missing,
    }


class MeetingAttendance(BoardsAPIView):
    @extend_schema(
        operation_id="board_meetings_attendance_list",
        parameters=limit_offset_parameters(),
        responses={200: AttendancePageOut, **errors(400, 403, 404)},
    )
    def get(self, request: APIRequest, meeting_uuid: Any) -> Response:
        """Who sits on the board and who is present (paged), and the quorum, live."""
        meeting = _meeting(self, meeting_uuid)
        quorum = selectors.quorum(meeting=meeting)
        present = {attendance.user_id: attendance.specialty for attendance in quorum.attendance}
        seats = selectors.meeting_seats(meeting=meeting, quorum=quorum)

        def rows(page: list[selectors.Seat]) -> list[dict[str, Any]]:
            return [
                {
                    "user": seat.user.pk,
                    "name": seat.user.display_name,
                    "organization": seat.organization.slug,
                    "specialty": seat.specialty,
                    "present": seat.user.pk in present,
                    "present_as": present.get(seat.user.pk),
                }
                for seat in page
            ]

        return paged(request, seats, self, serialize=rows, quorum=_quorum_body(quorum))

    @extend_schema(
        operation_id="board_meetings_attendance",
        request=AttendanceIn,
        responses={200: AttendanceOut, **errors(400, 403, 404)},
    )
    def post(self, request: APIRequest, meeting_uuid: Any) -> Response:
        """Mark a member present (with the specialty they cover, their seat's by default) or
        absent; the answer carries the quorum as it now stands."""
        meeting = _meeting(self, meeting_uuid)
        self.runner_or_403(meeting.role)
        data_in = AttendanceIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        seat = next((seat for seat in selectors.meeting_seats(meeting=meeting) if seat.user.pk == data["user"]), None)
        if seat is None:
            raise ValidationError({"user": ["Only the board's members attend."]})
        attendance = services.attendance_set(
            meeting=meeting,
            attendee=seat.user,
            present=data["present"],
            specialty=data["specialty"],
            user=request.user,
            organization=self.organization,
        )
        return Response(
            {
                "user": seat.user.pk,
                "present": attendance is not None,
                "specialty": attendance.specialty if attendance is not None else None,
                "quorum": _quorum_body(selectors.quorum(meeting=meeting)),
            }
        )


# --- The recommendation ------------------------------------------------------------------


class RecommendationIn(InputSerializer):
    text = serializers.CharField(max_length=8000, help_text="The treatment recommendation, in words")
    category = serializers.ChoiceField(choices=Category.choices)
    evidence = serializers.ChoiceField(choices=Evidence.choices, help_text="The NCCN category of evidence")
    trial = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="The clinical trial considered"
    )
    no_trial_suitable = serializers.BooleanField(default=False, help_text='true: "none suitable" (then no trial)')
    genetic_counselling = serializers.BooleanField(default=False, help_text="Refer for genetic counselling")
    dissent = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default="", help_text="Who disagreed, and why"
    )


class CaseRecommendation(BoardsAPIView):
    @extend_schema(
        operation_id="board_cases_recommendation",
        request=RecommendationIn,
        responses={200: CaseDetailOut, **errors(400, 403, 404)},
    )
    def post(self, request: APIRequest, case_uuid: Any) -> Response:
        """Record the board's structured recommendation for a case on a published agenda (the
        coordinator or a deputy); sent again, it corrects it until it is finalised."""
        case = selectors.case_get_for_user(user=request.user, organization=self.organization, case_uuid=case_uuid)
        self.runner_or_403(case.via)
        data_in = RecommendationIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        services.recommendation_record(
            case=case, user=request.user, organization=self.organization, **data_in.validated_data
        )
        return Response(_case_read_body(request, self.organization, case_uuid))


class CaseFinalise(BoardsAPIView):
    @extend_schema(
        operation_id="board_cases_finalise", request=None, responses={200: CaseDetailOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest, case_uuid: Any) -> Response:
        """Finalise the recommendation, once: it becomes a published entry of the board's
        organization on the patient's record and is sent to the submitting clinician and the
        care team as a message, with the acknowledgement it asks for. Again: no change."""
        case = selectors.case_get_for_user(user=request.user, organization=self.organization, case_uuid=case_uuid)
        self.runner_or_403(case.via)
        services.recommendation_finalise(case=case, user=request.user, organization=self.organization, request=request)
        return Response(_case_read_body(request, self.organization, case_uuid))
