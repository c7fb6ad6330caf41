"""The care API: referrals (list, create, transition), care tasks (list, create, link a result),
hand-offs (list, create, acknowledge). Same rules as the pages; 4xx with useful bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.typing import api_request
from portal.api.permissions import IsOrganizationMember
from portal.api.schema import errors
from portal.api.serializers import InputSerializer
from portal.audit.services import AuditAction, audit_record
from portal.care import results, selectors, services
from portal.care.models import (
    CHECKLIST_ITEMS,
    CareTask,
    Handoff,
    HandoffKind,
    Priority,
    Referral,
)
from portal.care.transitions import TRANSITIONS
from portal.patients.selectors import patient_get_for_user
from tenants.models import Organization, OrganizationKind, OrganizationStatus

if TYPE_CHECKING:
    from uuid import UUID

    from portal.accounts.typing import APIRequest
    from portal.patients.models import NetworkPatient


class CareAPIView(APIView):
    """Every care endpoint: a member at this address with a clinical role; else 404 for objects."""

    permission_classes = [IsOrganizationMember]

    @property
    def organization(self) -> Organization:
        return api_request(self.request).tenant

    def clinical_or_404(self) -> None:
        membership = getattr(self.request, "membership", None)
        if membership is None or not membership.is_clinical:
            raise Http404("Not found")


def _organization_by_uuid(value: UUID | str) -> Organization:
    organization = (
        Organization.objects.filter(uuid=value, status=OrganizationStatus.ACTIVE)
        .exclude(kind=OrganizationKind.NETWORK)
        .first()
    )
    if organization is None:
        raise ValidationError({"organization": ["No such organization in the network."]})
    return organization


def _patient(view: CareAPIView, value: UUID | str, field: str = "patient") -> NetworkPatient:
    try:
        return patient_get_for_user(
            user=api_request(view.request).user, organization=view.organization, patient_uuid=value
        )
    except Http404 as error:
        raise ValidationError({field: ["No such patient, or not one you may see here."]}) from error


# --- Referrals ------------------------------------------------------------------------


class ReferralOut(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="patient.uuid")
    patient_name = serializers.CharField(source="patient.full_name")
    referring_organization = serializers.CharField(source="referring_organization.slug")
    receiving_organization = serializers.CharField(source="receiving_organization.slug")
    outcome_entry = serializers.UUIDField(source="outcome_entry.uuid", allow_null=True, default=None)

    class Meta:
        model = Referral
        fields = [
            "uuid",
            "patient",
            "patient_name",
            "referring_organization",
            "receiving_organization",
            "specialty",
            "reason",
            "priority",
            "state",
            "checklist",
            "decline_reason",
            "cancel_reason",
            "appointment_at",
            "outcome_entry",
            "created_at",
            "received_at",
            "accepted_at",
            "declined_at",
            "scheduled_at",
            "closed_at",
            "cancelled_at",
        ]


class ReferralIn(InputSerializer):
    patient = serializers.UUIDField()
    receiving_organization = serializers.UUIDField()
    specialty = serializers.CharField(max_length=100)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    checklist = serializers.ListField(
        child=serializers.ChoiceField(choices=[k for k, _ in CHECKLIST_ITEMS]), required=False, default=list
    )
    attachments = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class TransitionIn(InputSerializer):
    action = serializers.ChoiceField(choices=list(TRANSITIONS))
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    appointment_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    outcome_entry = serializers.UUIDField(required=False, allow_null=True, default=None)


class ReferralEventOut(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField(help_text="What happened, in words")  # type: ignore[assignment]  # a declared field, not Field.label
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.EmailField()
    organization = serializers.CharField()
    at = serializers.DateTimeField()
    note = serializers.CharField()


class ReferralNoteOut(serializers.Serializer):
    author = serializers.EmailField()
    text = serializers.CharField()
    at = serializers.DateTimeField()


class ReferralDetailOut(ReferralOut):
    allowed_actions = serializers.ListField(child=serializers.CharField())
    events = ReferralEventOut(many=True)
    notes = ReferralNoteOut(many=True)

    class Meta(ReferralOut.Meta):
        fields = [*ReferralOut.Meta.fields, "allowed_actions", "events", "notes"]


class ReferralListCreate(CareAPIView, ListAPIView):
    serializer_class = ReferralOut

    def get_queryset(self) -> Any:
        direction = "outbound" if self.request.query_params.get("direction") == "outbound" else "inbound"
        queryset = selectors.referrals_for(
            user=api_request(self.request).user, organization=self.organization, direction=direction
        )
        state = self.request.query_params.get("state")
        if state:
            queryset = queryset.filter(state=state)
        return queryset.select_related("outcome_entry")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit_record(action=AuditAction.SEARCH, request=request, object_type="referral_api")
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="referrals_create", request=ReferralIn, responses={201: ReferralOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest) -> Response:
        self.clinical_or_404()
        data_in = ReferralIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        patient = _patient(self, data["patient"])
        referral = services.referral_create(
            user=request.user,
            organization=self.organization,
            patient=patient,
            receiving_organization=_organization_by_uuid(data["receiving_organization"]),
            specialty=data["specialty"],
            reason=data["reason"],
            priority=data["priority"],
            checklist=data["checklist"],
            attachments=selectors.referral_attachments_get(
                user=request.user, organization=self.organization, patient=patient, entry_uuids=data["attachments"]
            ),
        )
        return Response(ReferralOut(referral).data, status=status.HTTP_201_CREATED)


class ReferralDetail(CareAPIView):
    @extend_schema(responses={200: ReferralDetailOut, **errors(403, 404)})
    def get(self, request: APIRequest, referral_uuid: UUID | str) -> Response:
        referral = selectors.referral_get_for_user(
            user=request.user, organization=self.organization, referral_uuid=referral_uuid
        )
        audit_record(
            action=AuditAction.READ,
            request=request,
            object_type="referral",
            object_id=referral.uuid,
            patient=referral.patient,
            data_owner=referral.referring_organization,
        )
        body = ReferralOut(referral).data
        body["allowed_actions"] = [
            t.action for t in selectors.referral_actions(referral=referral, organization=self.organization)
        ]
        body["events"] = [
            {
                "action": e.action,
                "label": e.label,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": e.actor.email,
                "organization": e.organization.slug,
                "at": e.at,
                "note": e.note,
            }
            for e in selectors.referral_history(referral=referral)
        ]
        body["notes"] = [
            {"author": n.author.email, "text": n.text, "at": n.created_at}
            for n in referral.notes.select_related("author")
        ]
        return Response(body)


class ReferralTransition(CareAPIView):
    @extend_schema(
        operation_id="referrals_transition",
        request=TransitionIn,
        responses={200: ReferralOut, **errors(400, 403, 404, 409)},
    )
    def post(self, request: APIRequest, referral_uuid: UUID | str) -> Response:
        referral = selectors.referral_get_for_user(
            user=request.user, organization=self.organization, referral_uuid=referral_uuid
        )
        data_in = TransitionIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        outcome = None
        if data["outcome_entry"]:
            outcome = selectors.referral_outcome_get(
                user=request.user, organization=self.organization, referral=referral, entry_uuid=data["outcome_entry"]
            )
            if outcome is None:
                raise ValidationError({"outcome_entry": ["No such entry on this patient's record."]})
        try:
            referral = services.referral_transition(
                referral=referral,
                action=data["action"],
                user=request.user,
                organization=self.organization,
                reason=data["reason"],
                note=data["note"],
                appointment_at=data["appointment_at"],
                outcome_entry=outcome,
            )
        except services.TransitionRefused as error:
            return Response(
                {"detail": str(error), "errors": {"action": [str(error)]}, "state": referral.state},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ReferralOut(referral).data)


# --- Care tasks -----------------------------------------------------------------------


class TaskOut(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="patient.uuid")
    owner_organization = serializers.CharField(source="owner_organization.slug")
    creating_organization = serializers.CharField(source="creating_organization.slug")
    occurrences = serializers.SerializerMethodField()

    class Meta:
        model = CareTask
        fields = [
            "uuid",
            "patient",
            "owner_organization",
            "creating_organization",
            "title",
            "code",
            "result_kind",
            "instructions",
            "recurrence",
            "analytes",
            "starts_at",
            "status",
            "created_at",
            "completed_at",
            "occurrences",
        ]

    def get_occurrences(self, task: CareTask) -> list[dict[str, Any]]:
        """Each occurrence with its window (a result collected in it may close it) and the
        entries of the result that closed it."""
        occurrences = list(task.occurrences.all())
        spans = results.windows(task, occurrences)
        return [
            {
                "id": o.pk,
                "due_at": o.due_at,
                "window_start": spans[o.pk].start,
                "window_end": spans[o.pk].end,
                "done_at": o.done_at,
                "result_entry": o.result_entry.uuid if o.result_entry else None,
                "result_entries": [link.entry.uuid for link in o.result_links.all()],
            }
            for o in occurrences
        ]


class TaskIn(InputSerializer):
    patient = serializers.UUIDField()
    owner_organization = serializers.UUIDField()
    title = serializers.CharField(max_length=200)
    code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    recurrence = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    analytes = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        allow_null=True,
        default=None,
        help_text="What a result must carry to answer the task (e.g. wbc, hgb, plt, neutrophils); "
        "by default read from the code, title and instructions.",
    )


class LinkIn(InputSerializer):
    occurrence = serializers.IntegerField()
    entry = serializers.UUIDField()


class TaskWarningOut(serializers.Serializer):
    title = serializers.CharField()
    organization = serializers.CharField()
    effective_at = serializers.DateTimeField()


class TaskCreatedOut(TaskOut):
    warnings = TaskWarningOut(many=True, help_text="The same test done at another organization lately")

    class Meta(TaskOut.Meta):
        fields = [*TaskOut.Meta.fields, "warnings"]


class TaskListCreate(CareAPIView, ListAPIView):
    serializer_class = TaskOut

    def get_queryset(self) -> Any:
        return selectors.tasks_for(
            user=api_request(self.request).user, organization=self.organization
        ).prefetch_related("occurrences__result_entry", "occurrences__result_links__entry")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit_record(action=AuditAction.SEARCH, request=request, object_type="care_task_api")
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="care_tasks_create", request=TaskIn, responses={201: TaskCreatedOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest) -> Response:
        self.clinical_or_404()
        data_in = TaskIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        patient = _patient(self, data["patient"])
        task = services.care_task_create(
            user=request.user,
            organization=self.organization,
            patient=patient,
            owner_organization=_organization_by_uuid(data["owner_organization"]),
            title=data["title"],
            code=data["code"],
            instructions=data["instructions"],
            due_at=data["due_at"],
            recurrence=data["recurrence"],
            starts_at=data["starts_at"],
            analytes=data["analytes"],
        )
        body = TaskOut(task).data
        body["warnings"] = [
            {"title": e.title, "organization": e.organization.slug, "effective_at": e.effective_at}
            for e in selectors.same_test_done_elsewhere(
                patient=patient,
                organization=self.organization,
                owner_organization=task.owner_organization,
                kind=task.result_kind,
                code=task.code,
                title=task.title,
            )
        ]
        return Response(body, status=status.HTTP_201_CREATED)


class TaskLinkResult(CareAPIView):
    @extend_schema(
        operation_id="care_tasks_link_result",
        request=LinkIn,
        responses={200: TaskOut, **errors(400, 403, 404, 409)},
        description="Close an occurrence with the result that answers it: about the task's patient, of the "
        "test the task asks for (the panel's entry, or every analyte it needs collected together; `entry` is "
        "any entry of the result), collected in the occurrence's window, and closing no other occurrence. "
        "Anything else is 400 with the reason in `errors.entry`.",
    )
    def post(self, request: APIRequest, task_uuid: UUID | str) -> Response:
        task = selectors.task_get_for_user(user=request.user, organization=self.organization, task_uuid=task_uuid)
        data_in = LinkIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        occurrence = selectors.occurrence_get_for_user(
            user=request.user,
            organization=self.organization,
            task=task,
            occurrence_id=data_in.validated_data["occurrence"],
        )
        entry = selectors.result_to_link_get(
            user=request.user, organization=self.organization, task=task, entry_uuid=data_in.validated_data["entry"]
        )
        if entry is None:
            raise ValidationError({"entry": ["No such result on this patient's record."]})
        try:
            services.occurrence_link_result(
                occurrence=occurrence, entry=entry, user=request.user, organization=self.organization
            )
        except services.TransitionRefused as error:
            return Response({"detail": str(error), "errors": {}}, status=status.HTTP_409_CONFLICT)
        task.refresh_from_db()
        return Response(TaskOut(task).data)


# --- Hand-offs ------------------------------------------------------------------------


class HandoffOut(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="patient.uuid")
    from_organization = serializers.CharField(source="from_organization.slug")
    to_organization = serializers.CharField(source="to_organization.slug")
    to_user = serializers.EmailField(source="to_user.email", allow_null=True, default=None)

    class Meta:
        model = Handoff
        fields = [
            "uuid",
            "kind",
            "patient",
            "from_organization",
            "to_organization",
            "to_user",
            "treatment_summary",
            "items",
            "sent_at",
            "acknowledged_at",
        ]


class HandoffItemIn(InputSerializer):
    section = serializers.CharField()
    text = serializers.CharField()
    responsible = serializers.CharField()


class HandoffIn(InputSerializer):
    patient = serializers.UUIDField()
    to_organization = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=HandoffKind.choices, default=HandoffKind.SURVIVORSHIP)
    treatment_summary = serializers.CharField()
    items = HandoffItemIn(many=True)


class HandoffListCreate(CareAPIView, ListAPIView):
    serializer_class = HandoffOut

    def get_queryset(self) -> Any:
        return selectors.handoffs_for(user=api_request(self.request).user, organization=self.organization)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit_record(action=AuditAction.SEARCH, request=request, object_type="handoff_api")
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="handoffs_create", request=HandoffIn, responses={201: HandoffOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest) -> Response:
        self.clinical_or_404()
        data_in = HandoffIn(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        patient = _patient(self, data["patient"])
        to_organization = _organization_by_uuid(data["to_organization"])
        handoff = services.handoff_send(
            user=request.user,
            organization=self.organization,
            patient=patient,
            to_organization=to_organization,
            kind=data["kind"],
            treatment_summary=data["treatment_summary"],
            items=data["items"],
            to_user=selectors.pcp_of_record(patient=patient, organization=to_organization),
        )
        return Response(HandoffOut(handoff).data, status=status.HTTP_201_CREATED)


class HandoffAcknowledge(CareAPIView):
    @extend_schema(
        operation_id="handoffs_acknowledge", request=None, responses={200: HandoffOut, **errors(403, 404, 409)}
    )
    def post(self, request: APIRequest, handoff_uuid: UUID | str) -> Response:
        handoff = selectors.handoff_get_for_user(
            user=request.user, organization=self.organization, handoff_uuid=handoff_uuid
        )
        try:
            handoff = services.handoff_acknowledge(handoff=handoff, user=request.user, organization=self.organization)
        except services.TransitionRefused as error:
            return Response({"detail": str(error), "errors": {}}, status=status.HTTP_409_CONFLICT)
        return Response(HandoffOut(handoff).data)
