"""Telling people that something waits for them: in-app notifications, and email through
an outbox (``Delivery``) that a worker empties once, however often it is asked to."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from portal.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Kind,
    Notification,
    NotificationPreference,
)
from tenants.addresses import absolute_url, organization_host

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
DIGEST_HOUR = 7  # local time of the daily digest


def backoff_seconds(attempts: int) -> int:
    """Wait before the next attempt: 30 s, 1 min, 2 min, 4 min… at most an hour."""
    return int(min(30 * 2 ** max(attempts - 1, 0), 3600))


def next_digest_at(now: dt.datetime | None = None) -> dt.datetime:
    local = timezone.localtime(now or timezone.now())
    at = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if at <= local:
        at += dt.timedelta(days=1)
    return at


def channel_for(*, user: Any, kind: str, urgent: bool, preferences: dict[tuple[int, str], str] | None = None) -> str:
    if urgent:
        return Channel.IMMEDIATE
    if preferences is not None:
        return preferences.get((user.pk, kind), Channel.IMMEDIATE)
    preference = NotificationPreference.objects.filter(user=user, kind=kind).values_list("channel", flat=True).first()
    return preference or Channel.IMMEDIATE


@transaction.atomic
def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    link: str = "",
    organization: Any = None,
    urgent: bool = False,
    email: bool = True,
) -> list[Notification]:
    """Write one in-app notification per distinct recipient, and the email each one's
    preference asks for (urgent ones always right away), in the caller's transaction.
    The emails are sent by a worker after commit."""
    seen: set[int] = set()
    users = []
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        users.append(user)
    rows = Notification.objects.bulk_create(
        [
            Notification(recipient=user, organization=organization, kind=kind, title=title, link=link, urgent=urgent)
            for user in users
        ]
    )
    if not email or not rows:
        return rows
    preferences = {
        (p.user_id, p.kind): p.channel
        for p in NotificationPreference.objects.filter(user__in=[u.pk for u in users], kind=kind)
    }
    now = timezone.now()
    deliveries = []
    for notification, user in zip(rows, users, strict=True):
        channel = channel_for(user=user, kind=kind, urgent=urgent, preferences=preferences)
        if channel == Channel.IN_APP or not user.email:
            continue
        digest = channel == Channel.DIGEST
        deliveries.append(
            Delivery(notification=notification, digest=digest, next_attempt_at=next_digest_at(now) if digest else now)
        )
    created = Delivery.objects.bulk_create(deliveries)
    immediate = [d.pk for d in created if not d.digest]
    if immediate:
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=immediate))
    return rows


def deliveries_enqueue(*, delivery_ids: Iterable[int], countdown: int | None = None) -> int:
    """Hand deliveries to the worker. Never raises: with the broker down they stay pending
    and the periodic re-send picks them up. Returns how many were handed over."""
    from portal.notifications.tasks import delivery_send

    sent = 0
    for delivery_id in delivery_ids:
        try:
            delivery_send.apply_async(
                args=[delivery_id],
                countdown=countdown,
                headers={"_schema_name": "public"},
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
            )
            sent += 1
        except Exception as error:  # the broker is down: the delivery stays pending
            logger.warning("delivery %s left pending, broker unavailable: %s", delivery_id, type(error).__name__)
            break
    return sent


KIND_LABELS: dict[str, str] = {
    Kind.MESSAGE: "a new secure message",
    Kind.REFERRAL: "an update on a referral",
    Kind.CARE_TASK: "an update on a care task",
    Kind.HANDOFF: "a hand-off",
}


def _email_for(notification: Notification) -> tuple[str, str]:
    """Subject and text of the email: that something waits, where; never what."""
    what = KIND_LABELS.get(notification.kind, "something new")
    organization = notification.organization
    where = f" at {organization.name}" if organization is not None else ""
    host = organization_host(organization.slug) if organization is not None else settings.BASE_DOMAIN
    link = absolute_url(host, notification.link or "/")
    subject = ("Urgent: " if notification.urgent else "") + f"You have {what} in Continuum"
    body = (
        f"Hello {notification.recipient.get_short_name()},\n\n"
        f"You have {what} waiting for you{where} in Continuum.\n"
        "For your patients' privacy this email carries no details. Sign in to read it:\n\n"
        f"{link}\n\n"
        "You can choose how you are told in Continuum under Notifications → Preferences.\n"
    )
    return subject, body


def delivery_attempt(*, delivery_id: int) -> tuple[str, int | None]:
    """Deliver one email, once. Returns (outcome, retry_in_seconds).

    The row is locked for the attempt, and only a pending, due delivery is sent: a task
    sent twice, or a re-send racing the first task, delivers once.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__recipient", "notification__organization")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return "done", None
        now = timezone.now()
        if delivery.next_attempt_at > now + dt.timedelta(seconds=2):
            return "not_due", None
        subject, body = _email_for(delivery.notification)
        delivery.attempts += 1
        try:
            send_mail(subject, body, None, [delivery.notification.recipient.email], fail_silently=False)
        except Exception as error:
            delivery.last_error = f"{type(error).__name__}: {error}"[:300]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.failed_at = now
                delivery.save(update_fields=["attempts", "last_error", "status", "failed_at"])
                logger.error("delivery %s failed after %s attempts", delivery.pk, delivery.attempts)
                return "failed", None
            wait = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = now + dt.timedelta(seconds=wait)
            delivery.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            return "retry", wait
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
        delivery.last_error = ""
        delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return "sent", None


def deliveries_resend_pending(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Hand over again every immediate delivery that stayed pending past its time."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, digest=False, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return deliveries_enqueue(delivery_ids=ids)


def digest_send(*, user_id: int) -> int:
    """One email for all of a user's digest deliveries that are due. Returns how many it covered."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__recipient", "notification__organization")
            .filter(
                notification__recipient_id=user_id,
                status=DeliveryStatus.PENDING,
                digest=True,
                next_attempt_at__lte=now,
            )
        )
        if not due:
            return 0
        recipient = due[0].notification.recipient
        places = sorted({d.notification.organization.name for d in due if d.notification.organization is not None})
        first = due[0].notification
        host = organization_host(first.organization.slug) if first.organization is not None else settings.BASE_DOMAIN
        subject = f"Your Continuum digest: {len(due)} item{'s' if len(due) != 1 else ''} waiting"
        body = (
            f"Hello {recipient.get_short_name()},\n\n"
            f"{len(due)} item{'s are' if len(due) != 1 else ' is'} waiting for you in Continuum"
            + (f" ({', '.join(places)})" if places else "")
            + ".\nFor your patients' privacy this email carries no details. Sign in to read them:\n\n"
            + f"{absolute_url(host, '/notifications/')}\n"
        )
        try:
            send_mail(subject, body, None, [recipient.email], fail_silently=False)
        except Exception as error:
            for delivery in due:
                delivery.attempts += 1
                delivery.last_error = f"{type(error).__name__}: {error}"[:300]
                delivery.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(delivery.attempts))
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.failed_at = now
            Delivery.objects.bulk_update(due, ["attempts", "last_error", "next_attempt_at", "status", "failed_at"])
            return 0
        Delivery.objects.filter(pk__in=[d.pk for d in due]).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=1
        )
        return len(due)


def digest_user_ids_due() -> list[int]:
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, digest=True, next_attempt_at__lte=timezone.now())
        .values_list("notification__recipient_id", flat=True)
        .distinct()
    )


@transaction.atomic
def delivery_retry(*, delivery: Delivery, actor: Any) -> Delivery:
    """An admin asks for a failed delivery to be tried again."""
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.failed_at = None
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "failed_at", "next_attempt_at"])
    pk = delivery.pk
    transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=[pk]))
    return delivery


@transaction.atomic
def notification_mark_read(
    *, user: Any, notification_ids: Iterable[int] | None = None, link: str = "", everything: bool = False
) -> int:
    """Mark the user's notifications read: these ids (anyone else's are ignored), those
    pointing at ``link``, or all of them — only when asked for with ``everything=True``."""
    if notification_ids is None and not link and not everything:
        raise ValueError("Name the notifications to mark read, or pass everything=True.")
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        rows = rows.filter(pk__in=list(notification_ids))
    if link:
        rows = rows.filter(link=link)
    return rows.update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, user: Any, choices: dict[str, str]) -> None:
    for kind, channel in choices.items():
        if kind not in Kind.values or channel not in Channel.values:
            from django.core.exceptions import ValidationError

            raise ValidationError({kind: f"Choose one of: {', '.join(Channel.values)}."})
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"channel": channel})
