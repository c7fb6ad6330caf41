"""The OpenAPI schema: the one error shape, and request/response declarations for the
endpoints whose modules do not declare them yet (drf-spectacular view extensions, which
annotate a copy of the view for the schema only — the view that serves requests is
untouched)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers


class ErrorOut(serializers.Serializer):
    """Every error of the API: a sentence, and the reasons per field (may be empty)."""

    detail = serializers.CharField()
    # A declared field leaves the class (DRF moves it to _declared_fields): Serializer.errors stays.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """``responses={200: X, **errors(400, 404)}``."""
    return {code: ErrorOut for code in codes}


def _annotated(target: Any, **methods: Any) -> Any:
    copy = type(target.__name__, (target,), {"__module__": target.__module__, "__doc__": target.__doc__})
    return extend_schema_view(**methods)(copy)


# --- care (portal/care/api.py) ----------------------------------------------------------


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


def _referral_detail_out() -> type[serializers.Serializer]:
    from portal.care.api import ReferralOut

    class ReferralDetailOut(ReferralOut):
        allowed_actions = serializers.ListField(child=serializers.CharField())
        events = ReferralEventOut(many=True)
        notes = ReferralNoteOut(many=True)

        class Meta(ReferralOut.Meta):
            fields = [*ReferralOut.Meta.fields, "allowed_actions", "events", "notes"]

    return ReferralDetailOut


class TaskWarningOut(serializers.Serializer):
    title = serializers.CharField()
    organization = serializers.CharField()
    effective_at = serializers.DateTimeField()


class ReferralListCreateSchema(OpenApiViewExtension):
    target_class = "portal.care.api.ReferralListCreate"

    def view_replacement(self) -> Any:
        from portal.care.api import ReferralIn, ReferralOut

        return _annotated(
            self.target,
            post=extend_schema(
                operation_id="referrals_create",
                request=ReferralIn,
                responses={201: ReferralOut, **errors(400, 403, 404)},
            ),
        )


class ReferralDetailSchema(OpenApiViewExtension):
    target_class = "portal.care.api.ReferralDetail"

    def view_replacement(self) -> Any:
        return _annotated(self.target, get=extend_schema(responses={200: _referral_detail_out(), **errors(403, 404)}))


class ReferralTransitionSchema(OpenApiViewExtension):
    target_class = "portal.care.api.ReferralTransition"

    def view_replacement(self) -> Any:
        from portal.care.api import ReferralOut, TransitionIn

        return _annotated(
            self.target,
            post=extend_schema(
                operation_id="referrals_transition",
                request=TransitionIn,
                responses={200: ReferralOut, **errors(400, 403, 404, 409)},
            ),
        )


class TaskListCreateSchema(OpenApiViewExtension):
    target_class = "portal.care.api.TaskListCreate"

    def view_replacement(self) -> Any:
        from portal.care.api import TaskIn, TaskOut

        class TaskCreatedOut(TaskOut):
            warnings = TaskWarningOut(many=True, help_text="The same test done at another organization lately")

            class Meta(TaskOut.Meta):
                fields = [*TaskOut.Meta.fields, "warnings"]

        return _annotated(
            self.target,
            post=extend_schema(
                operation_id="care_tasks_create",
                request=TaskIn,
                responses={201: TaskCreatedOut, **errors(400, 403, 404)},
            ),
        )


class TaskLinkResultSchema(OpenApiViewExtension):
    target_class = "portal.care.api.TaskLinkResult"

    def view_replacement(self) -> Any:
        from portal.care.api import LinkIn, TaskOut

        return _annotated(
            self.target,
            post=extend_schema(
                operation_id="care_tasks_link_result",
                request=LinkIn,
                responses={200: TaskOut, **errors(400, 403, 404, 409)},
            ),
        )


class HandoffListCreateSchema(OpenApiViewExtension):
    target_class = "portal.care.api.HandoffListCreate"

    def view_replacement(self) -> Any:
        from portal.care.api import HandoffIn, HandoffOut

        return _annotated(
            self.target,
            post=extend_schema(
                operation_id="handoffs_create",
                request=HandoffIn,
                responses={201: HandoffOut, **errors(400, 403, 404)},
            ),
        )


class HandoffAcknowledgeSchema(OpenApiViewExtension):
    target_class = "portal.care.api.HandoffAcknowledge"

    def view_replacement(self) -> Any:
        from portal.care.api import HandoffOut

        return _annotated(
            self.target,
            post=extend_schema(
                operation_id="handoffs_acknowledge",
                request=None,
                responses={200: HandoffOut, **errors(403, 404, 409)},
            ),
        )
