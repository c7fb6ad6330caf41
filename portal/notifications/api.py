"""The notifications API under /api/v1/: a person's own notifications and preferences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.pagination import limit_offset_parameters, paged
from portal.api.permissions import IsOrganizationMember
from portal.api.schema import errors
from portal.api.serializers import InputSerializer, PageOut
from portal.notifications import selectors, services
from portal.notifications.models import Channel, Kind

if TYPE_CHECKING:
    from portal.accounts.typing import APIRequest


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    title = serializers.CharField()
    link = serializers.CharField()
    organization = serializers.CharField(source="organization.slug", allow_null=True, default=None)
    urgent = serializers.BooleanField()
    subject_type = serializers.CharField(help_text='What it is about: "thread", "referral", "caretask", "handoff"…')
    subject_id = serializers.UUIDField(allow_null=True, help_text="The UUID of what it is about")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class MarkReadIn(InputSerializer):
    """Either ``{"ids": [...]}`` (your notifications' ids; others are ignored) or ``{"all": true}``."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=500,
        help_text="Ids of your notifications to mark read",
    )
    all = serializers.BooleanField(required=False, help_text="true: mark every notification of yours read")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields) - {"csrfmiddlewaretoken"})
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        has_ids, everything = "ids" in attrs, attrs.get("all") is True
        if has_ids == everything:
            raise serializers.ValidationError(
                {"non_field_errors": ['Send either "ids" (a list of your notification ids) or "all": true.']}
            )
        return attrs


class MarkedReadOut(serializers.Serializer):
    marked_read = serializers.IntegerField()
    unread = serializers.IntegerField()


class NotificationListOut(PageOut):
    unread = serializers.IntegerField()
    results = NotificationOut(many=True)


class PreferencesIn(InputSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in Kind.values:
            self.fields[kind] = serializers.ChoiceField(choices=Channel.choices, required=False)


class NotificationList(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        parameters=[
            OpenApiParameter("unread", bool, description="Only the unread ones"),
            *limit_offset_parameters(),
        ],
        responses={200: NotificationListOut, **errors(400, 403)},
    )
    def get(self, request: APIRequest) -> Response:
        rows = selectors.notifications_for(user=request.user)
        if request.query_params.get("unread") in {"1", "true"}:
            rows = rows.filter(read_at__isnull=True)
        return paged(
            request,
            rows,
            self,
            serialize=lambda page: NotificationOut(page, many=True).data,
            unread=selectors.unread_count(user=request.user),
        )


class NotificationMarkRead(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(request=MarkReadIn, responses={200: MarkedReadOut, **errors(400, 403)})
    def post(self, request: APIRequest) -> Response:
        incoming = MarkReadIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if data.get("all"):
            count = services.notification_mark_read(user=request.user, everything=True)
        else:
            count = services.notification_mark_read(user=request.user, notification_ids=data["ids"])
        return Response({"marked_read": count, "unread": selectors.unread_count(user=request.user)})


class Preferences(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(responses={200: PreferencesIn, **errors(403)})
    def get(self, request: APIRequest) -> Response:
        return Response(selectors.preferences_for(user=request.user))

    @extend_schema(request=PreferencesIn, responses={200: PreferencesIn, **errors(400, 403)})
    def put(self, request: APIRequest) -> Response:
        incoming = PreferencesIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.preferences_set(user=request.user, choices=dict(incoming.validated_data))
        return Response(selectors.preferences_for(user=request.user))

    patch = put
