"""Telling people that something waits for them: in-app notifications, and email through
an outbox (``Delivery``) that a worker empties once, however often it is asked to."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, transaction
from django.db import connection as database
from django.db.models import F, Q
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

if TYPE_CHECKING:
    from uuid import UUID

    from django.db.models.options import Options

    from portal.accounts.models import User
    from tenants.models import Organization

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# How long a worker holds a delivery it is sending. Longer than one SMTP exchange can take
# (EMAIL_TIMEOUT bounds each step), so a live worker is never raced; a dead worker's
# delivery goes out again (with the same Message-ID) once it runs out.
SENDING_LEASE_SECONDS = 300
# How long a delivery handed to the worker is left to the task that carries it before the
# periodic re-send hands it over again (the task lost with a worker that died holding it, or
# with a Redis that lost its data). Longer than the worker takes to reach it behind a
# backlog, so the re-send running every few seconds does not queue the same backlog again.
HANDOVER_LEASE_SECONDS = 30
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


def channel_for(*, user: User, kind: str, urgent: bool, preferences: dict[tuple[int, str], str] | None = None) -> str:
    if urgent:
        return Channel.IMMEDIATE
    if preferences is not None:
        return preferences.get((user.pk, kind), Channel.IMMEDIATE)
    preference = NotificationPreference.objects.filter(user=user, kind=kind).values_list("channel", flat=True).first()
    return preference or Channel.IMMEDIATE


class Subject(Protocol):
    """What a notification is about: a thread, a referral, a care task, a hand-off — any
    model with a ``uuid`` (the apps above this one; named by their model name)."""

    @property
    def uuid(self) -> UUID: ...

    @property
    def _meta(self) -> Options[Any]: ...


def subject_key(subject: Subject) -> tuple[str, UUID]:
    """(type, uuid) naming what a notification is about: a thread, a referral, a care
    task, a hand-off — any model with a ``uuid``."""
    return subject._meta.model_name or "", subject.uuid


@transaction.atomic
def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    link: str = "",
    organization: Organization | None = None,
    urgent: bool = False,
    email: bool = True,
    subject: Subject | None = None,
    subject_label: str = "",
) -> list[Notification]:
    """Write one in-app notification per distinct recipient, and the email each one's
    preference asks for (urgent ones always right away), in the caller's transaction.
    The emails are sent by a worker after commit. ``subject`` is what it is about (a
    thread, a referral, a task, a hand-off): acting on it marks it read, and the bell
    shows one line per subject; ``subject_label`` names it in the portal (never in email)."""
    subject_type, subject_id = subject_key(subject) if subject is not None else ("", None)
    seen: set[int] = set()
    users = []
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        users.append(user)
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                organization=organization,
                kind=kind,
                title=title,
                link=link,
                urgent=urgent,
                subject_type=subject_type,
                subject_id=subject_id,
                subject_label=subject_label[:200],
            )
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
            Delivery(
                notification=notification,
                digest=digest,
                next_attempt_at=next_digest_at(now) if digest else now,
                handed_over_at=None if digest else now,  # after commit, or unmarked if that fails
            )
        )
    created = Delivery.objects.bulk_create(deliveries)
    immediate = [d.pk for d in created if not d.digest]
    if immediate:
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=immediate))
    return rows


# Publishing a task tries the broker twice, 0.2 s apart, then gives up (the delivery stays
# pending): a request never waits long for a Redis that is down.
ENQUEUE_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# The re-send hands deliveries over in tasks of at most this many, each sent over one
# connection to the mail server (a task and a connection of its own per delivery cost the
# worker more than the email itself), spread over the worker's threads: the time an email
# takes is mostly waiting for the database to write its mark "sent" to disk, which threads
# waiting at once share.
RESEND_BATCH = 20


def _handover_failed(delivery_ids: list[int]) -> None:
    """Deliveries whose hand-over failed are not handed over: the next re-send (or the
    worker's next connection) takes them at once, not after ``HANDOVER_LEASE_SECONDS``."""
    try:
        Delivery.objects.filter(pk__in=delivery_ids).update(handed_over_at=None)
    except DatabaseError:  # the database is away too: the lease runs out, and they go then
        logger.warning("deliveries %s left marked as handed over", delivery_ids)


def deliveries_enqueue(*, delivery_ids: Iterable[int], countdown: int | None = None) -> int:
    """Hand deliveries to the worker. Never raises: with the broker down they stay pending
    and the periodic re-send picks them up. Returns how many were handed over."""
    from portal.notifications.tasks import delivery_send

    ids = list(delivery_ids)
    for sent, delivery_id in enumerate(ids):
        try:
            delivery_send.apply_async(
                args=[delivery_id],
                countdown=countdown,
                headers={"_schema_name": "public"},
                retry=True,
                retry_policy=ENQUEUE_RETRY_POLICY,
            )
        except Exception as error:  # the broker is down: the delivery stays pending
            logger.warning("delivery %s left pending, broker unavailable: %s", delivery_id, type(error).__name__)
            _handover_failed(ids[sent:])
            return sent
    return len(ids)


def deliveries_enqueue_batched(*, delivery_ids: list[int], spread: int = 1) -> int:
    """Hand deliveries to the worker in tasks of at most ``RESEND_BATCH`` (the re-send's
    backlog), in at least ``spread`` tasks (the worker's threads) when there are as many.
    Never raises, like ``deliveries_enqueue``; returns how many were handed over."""
    from portal.notifications.tasks import deliveries_send

    size = max(1, min(RESEND_BATCH, -(-len(delivery_ids) // max(spread, 1))))
    for start in range(0, len(delivery_ids), size):
        batch = delivery_ids[start : start + size]
        try:
            deliveries_send.apply_async(
                args=[batch], headers={"_schema_name": "public"}, retry=True, retry_policy=ENQUEUE_RETRY_POLICY
            )
        except Exception as error:  # the broker is down: the deliveries stay pending
            logger.warning("deliveries %s left pending, broker unavailable: %s", batch, type(error).__name__)
            _handover_failed(delivery_ids[start:])
            return start
    return len(delivery_ids)


KIND_LABELS: dict[str, str] = {
    Kind.MESSAGE: "a new secure message",
    Kind.REFERRAL: "an update on a referral",
    Kind.CARE_TASK: "an update on a care task",
    Kind.HANDOFF: "a hand-off",
    Kind.TUMOR_BOARD: "an update from a tumor board",
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


def message_id_for(*, kind: str, key: uuid.UUID) -> str:
    """The Message-ID of an email owed by the outbox: derived from the delivery (or the
    digest's deliveries), never from what it is about. Sent again, it has the same id, and
    mail clients show it once."""
    return f"<{kind}-{key}@{settings.BASE_DOMAIN}>"


def digest_key(deliveries: Iterable[Delivery]) -> uuid.UUID:
    """One digest's key: the same deliveries give the same key, other deliveries another."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "continuum-digest:" + ",".join(sorted(str(d.uuid) for d in deliveries)))


def _claimable(now: dt.datetime) -> Q:
    """Pending and due, or being sent by a worker whose lease has run out (it died)."""
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now + dt.timedelta(seconds=2)) | Q(
        status=DeliveryStatus.SENDING, next_attempt_at__lte=now
    )


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # the message was accepted (or refused) already; QUIT failing changes nothing
        logger.info("mail connection did not close cleanly")


def _send_on(connection: Any, email: EmailMessage) -> None:
    """Hand one email to the mail server over an open connection; returns once it has
    accepted it, raises otherwise."""
    if connection.send_messages([email]) != 1:
        raise smtplib.SMTPException("the mail server accepted nothing")


def _send_accepted(email: EmailMessage) -> Any:
    """Hand one email to the mail server; returns the still open connection once the server
    has accepted it (so the caller marks the delivery sent before anything else can fail)."""
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        _send_on(connection, email)
    except Exception:
        _close_quietly(connection)
        raise
    return connection


def _attempt_failed(*, pks: list[int], attempts: int, error: Exception, now: dt.datetime) -> tuple[str, int | None]:
    last_error = f"{type(error).__name__}: {error}"[:300]
    claimed = Delivery.objects.filter(pk__in=pks, status=DeliveryStatus.SENDING)
    if attempts >= MAX_ATTEMPTS:
        claimed.update(status=DeliveryStatus.FAILED, failed_at=now, last_error=last_error)
        logger.error("deliveries %s failed after %s attempts", pks, attempts)
        return "failed", None
    wait = backoff_seconds(attempts)
    claimed.update(
        status=DeliveryStatus.PENDING, next_attempt_at=now + dt.timedelta(seconds=wait), last_error=last_error
    )
    return "retry", wait


def _delivery_claim(delivery_id: int) -> Delivery | str:
    """Claim one delivery for sending, in a transaction of its own: the row (locked) moves
    from pending (and due) to "sending", with a lease of ``SENDING_LEASE_SECONDS`` from now.
    Returns it, or why it was not claimed ("done", "not_due", "busy")."""
    now = timezone.now()
    with transaction.atomic():
        # The claim's commit does not wait for the disk (a flush per claim, as long again as
        # the email itself): a claim lost in a database crash leaves the delivery pending, and
        # it goes out again with the same Message-ID, as it would once a lost worker's lease
        # ran out. Other transactions see the claim at once either way; the mark "sent"
        # (below) waits for the disk, and makes the claim durable with it.
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__recipient", "notification__organization")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
            return "done"
        if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at > now + dt.timedelta(seconds=2):
            return "not_due"
        if delivery.status == DeliveryStatus.SENDING and delivery.next_attempt_at > now:
            return "busy"  # a live worker holds it
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.next_attempt_at = now + dt.timedelta(seconds=SENDING_LEASE_SECONDS)
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    return delivery


def _delivery_email(delivery: Delivery) -> EmailMessage:
    subject, body = _email_for(delivery.notification)
    return EmailMessage(
        subject,
        body,
        to=[delivery.notification.recipient.email],
        headers={"Message-ID": message_id_for(kind="delivery", key=delivery.uuid)},
    )


def deliveries_attempt(*, delivery_ids: list[int]) -> list[tuple[int, str, int | None]]:
    """Deliver emails, each once, over one connection to the mail server. Returns
    (delivery id, outcome, retry_in_seconds) for each, in order.

    For each delivery in turn:

    1. Claim it (``_delivery_claim``): a task sent twice, or a re-send racing the first
       task, finds it claimed or sent and sends nothing. The lease starts at its own claim.
    2. Send it, with a Message-ID derived from the delivery (``message_id_for``), over the
       batch's connection, opened for the first delivery claimed (none if nothing is).
    3. The moment the mail server has accepted it, mark it sent (one UPDATE, committed on
       its own), before the next one is claimed.

    An email the server refuses (or a connection that breaks) puts that delivery back with a
    back-off; the connection is opened again for the next. If the connection cannot be
    opened, the deliveries claimed after it are put back with the same error, not tried.
    A worker killed between 2 and 3 leaves that one delivery "sending" (sent again with the
    same Message-ID once its lease has run out), the ones before it sent, and the ones
    after it pending and unclaimed. At least once, never twice with different ids.
    """
    outcomes: list[tuple[int, str, int | None]] = []
    connection: Any = None
    unreachable: Exception | None = None
    try:
        for delivery_id in delivery_ids:
            claimed = _delivery_claim(delivery_id)
            if isinstance(claimed, str):
                outcomes.append((delivery_id, claimed, None))
                continue
            try:
                if unreachable is not None:
                    raise unreachable
                if connection is None:
                    connection = get_connection(fail_silently=False)
                    try:
                        connection.open()
                    except Exception as error:
                        unreachable = error
                        raise
                _send_on(connection, _delivery_email(claimed))
            except Exception as error:
                if connection is not None:
                    _close_quietly(connection)
                    connection = None
                outcome, retry_in = _attempt_failed(
                    pks=[claimed.pk], attempts=claimed.attempts, error=error, now=timezone.now()
                )
                outcomes.append((delivery_id, outcome, retry_in))
                continue
            Delivery.objects.filter(pk=claimed.pk).update(
                status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
            )
            outcomes.append((delivery_id, "sent", None))
    finally:
        if connection is not None:
            _close_quietly(connection)
    return outcomes


def delivery_attempt(*, delivery_id: int) -> tuple[str, int | None]:
    """Deliver one email, once (``deliveries_attempt`` for one). Returns (outcome,
    retry_in_seconds)."""
    ((_, outcome, retry_in),) = deliveries_attempt(delivery_ids=[delivery_id])
    return outcome, retry_in


def deliveries_resend_pending(
    *, older_than_seconds: int = 60, handed_over_before: dt.datetime | None = None, spread: int = 1, limit: int = 500
) -> int:
    """Hand over again every immediate delivery that stayed pending past its time, and every
    one left "sending" by a worker that died (its lease ran out) — but not one handed over
    since ``handed_over_before`` (by default ``HANDOVER_LEASE_SECONDS`` ago): its task waits
    in the queue or runs. A worker that has just (re)connected passes the moment it
    connected: what was handed over before may have been lost with the worker or the broker.
    Two re-sends running at once hand over different deliveries; ``spread``: in at least
    as many tasks (``deliveries_enqueue_batched``)."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=older_than_seconds)
    if handed_over_before is None:
        handed_over_before = now - dt.timedelta(seconds=HANDOVER_LEASE_SECONDS)
    with transaction.atomic():
        with database.cursor() as cursor:  # a mark lost in a crash only means a second hand-over
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff)
                | Q(status=DeliveryStatus.SENDING, next_attempt_at__lte=now),
                Q(handed_over_at__isnull=True) | Q(handed_over_at__lt=handed_over_before),
                digest=False,
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(handed_over_at=now)
    return deliveries_enqueue_batched(delivery_ids=ids, spread=spread)


def digest_send(*, user_id: int) -> int:
    """One email for all of a user's digest deliveries that are due. Returns how many it covered.

    Claimed, sent and marked like ``delivery_attempt``. Deliveries left "sending" by a worker
    that died go out again first and alone: the same deliveries, so the same Message-ID."""
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__recipient", "notification__organization")
            .filter(_claimable(now), notification__recipient_id=user_id, digest=True)
            .order_by("pk")
        )
        stuck = [d for d in candidates if d.status == DeliveryStatus.SENDING]
        due = stuck or candidates
        if not due:
            return 0
        attempts = max(d.attempts for d in due) + 1
        Delivery.objects.filter(pk__in=[d.pk for d in due]).update(
            status=DeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + dt.timedelta(seconds=SENDING_LEASE_SECONDS),
        )
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
    email = EmailMessage(
        subject, body, to=[recipient.email], headers={"Message-ID": message_id_for(kind="digest", key=digest_key(due))}
    )
    pks = [d.pk for d in due]
    try:
        connection = _send_accepted(email)
    except Exception as error:
        _attempt_failed(pks=pks, attempts=attempts, error=error, now=timezone.now())
        return 0
    Delivery.objects.filter(pk__in=pks).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
    _close_quietly(connection)
    return len(due)


def digest_user_ids_due() -> list[int]:
    return list(
        Delivery.objects.filter(_claimable(timezone.now()), digest=True)
        .values_list("notification__recipient_id", flat=True)
        .distinct()
    )


@transaction.atomic
def delivery_retry(*, delivery: Delivery, actor: User) -> Delivery:
    """An admin asks for a failed delivery to be tried again."""
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.failed_at = None
    delivery.next_attempt_at = delivery.handed_over_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "failed_at", "next_attempt_at", "handed_over_at"])
    pk = delivery.pk
    transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=[pk]))
    return delivery


@transaction.atomic
def notification_mark_read(
    *, user: User, notification_ids: Iterable[int] | None = None, link: str = "", everything: bool = False
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


def notifications_mark_read_for(
    *, user: User, subject: Subject, organization: Organization | None = None, link: str = ""
) -> int:
    """Acting on something marks what told about it read: the user's own notifications
    about ``subject`` (or, for those written before notifications named their subject,
    pointing at ``link``) — and, given the ``organization`` that acted (a referral
    accepted, a hand-off acknowledged, an occurrence closed: work its colleagues were told
    about too), every notification about it that opens at that organization. One UPDATE,
    in the caller's transaction. Returns how many."""
    subject_type, subject_id = subject_key(subject)
    about = Q(subject_type=subject_type, subject_id=subject_id)
    if link:
        about |= Q(subject_id__isnull=True, link=link)
    rows = Notification.objects.filter(about, read_at__isnull=True)
    if organization is not None:
        rows = rows.filter(Q(recipient=user) | Q(organization=organization))
    else:
        rows = rows.filter(recipient=user)
    return rows.update(read_at=timezone.now())


@transaction.atomic
def notification_mark_read_group(*, user: User, notification_id: int) -> int:
    """Mark one of the user's notifications read with every unread one about the same
    subject (the line the bell and the list show for them)."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        return 0
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification.subject_id is not None:
        rows = rows.filter(subject_type=notification.subject_type, subject_id=notification.subject_id)
    else:
        rows = rows.filter(pk=notification.pk)
    return rows.update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, user: User, choices: dict[str, str]) -> None:
    for kind, channel in choices.items():
        if kind not in Kind.values or channel not in Channel.values:
            from django.core.exceptions import ValidationError

            raise ValidationError({kind: f"Choose one of: {', '.join(Channel.values)}."})
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"channel": channel})
