"""Organization admins' user management under /api/v1/ (at the organization's address)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.models import Membership
from portal.accounts.roles import Role
from portal.accounts.selectors import members_for_admin, membership_for_admin, site_admin_membership
from portal.accounts.services import invitation_create, membership_deactivate, membership_set_role
from portal.api.pagination import limit_offset_parameters, paged
from portal.api.schema import errors
from portal.api.serializers import InputSerializer, PageOut

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from portal.accounts.typing import APIRequest


class IsSiteAdminHere(BasePermission):
    """A site admin signed in at this organization's address. Others get the same 404."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated and getattr(request, "membership", None)):
            return False
        if site_admin_membership(request) is None:
            raise Http404("Not found.")
        return True


class MemberSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "is_site_admin", "status", "last_attested_at", "created_at"]
        read_only_fields = fields


class MemberPageOut(PageOut):
    results = MemberSerializer(many=True)


class InviteSerializer(InputSerializer):
    email = serializers.EmailField()
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)
    is_site_admin = serializers.BooleanField(required=False, default=False)


class RoleSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    is_site_admin = serializers.BooleanField(required=False, default=False)


class UserListView(APIView):
    permission_classes = [IsSiteAdminHere]

    @extend_schema(
        operation_id="users_list",
        parameters=limit_offset_parameters(),
        responses={200: MemberPageOut, **errors(400, 404)},
    )
    def get(self, request: APIRequest) -> Response:
        members = members_for_admin(organization=request.tenant, status=request.query_params.get("status", ""))
        return paged(request, members, self, serialize=lambda rows: MemberSerializer(rows, many=True).data)


class InvitationCreateView(APIView):
    permission_classes = [IsSiteAdminHere]
    serializer_class = InviteSerializer

    @extend_schema(operation_id="users_invite", request=InviteSerializer, responses={201: InviteSerializer})
    def post(self, request: APIRequest) -> Response:
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _link = invitation_create(
            organization=request.tenant,
            invited_by=request.user,
            request=request._request,
            **serializer.validated_data,
        )
        return Response(
            {
                "id": str(invitation.uuid),
                "email": invitation.email,
                "role": invitation.role,
                "is_site_admin": invitation.is_site_admin,
                "expires_at": invitation.expires_at,
            },
            status=status.HTTP_201_CREATED,
        )


class UserDetailView(APIView):
    permission_classes = [IsSiteAdminHere]
    serializer_class = RoleSerializer

    def _membership(self, request: APIRequest, pk: int) -> Membership:
        membership = membership_for_admin(organization=request.tenant, pk=pk)
        if membership is None:
            raise Http404("Not found.")
        return membership

    @extend_schema(operation_id="users_retrieve", responses=MemberSerializer)
    def get(self, request: APIRequest, pk: int) -> Response:
        return Response(MemberSerializer(self._membership(request, pk)).data)

    @extend_schema(operation_id="users_set_role", request=RoleSerializer, responses=MemberSerializer)
    def patch(self, request: APIRequest, pk: int) -> Response:
        membership = self._membership(request, pk)
        serializer = RoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_set_role(
            membership=membership, actor=request.user, request=request._request, **serializer.validated_data
        )
        return Response(MemberSerializer(membership).data)


class UserDeactivateView(APIView):
    permission_classes = [IsSiteAdminHere]

    @extend_schema(operation_id="users_deactivate", request=None, responses=MemberSerializer)
    def post(self, request: APIRequest, pk: int) -> Response:
        membership = membership_for_admin(organization=request.tenant, pk=pk)
        if membership is None:
            raise Http404("Not found.")
        membership = membership_deactivate(membership=membership, actor=request.user, request=request._request)
        return Response(MemberSerializer(membership).data)
