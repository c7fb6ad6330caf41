"""The shared record's API: search, chart, entries, item read, create and publish."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from portal.api.base import OrganizationAPIView, PatientScopedAPIView
from portal.api.permissions import IsClinicalMember, IsOrganizationMember
from portal.api.serializers import InputSerializer
from portal.audit.services import AuditAction, audit_record
from portal.patients.selectors import patient_search
from portal.records.models import ItemKind
from portal.records.selectors import (  # Chart: drf-spectacular reads the hints
    Chart,
    chart_get,
    entry_open,
    own_item_get,
)
from portal.records.services import item_create, item_publish

if TYPE_CHECKING:
    from portal.accounts.typing import APIRequest


class PatientOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    sex = serializers.CharField()


class EntryOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    kind = serializers.CharField()
    code = serializers.CharField()
    title = serializers.CharField()
    effective_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    summary = serializers.JSONField()
    source = serializers.CharField(source="organization.name")  # type: ignore[assignment]  # a field named source, not Field.source


class ChartOut(serializers.Serializer):
    patient = PatientOut()
    diagnoses = EntryOut(many=True)
    treatments = EntryOut(many=True)
    medications = EntryOut(many=True)
    allergies = EntryOut(many=True)
    problems = EntryOut(many=True)
    tests_done = EntryOut(many=True)
    emergency_access = serializers.SerializerMethodField()
    record_shared = serializers.BooleanField(
        source="shared",
        help_text="False while this organization sees only its own entries (it registered the patient; "
        "what others share opens with a relationship one of them grants).",
    )

    def get_emergency_access(self, chart: Chart) -> bool:
        return chart.emergency is not None


class ItemOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    code = serializers.CharField()
    effective_at = serializers.DateTimeField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    values = serializers.JSONField(source="data")
    author = serializers.CharField(source="author.display_name")


class ItemIn(InputSerializer):
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    values = serializers.DictField(
        # Each value is text (numbers are taken as their text), as a form posts it.
        child=serializers.CharField(allow_blank=True, allow_null=True, trim_whitespace=False),
        help_text="The item's fields, as on the form for its kind (effective_date included).",
    )
    publish = serializers.BooleanField(default=False)


def _validation(error: ValidationError) -> Response:
    errors = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    return Response({"detail": "The item is not valid.", "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


class PatientSearchIn(InputSerializer):
    q = serializers.CharField(max_length=100, help_text="Name (typos are fine), date of birth or MRN")


class PatientSearchAPI(OrganizationAPIView):
    """Patient search. The terms travel in the POST body, never in the URL, so no name or
    birth date lands in an access log or a proxy's history."""

    permission_classes = [IsOrganizationMember, IsClinicalMember]

    @extend_schema(request=PatientSearchIn, responses=PatientOut(many=True))
    def post(self, request: APIRequest) -> Response:
        form = PatientSearchIn(data=request.data)
        if not form.is_valid():
            return Response({"detail": "Give a search term in q.", "errors": form.errors}, status=400)
        query = form.validated_data["q"].strip()
        results = patient_search(user=request.user, organization=request.tenant, query=query)
        audit_record(action=AuditAction.SEARCH, request=request, detail={"results": len(results), "api": True})
        return Response(PatientOut(results, many=True).data)


class ChartAPI(PatientScopedAPIView):
    @extend_schema(responses=ChartOut)
    def get(self, request: APIRequest, patient_uuid: str) -> Response:
        chart = chart_get(user=request.user, organization=self.organization, patient_uuid=patient_uuid, request=request)
        return Response(ChartOut(chart).data)


class TimelineAPI(PatientScopedAPIView):
    @extend_schema(responses=EntryOut(many=True))
    def get(self, request: APIRequest, patient_uuid: str) -> Response:
        chart = chart_get(user=request.user, organization=self.organization, patient_uuid=patient_uuid, request=request)
        return Response(EntryOut(chart.entries, many=True).data)


class EntryAPI(PatientScopedAPIView):
    @extend_schema(responses=ItemOut)
    def get(self, request: APIRequest, patient_uuid: str, entry_uuid: str) -> Response:
        opened = entry_open(
            user=request.user,
            organization=self.organization,
            patient_uuid=patient_uuid,
            entry_uuid=entry_uuid,
            request=request,
        )
        return Response(
            {**ItemOut(opened.item).data, "source": opened.entry.organization.name, "entry_status": opened.entry.status}
        )


class ItemCreateAPI(PatientScopedAPIView):
    @extend_schema(request=ItemIn, responses={201: ItemOut})
    def post(self, request: APIRequest, patient_uuid: str) -> Response:
        body = ItemIn(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            item = item_create(
                user=request.user,
                organization=self.organization,
                patient=self.patient,
                kind=body.validated_data["kind"],
                values=body.validated_data["values"],
                publish=body.validated_data["publish"],
                request=request,
            )
        except ValidationError as error:
            return _validation(error)
        except PermissionDenied as error:
            return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
        return Response(ItemOut(item).data, status=status.HTTP_201_CREATED)


class ItemPublishAPI(OrganizationAPIView):
    permission_classes = [IsOrganizationMember, IsClinicalMember]

    @extend_schema(request=None, responses={200: ItemOut})
    def post(self, request: APIRequest, item_id: str) -> Response:
        try:
            item = own_item_get(user=request.user, organization=self.organization, item_id=item_id)
            item_publish(user=request.user, organization=self.organization, item=item, request=request)
        except Http404:
            raise
        except ValidationError as error:
            return _validation(error)
        except PermissionDenied as error:
            return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
        item.refresh_from_db()
        return Response(ItemOut(item).data)
