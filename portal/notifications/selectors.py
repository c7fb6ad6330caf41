"""Reads of notifications: only ever the signed-in user's own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.postgres.aggregates import BoolOr
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat

from portal.notifications.models import Channel, Delivery, DeliveryStatus, Kind, Notification, NotificationPreference

if TYPE_CHECKING:
    from collections.abc import Iterable

    from portal.accounts.models import User
    from tenants.models import Organization


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).select_related("organization")


def unread_count(*, user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_groups(*, user: User, unread_only: bool = False) -> QuerySet[Any]:
    """The user's notifications as lines: those about one subject (a thread, a referral…)
    and of one read state make one line with a count. Unread lines first, the urgent ones
    before the rest, then the newest. Rows are dicts (``latest_id``, ``count``,
    ``urgent``, ``unread``, ``last_at``); ``notification_lines`` turns a page of them into
    what a template shows."""
    key = Case(
        When(subject_id__isnull=True, then=Concat(Value("n:"), Cast("pk", CharField()))),
        default=Concat("subject_type", Value(":"), Cast("subject_id", CharField())),
        output_field=CharField(),
    )
    rows = Notification.objects.filter(recipient=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return (
        rows.annotate(group_key=key, unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField()))
        .values("group_key", "unread")
        .annotate(count=Count("pk"), latest_id=Max("pk"), last_at=Max("created_at"), urgent=BoolOr("urgent"))
        .order_by("-unread", "-urgent", "-last_at")
    )


def _line_text(notification: Notification, *, count: int, unread: bool) -> str:
    label = notification.subject_label
    new = "new " if unread else ""
    if notification.subject_type == "thread" and label:
        if count > 1:
            return f"{count} {new}messages in ‘{label}’"
        return f"{notification.title} in ‘{label}’"
    if notification.subject_type == "referral" and count > 1:
        return f"{count} {new}updates on the referral for {label}" if label else f"{count} referral updates"
    if count > 1:
        return f"{notification.title} ({count})"
    return notification.title


def notification_lines(*, user: User, groups: Iterable[dict[str, Any]]) -> list[Notification]:
    """The latest notification of each line, carrying ``count``, ``line`` (its text),
    ``group_urgent`` and ``group_unread``, in the order of ``groups``."""
    groups = list(groups)
    latest = {
        n.pk: n
        for n in Notification.objects.filter(recipient=user, pk__in=[g["latest_id"] for g in groups]).select_related(
            "organization"
        )
    }
    lines = []
    for group in groups:
        notification = latest.get(group["latest_id"])
        if notification is None:
            continue
        notification.count = group["count"]  # type: ignore[attr-defined]  # not declared: the groups query annotates "count"
        notification.group_urgent = bool(group["urgent"])
        notification.group_unread = bool(group["unread"])
        notification.line = _line_text(notification, count=group["count"], unread=group["unread"])
        lines.append(notification)
    return lines


def preferences_for(*, user: User) -> dict[str, str]:
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))
    return {kind: chosen.get(kind, Channel.IMMEDIATE) for kind in Kind.values}


def deliveries_failed_for_organization(*, organization: Organization) -> QuerySet[Delivery]:
    """Emails to people at this organization's address that could not be delivered."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.FAILED, notification__organization=organization)
        .select_related("notification__recipient")
        .order_by("-failed_at")
    )


def deliveries_pending_count(*, organization: Organization) -> int:
    return Delivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING], notification__organization=organization
    ).count()


def delivery_get_for_admin(*, organization: Organization, delivery_id: int) -> Delivery:
    from django.http import Http404

    delivery = Delivery.objects.filter(pk=delivery_id, notification__organization=organization).first()
    if delivery is None:
        raise Http404("No such delivery")
    return delivery
