"""The messaging API under /api/v1/: same rules as the pages, through the same selectors
and services. Serializers are declared per endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.typing import api_request
from portal.api.pagination import (
    NUMBER_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    number_schema,
    page_number,
    page_size,
)
from portal.api.permissions import IsOrganizationMember
from portal.api.schema import errors
from portal.api.serializers import InputSerializer
from portal.audit.services import AuditAction, audit_record
from portal.messaging import selectors, services
from portal.messaging.models import Message  # at run time: drf-spectacular reads get_entries's hints
from portal.patients.selectors import patient_get_for_user

if TYPE_CHECKING:
    from uuid import UUID

    from rest_framework.views import APIView

    from portal.accounts.typing import APIRequest
    from portal.messaging.models import Thread
    from portal.patients.models import NetworkPatient, RegistryEntry


class IsClinicalMember(BasePermission):
    message = "Secure messaging is for clinical staff with an active account here."

    def has_permission(self, request: Request, view: APIView) -> bool:
        request = api_request(request)
        return selectors.messaging_membership(user=request.user, organization=request.tenant) is not None


class MessagingView(APIView):
    permission_classes = [IsOrganizationMember, IsClinicalMember]

    def thread(self, request: APIRequest, thread_uuid: UUID | str) -> Thread:
        return selectors.thread_get_for_user(user=request.user, organization=request.tenant, thread_uuid=thread_uuid)


# --- output -------------------------------------------------------------------------


class PersonOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="display_name")


class ParticipantOut(serializers.Serializer):
    organization = serializers.CharField(source="organization.slug")
    organization_name = serializers.CharField(source="organization.name")
    user = PersonOut(allow_null=True)
    pool = serializers.BooleanField(source="is_pool")


class ThreadHeadOut(serializers.Serializer):
    """What every answer about a thread starts with."""

    uuid = serializers.UUIDField()
    subject = serializers.CharField()
    patient = serializers.UUIDField(source="patient.uuid", allow_null=True, default=None)
    urgent = serializers.BooleanField()


class ThreadSummaryOut(ThreadHeadOut):
    unread = serializers.IntegerField()
    last_message_at = serializers.DateTimeField()


class ReceiptOut(serializers.Serializer):
    user = PersonOut()
    organization = serializers.CharField(source="organization.slug")
    read_at = serializers.DateTimeField()


class AttachmentOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class MessageOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    sender = PersonOut()
    sender_organization = serializers.CharField(source="sender_organization.slug")
    body = serializers.CharField()
    urgent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    entries = serializers.SerializerMethodField()
    attachments = AttachmentOut(many=True, source="attachments.all")
    read_by = ReceiptOut(many=True)

    def get_entries(self, message: Message) -> list[str]:
        return [str(e.uuid) for e in message.entries.all()]


class ThreadPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    unread_threads = serializers.IntegerField(help_text="Conversations of the inbox with unread messages")
    results = ThreadSummaryOut(many=True)


class MessageReceiptsOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    read_by = ReceiptOut(many=True)


class ThreadReceiptsOut(serializers.Serializer):
    thread = serializers.UUIDField()
    messages = MessageReceiptsOut(many=True)


class ThreadMarkedReadOut(serializers.Serializer):
    thread = serializers.UUIDField()
    newly_read = serializers.IntegerField(help_text="Receipts written by this call")


class ThreadArchivedOut(serializers.Serializer):
    thread = serializers.UUIDField()
    archived = serializers.BooleanField()


class ThreadOut(ThreadHeadOut):
    created_at = serializers.DateTimeField()
    participants = ParticipantOut(many=True)
    messages = MessageOut(many=True)


# --- input --------------------------------------------------------------------------


class ParticipantIn(InputSerializer):
    organization = serializers.SlugField(help_text="The organization's slug")
    user_id = serializers.IntegerField(required=False, allow_null=True, help_text="Empty: the care-team pool")


def _recipients(items: list[dict[str, Any]]) -> list[services.Recipient]:
    """The participants named by slug and user id. A person who does not exist and a person
    who takes no messages at that organization get the same answer (the service's)."""
    from portal.accounts.models import User
    from tenants.models import Organization

    recipients = []
    for item in items:
        organization = Organization.objects.filter(slug=item["organization"]).first()
        if organization is None:
            raise ValidationError({"participants": selectors.NOT_AN_ORGANIZATION.format(slug=item["organization"])})
        user = None
        if item.get("user_id") is not None:
            user = User.objects.filter(pk=item["user_id"]).first()
            if user is None:
                raise ValidationError({"participants": selectors.NOT_A_RECIPIENT})
        recipients.append(services.Recipient(organization=organization, user=user))
    return recipients


def _entries(request: APIRequest, uuids: list[UUID], *, patient: NetworkPatient | None) -> list[RegistryEntry]:
    """The entries a message points at: entries of the thread's patient that the sender sees.
    An entry of another patient, one the sender may not see and an id that is no entry get
    the same answer."""
    return selectors.message_entries_get(
        user=request.user,
        organization=request.tenant,
        patient=patient,
        entry_uuids=uuids,
    )


class MessageCreateIn(InputSerializer):
    """A message: its text, whether it is urgent, the shared-record entries it points at.
    A new thread takes the same, and its subject, patient and participants."""

    body = serializers.CharField(max_length=10_000)
    urgent = serializers.BooleanField(default=False)
    entries = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class ThreadCreateIn(MessageCreateIn):
    subject = serializers.CharField(max_length=200)
    patient = serializers.UUIDField(required=False, allow_null=True)
    participants = ParticipantIn(many=True, allow_empty=False)


class ArchiveIn(InputSerializer):
    archived = serializers.BooleanField(default=True)


# --- views --------------------------------------------------------------------------


def _thread_out(request: APIRequest, thread: Thread) -> dict[str, Any]:
    if thread.patient_id:
        audit_record(
            action=AuditAction.READ,
            request=request,
            object_type="message_thread",
            object_id=thread.uuid,
            patient=thread.patient,
        )
    data = {
        "uuid": thread.uuid,
        "subject": thread.subject,
        "patient": thread.patient,
        "urgent": thread.urgent,
        "created_at": thread.created_at,
        "participants": selectors.thread_participants(thread=thread),
        "messages": selectors.thread_messages(thread=thread),
    }
    out = ThreadOut(data).data
    out["patient"] = str(thread.patient.uuid) if thread.patient is not None else None
    return out


class ThreadSearchIn(InputSerializer):
    q = serializers.CharField(max_length=100, help_text="Words of the subject or of a message")
    archived = serializers.BooleanField(default=False, help_text="Search the archived threads instead of the inbox")
    page = serializers.IntegerField(min_value=1, max_value=NUMBER_MAX, default=1)
    limit = serializers.IntegerField(
        min_value=1, max_value=NUMBER_MAX, default=PAGE_SIZE_DEFAULT, help_text=f"At most {PAGE_SIZE_MAX} are given"
    )


def _thread_page(
    request: APIRequest, *, page_number: int | str, per_page: int, archived: bool, query: str = ""
) -> Response:
    inbox = selectors.inbox_page(
        user=request.user,
        organization=request.tenant,
        page_number=page_number,
        per_page=per_page,
        archived=archived,
        query=query,
    )
    return Response(
        {
            "count": inbox.page.paginator.count,
            "page": inbox.page.number,
            "pages": inbox.page.paginator.num_pages,
            "unread_threads": inbox.unread_threads,
            "results": ThreadSummaryOut(inbox.threads, many=True).data,
        }
    )


class ThreadListCreate(MessagingView):
    @extend_schema(
        operation_id="threads_list",
        parameters=[
            OpenApiParameter("page", number_schema(minimum=1), description="Page number, from 1"),
            OpenApiParameter(
                "limit",
                number_schema(minimum=1),
                description=f"Threads per page ({PAGE_SIZE_DEFAULT} by default, at most {PAGE_SIZE_MAX})",
            ),
            OpenApiParameter("archived", bool, description="The archived threads instead of the inbox"),
        ],
        responses={200: ThreadPageOut, **errors(400, 403)},
    )
    def get(self, request: APIRequest) -> Response:
        per_page = page_size(request.query_params)
        number = page_number(request.query_params)
        if "q" in request.query_params:
            raise ValidationError(
                {"q": 'Search with POST /api/v1/threads/search/ and {"q": ...}: search words never go in a URL.'}
            )
        return _thread_page(
            request,
            page_number=number,
            per_page=per_page,
            archived=request.query_params.get("archived") in {"1", "true"},
        )

    @extend_schema(
        operation_id="threads_create", request=ThreadCreateIn, responses={201: ThreadOut, **errors(400, 403)}
    )
    def post(self, request: APIRequest) -> Response:
        incoming = ThreadCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        patient = None
        if data.get("patient"):
            try:
                patient = patient_get_for_user(
                    user=request.user, organization=request.tenant, patient_uuid=data["patient"]
                )
            except Http404:
                raise ValidationError({"patient": "No such patient, or you may not see them."})
        thread = services.thread_start(
            sender=request.user,
            organization=request.tenant,
            subject=data["subject"],
            body=data["body"],
            patient=patient,
            urgent=data["urgent"],
            recipients=_recipients(data["participants"]),
            entries=_entries(request, data["entries"], patient=patient),
        )
        return Response(_thread_out(request, thread), status=status.HTTP_201_CREATED)


class ThreadSearch(MessagingView):
    """Search of the person's threads. The words travel in the POST body, never in a URL
    (they may carry clinical details, and URLs land in logs and histories)."""

    @extend_schema(
        operation_id="threads_search", request=ThreadSearchIn, responses={200: ThreadPageOut, **errors(400, 403)}
    )
    def post(self, request: APIRequest) -> Response:
        incoming = ThreadSearchIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        return _thread_page(
            request,
            page_number=data["page"],
            per_page=min(data["limit"], PAGE_SIZE_MAX),
            archived=data["archived"],
            query=data["q"],
        )


class ThreadDetail(MessagingView):
    @extend_schema(operation_id="threads_retrieve", responses={200: ThreadOut, **errors(403, 404)})
    def get(self, request: APIRequest, thread_uuid: UUID | str) -> Response:
        return Response(_thread_out(request, self.thread(request, thread_uuid)))


class MessageCreate(MessagingView):
    @extend_schema(
        operation_id="threads_reply", request=MessageCreateIn, responses={201: MessageOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest, thread_uuid: UUID | str) -> Response:
        thread = self.thread(request, thread_uuid)
        incoming = MessageCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        message = services.message_reply(
            thread=thread,
            sender=request.user,
            organization=request.tenant,
            body=data["body"],
            urgent=data["urgent"],
            entries=_entries(request, data["entries"], patient=thread.patient),
            access_checked=True,  # self.thread() has just read it through thread_get_for_user
        )
        message.read_by = []
        return Response(MessageOut(message).data, status=status.HTTP_201_CREATED)


class ThreadRead(MessagingView):
    """GET: who read which message (receipts). POST: mark the thread read for me."""

    @extend_schema(operation_id="threads_receipts", responses={200: ThreadReceiptsOut, **errors(403, 404)})
    def get(self, request: APIRequest, thread_uuid: UUID | str) -> Response:
        thread = self.thread(request, thread_uuid)
        messages = selectors.thread_messages(thread=thread)
        return Response(
            {
                "thread": str(thread.uuid),
                "messages": [{"uuid": str(m.uuid), "read_by": ReceiptOut(m.read_by, many=True).data} for m in messages],
            }
        )

    @extend_schema(
        operation_id="threads_mark_read", request=None, responses={200: ThreadMarkedReadOut, **errors(403, 404)}
    )
    def post(self, request: APIRequest, thread_uuid: UUID | str) -> Response:
        thread = self.thread(request, thread_uuid)
        created = services.thread_mark_read(thread=thread, user=request.user, organization=request.tenant)
        return Response({"thread": str(thread.uuid), "newly_read": created})


class ThreadParticipants(MessagingView):
    @extend_schema(
        operation_id="threads_add_participant",
        request=ParticipantIn,
        responses={201: ParticipantOut, **errors(400, 403, 404)},
    )
    def post(self, request: APIRequest, thread_uuid: UUID | str) -> Response:
        thread = self.thread(request, thread_uuid)
        incoming = ParticipantIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        recipient = _recipients([incoming.validated_data])[0]
        participant = services.thread_participant_add(
            thread=thread, actor=request.user, organization=request.tenant, recipient=recipient
        )
        return Response(ParticipantOut(participant).data, status=status.HTTP_201_CREATED)


class ThreadArchive(MessagingView):
    @extend_schema(
        operation_id="threads_archive", request=ArchiveIn, responses={200: ThreadArchivedOut, **errors(400, 403, 404)}
    )
    def post(self, request: APIRequest, thread_uuid: UUID | str) -> Response:
        thread = self.thread(request, thread_uuid)
        incoming = ArchiveIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        archived = incoming.validated_data["archived"]
        services.thread_archive(thread=thread, user=request.user, organization=request.tenant, archived=archived)
        return Response({"thread": str(thread.uuid), "archived": archived})
