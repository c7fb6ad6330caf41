"""Reads of notifications: only ever the signed-in user's own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from portal.notifications.models import Channel, Delivery, DeliveryStatus, Kind, Notification, NotificationPreference


def notifications_for(*, user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).select_related("organization")


def unread_count(*, user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def preferences_for(*, user: Any) -> dict[str, str]:
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))
    return {kind: chosen.get(kind, Channel.IMMEDIATE) for kind in Kind.values}


def deliveries_failed_for_organization(*, organization: Any) -> QuerySet[Delivery]:
    """Emails to people at this organization's address that could not be delivered."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.FAILED, notification__organization=organization)
        .select_related("notification__recipient")
        .order_by("-failed_at")
    )


def deliveries_pending_count(*, organization: Any) -> int:
    return Delivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING], notification__organization=organization
    ).count()


def delivery_get_for_admin(*, organization: Any, delivery_id: int) -> Delivery:
    from django.http import Http404

    delivery = Delivery.objects.filter(pk=delivery_id, notification__organization=organization).first()
    if delivery is None:
        raise Http404("No such delivery")
    return delivery
