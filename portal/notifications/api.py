"""The notifications API under /api/v1/: a person's own notifications and preferences."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.permissions import IsOrganizationMember
from portal.notifications import selectors, services
from portal.notifications.models import Channel, Kind


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    title = serializers.CharField()
    link = serializers.CharField()
    organization = serializers.CharField(source="organization.slug", allow_null=True, default=None)
    urgent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class MarkReadIn(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Empty: all")


class PreferencesIn(serializers.Serializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in Kind.values:
            self.fields[kind] = serializers.ChoiceField(choices=Channel.choices, required=False)


class NotificationList(APIView):
    permission_classes = [IsOrganizationMember]

    def get(self, request: Request) -> Response:
        rows = selectors.notifications_for(user=request.user)
        if request.query_params.get("unread") in {"1", "true"}:
            rows = rows.filter(read_at__isnull=True)
        return Response(
            {
                "unread": selectors.unread_count(user=request.user),
                "results": NotificationOut(rows[:100], many=True).data,
            }
        )


class NotificationMarkRead(APIView):
    permission_classes = [IsOrganizationMember]

    def post(self, request: Request) -> Response:
        incoming = MarkReadIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        count = services.notification_mark_read(user=request.user, notification_ids=incoming.validated_data.get("ids"))
        return Response({"marked_read": count, "unread": selectors.unread_count(user=request.user)})


class Preferences(APIView):
    permission_classes = [IsOrganizationMember]

    def get(self, request: Request) -> Response:
        return Response(selectors.preferences_for(user=request.user))

    def put(self, request: Request) -> Response:
        incoming = PreferencesIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.preferences_set(user=request.user, choices=dict(incoming.validated_data))
        return Response(selectors.preferences_for(user=request.user))

    patch = put
