"""The re-send's batches: one connection to the mail server for a batch, each delivery still
claimed, sent and marked on its own; and a pending delivery handed over to the worker once,
not again by every re-send that runs while its task waits."""

import datetime as dt
import email as email_parser
import socket

import pytest
from django.db import connection
from django.utils import timezone

from portal.notifications import services
from portal.notifications.models import Delivery, DeliveryStatus
from portal.notifications.tasks import deliveries_send
from tests.messaging.helpers import okafor_writes_park

PARK = "peter.park@maple.example"
NAVARRO = "nina.navarro@northfield.example"


@pytest.fixture
def smtp(settings, mail_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = mail_sink.host, mail_sink.port
    mail_sink.clear()
    yield mail_sink
    mail_sink.refused.clear()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _message_id(message) -> str:
    return email_parser.message_from_string(message["content"])["Message-ID"]


def _park_writes_northfield(cast):
    """A thread to Northfield's care team: deliveries to Okafor and Navarro."""
    from portal.messaging.services import Recipient, thread_start

    return thread_start(
        sender=cast.users["park"],
        organization=cast.organizations["maple"],
        subject="Fever at home",
        patient=cast.patients["maria"],
        recipients=[Recipient(organization=cast.organizations["northfield"])],
        body="To the Northfield care team.",
    )


def _statuses(pks):
    return dict(Delivery.objects.filter(pk__in=pks).values_list("pk", "status"))


def test_a_batch_goes_out_over_one_connection_each_email_with_its_own_message_id(cast, smtp):
    for n in range(4):
        okafor_writes_park(cast, subject=f"Labs {n}")
    deliveries = list(Delivery.objects.filter(notification__recipient=cast.users["park"]).order_by("pk"))
    pks = [d.pk for d in deliveries]
    assert deliveries_send(pks) == {"sent": 4}
    emails = smtp.to(PARK)
    assert len(emails) == 4
    assert len({m["peer"] for m in emails}) == 1  # one SMTP connection for the batch
    assert sorted(_message_id(m) for m in emails) == sorted(
        services.message_id_for(kind="delivery", key=d.uuid) for d in deliveries
    )
    assert all(d.status == DeliveryStatus.SENT and d.attempts == 1 for d in Delivery.objects.filter(pk__in=pks))
    # Handed over again, the batch sends nothing and opens no connection: with the mail
    # server gone, nothing fails.
    smtp_port, connection_port = smtp.port, _closed_port()
    from django.conf import settings

    settings.EMAIL_PORT = connection_port
    try:
        assert deliveries_send(pks) == {"done": 4}
    finally:
        settings.EMAIL_PORT = smtp_port
    assert len(smtp.to(PARK)) == 4


def test_each_email_of_a_batch_is_marked_sent_the_moment_the_mail_server_accepted_it(cast, smtp):
    for n in range(3):
        okafor_writes_park(cast, subject=f"Labs {n}")
    pks = list(
        Delivery.objects.filter(notification__recipient=cast.users["park"]).order_by("pk").values_list("pk", flat=True)
    )
    emails_at_each_mark: list[int] = []

    def watch_the_marks(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("UPDATE") and "notifications_delivery" in sql and DeliveryStatus.SENT in (params or ()):
            emails_at_each_mark.append(len(smtp.to(PARK)))
        return result

    with connection.execute_wrapper(watch_the_marks):
        assert deliveries_send(pks) == {"sent": 3}
    # Each mark followed its own email, before the next one was sent.
    assert emails_at_each_mark == [1, 2, 3]


def test_one_email_refused_in_a_batch_leaves_the_others_sent_and_itself_to_be_tried_again(cast, smtp):
    okafor_writes_park(cast, subject="One")
    _park_writes_northfield(cast)  # Okafor and Navarro
    okafor_writes_park(cast, subject="Two")
    pks = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert len(pks) == 4
    navarro = Delivery.objects.get(notification__recipient=cast.users["navarro"])
    smtp.refused.add(NAVARRO)
    outcomes = services.deliveries_attempt(delivery_ids=pks)
    assert [outcome for _, outcome, _ in outcomes] == ["retry" if pk == navarro.pk else "sent" for pk in pks]
    assert dict((pk, wait) for pk, outcome, wait in outcomes if outcome == "retry") == {
        navarro.pk: services.backoff_seconds(1)
    }
    assert len(smtp.to(PARK)) == 2 and len(smtp.to(cast.users["okafor"].email)) == 1 and smtp.to(NAVARRO) == []
    navarro.refresh_from_db()
    assert navarro.status == DeliveryStatus.PENDING and navarro.attempts == 1
    assert "SMTPRecipientsRefused" in navarro.last_error and navarro.next_attempt_at > timezone.now()
    assert set(_statuses([pk for pk in pks if pk != navarro.pk]).values()) == {DeliveryStatus.SENT}


def test_a_batch_with_the_mail_server_down_sends_nothing_and_leaves_every_delivery_to_be_tried_again(cast, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    for n in range(3):
        okafor_writes_park(cast, subject=f"Labs {n}")
    pks = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    outcomes = services.deliveries_attempt(delivery_ids=pks)
    assert [outcome for _, outcome, _ in outcomes] == ["retry", "retry", "retry"]
    for delivery in Delivery.objects.filter(pk__in=pks):
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        assert delivery.last_error and delivery.sent_at is None


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_sends_nothing_twice_with_another_id(cast, smtp):
    for n in range(4):
        okafor_writes_park(cast, subject=f"Labs {n}")
    pks = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    marks = 0

    def killed_at_the_second_mark(execute, sql, params, many, context):
        nonlocal marks
        if sql.startswith("UPDATE") and "notifications_delivery" in sql and DeliveryStatus.SENT in (params or ()):
            marks += 1
            if marks == 2:
                raise SystemExit("the worker is killed here")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(killed_at_the_second_mark), pytest.raises(SystemExit):
        deliveries_send(pks)
    first, second, *rest = pks
    assert _statuses(pks) == {
        first: DeliveryStatus.SENT,
        second: DeliveryStatus.SENDING,  # the mail server has it; the mark never happened
        **{pk: DeliveryStatus.PENDING for pk in rest},  # never claimed
    }
    assert len(smtp.to(PARK)) == 2
    # Handed over a moment ago (written with the notification): the periodic re-send leaves
    # them to the task that holds them, and the second to its lease.
    Delivery.objects.filter(pk__in=pks).update(next_attempt_at=timezone.now() - dt.timedelta(minutes=5))
    Delivery.objects.filter(pk=second).update(next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
    assert services.deliveries_resend_pending(older_than_seconds=0) == 0
    # The worker started again hands over, at its connection, all that was handed over
    # before it: the two never claimed go out once.
    assert services.deliveries_resend_pending(older_than_seconds=0, handed_over_before=timezone.now()) == 2
    assert deliveries_send(rest) == {"sent": 2}
    # Once its lease has run out, the second goes out again, with the same Message-ID.
    Delivery.objects.filter(pk=second).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert services.deliveries_resend_pending(older_than_seconds=0, handed_over_before=timezone.now()) == 1
    assert deliveries_send([second]) == {"sent": 1}
    ids = [_message_id(m) for m in smtp.to(PARK)]
    assert len(ids) == 5 and len(set(ids)) == 4
    second_id = services.message_id_for(kind="delivery", key=Delivery.objects.get(pk=second).uuid)
    assert ids.count(second_id) == 2
    assert set(_statuses(pks).values()) == {DeliveryStatus.SENT}


def test_a_pending_delivery_is_handed_over_once_not_again_by_each_re_send_while_its_task_waits(cast):
    okafor_writes_park(cast)
    delivery = Delivery.objects.get(notification__recipient=cast.users["park"])
    # Left pending by an outage: its hand-over failed, so it is not marked handed over.
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(minutes=5), handed_over_at=None
    )
    assert services.deliveries_resend_pending(older_than_seconds=0) == 1
    delivery.refresh_from_db()
    handed_over_at = delivery.handed_over_at
    assert handed_over_at is not None
    # The periodic re-send, and a worker that connected before that hand-over, skip it.
    assert services.deliveries_resend_pending(older_than_seconds=0) == 0
    assert services.deliveries_resend_pending(older_than_seconds=0, handed_over_before=handed_over_at) == 0
    # Its task lost (a worker that died with it): once the hand-over's lease has run out,
    # or at a worker's next connection, it is handed over again.
    assert services.deliveries_resend_pending(older_than_seconds=0, handed_over_before=timezone.now()) == 1
    Delivery.objects.filter(pk=delivery.pk).update(
        handed_over_at=timezone.now() - dt.timedelta(seconds=services.HANDOVER_LEASE_SECONDS + 1)
    )
    assert services.deliveries_resend_pending(older_than_seconds=0) == 1
    assert services.deliveries_resend_pending(older_than_seconds=0) == 0


def test_a_hand_over_that_fails_leaves_the_delivery_for_the_next_re_send_at_once(cast):
    from portal.celery import app

    okafor_writes_park(cast)
    delivery = Delivery.objects.get(notification__recipient=cast.users["park"])
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(minutes=5))
    original, original_pool, original_producers = app.conf.broker_url, app._pool, app.amqp._producer_pool
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    app._pool = app.amqp._producer_pool = None  # pools of their own for the unreachable broker
    try:
        assert services.deliveries_enqueue(delivery_ids=[delivery.pk]) == 0
        delivery.refresh_from_db()
        assert delivery.handed_over_at is None
        Delivery.objects.filter(pk=delivery.pk).update(handed_over_at=timezone.now())
        assert services.deliveries_resend_pending(older_than_seconds=0, handed_over_before=timezone.now()) == 0
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app._pool, app.amqp._producer_pool = original, original_pool, original_producers
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.handed_over_at is None
    assert services.deliveries_resend_pending(older_than_seconds=0) == 1
