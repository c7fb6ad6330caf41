"""The tumor-board API: my boards, a meeting's agenda, cases (submit, list my submissions,
read one, answer the board). Same selectors and services as the pages, so the same rules;
forbidden and missing are the same 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import OrganizationAPIView
from portal.api.permissions import IsClinicalMember
from portal.api.schema import errors
from portal.api.serializers import InputSerializer
from portal.boards import selectors, services
from portal.boards.models import Board, Case, FollowUp, Presentation
from portal.patients.selectors import patient_get_for_user, visible_entries


class BoardsAPIView(OrganizationAPIView):
    """A member with a clinical role at this address."""

    permission_classes = [IsClinicalMember]


class MeetingOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    status = serializers.CharField()
    cutoff_at = serializers.DateTimeField()


class BoardOut(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug")
    coordinator = serializers.EmailField(source="coordinator.email")

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
            "quorum_specialties",
            "cutoff_hours",
        ]


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
            boards = selectors.boards_directory(user=self.request.user, organization=self.organization)
        else:
            boards = selectors.boards_for(user=self.request.user, organization=self.organization)
        return boards.select_related("coordinator").order_by("name", "pk")


class BoardDetail(BoardsAPIView):
    @extend_schema(responses={200: BoardOut, **errors(403, 404)})
    def get(self, request: Request, board_uuid: Any) -> Response:
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
    def get(self, request: Request, meeting_uuid: Any) -> Response:
        """A meeting's agenda: the coordinator's always, a member's once published."""
        meeting = selectors.meeting_get_for_user(
            user=request.user, organization=self.organization, meeting_uuid=meeting_uuid
        )
        cases = selectors.agenda(meeting=meeting, role=meeting.role)  # type: ignore[attr-defined]
        return Response(
            {**MeetingOut(meeting).data, "board": str(meeting.board.uuid), "cases": CaseOut(cases, many=True).data}
        )


class CaseListCreate(BoardsAPIView, ListAPIView):
    """The cases this organization submitted, about patients you may see here (paged)."""

    serializer_class = CaseOut

    def get_queryset(self) -> Any:
        return selectors.my_submissions(user=self.request.user, organization=self.organization)

    @extend_schema(operation_id="board_cases_create", request=CaseIn, responses={201: CaseOut, **errors(400, 403)})
    def post(self, request: Request) -> Response:
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
    def get(self, request: Request, case_uuid: Any) -> Response:
        case = selectors.case_get_for_user(user=request.user, organization=self.organization, case_uuid=case_uuid)
        entries = selectors.case_read(case=case, user=request.user, organization=self.organization, request=request)
        return Response(_case_body(case, entries))


class CaseAnswer(BoardsAPIView):
    @extend_schema(
        operation_id="board_cases_answer", request=AnswerIn, responses={200: CaseDetailOut, **errors(400, 403, 404)}
    )
    def post(self, request: Request, case_uuid: Any) -> Response:
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
        case = selectors.case_get_for_user(user=request.user, organization=self.organization, case_uuid=case_uuid)
        return Response(
            _case_body(case, selectors.case_entries(case=case, user=request.user, organization=self.organization))
        )
