"""No email twice with different ids: every email of the outbox carries a Message-ID derived
from its delivery, a delivery sent again (a worker died between the mail server accepting it
and the mark) carries the same one, and a live worker's claim is never raced."""

import datetime as dt
import email as email_parser
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from portal.notifications import services
from portal.notifications.models import Delivery, DeliveryStatus
from portal.notifications.tasks import delivery_send, digests_send
from tests.conftest import wait_for
from tests.messaging.helpers import okafor_writes_park


@pytest.fixture
def smtp(settings, mail_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = mail_sink.host, mail_sink.port
    mail_sink.clear()
    return mail_sink


def _message_ids(sink, address, link=""):
    parsed = [email_parser.message_from_string(m["content"]) for m in sink.to(address)]
    return [p["Message-ID"] for p in parsed if link in p.get_payload()]


def _park_deliveries(cast):
    return list(Delivery.objects.filter(notification__recipient=cast.users["park"]).order_by("pk"))


def _as_left_by_a_dead_worker(delivery):
    """The state a worker killed after the mail server accepted the email, before the mark,
    leaves once the lease has run out (the delivery was handed over before it was claimed)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING,
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
        handed_over_at=timezone.now() - dt.timedelta(seconds=services.SENDING_LEASE_SECONDS + 1),
    )


def test_every_email_carries_a_message_id_derived_from_its_delivery_and_nothing_else(cast, smtp, settings):
    okafor_writes_park(cast, subject="Maria Alvarez ANC", body="Alvarez has neutropenia")
    okafor_writes_park(cast, subject="Second thread")
    first, second = _park_deliveries(cast)
    assert delivery_send(first.pk) == "sent" and delivery_send(second.pk) == "sent"
    ids = _message_ids(smtp, "peter.park@maple.example")
    assert sorted(ids) == sorted(
        [f"<delivery-{first.uuid}@{settings.BASE_DOMAIN}>", f"<delivery-{second.uuid}@{settings.BASE_DOMAIN}>"]
    )
    assert ids[0] != ids[1]
    assert not any(secret in "".join(ids) for secret in ("Maria", "Alvarez", "ANC", str(cast.patients["maria"].uuid)))


def test_a_delivery_sent_again_after_its_worker_died_carries_the_same_message_id(cast, smtp):
    okafor_writes_park(cast)
    (delivery,) = _park_deliveries(cast)
    assert delivery_send(delivery.pk) == "sent"
    _as_left_by_a_dead_worker(delivery)
    assert services.deliveries_resend_pending(older_than_seconds=60) == 1  # its lease ran out: handed over again
    assert delivery_send(delivery.pk) == "sent"
    first, again = _message_ids(smtp, "peter.park@maple.example")
    assert first == again == services.message_id_for(kind="delivery", key=delivery.uuid)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


def test_a_crash_right_after_the_mail_server_accepted_leaves_it_to_be_sent_again_with_the_same_id(cast, smtp):
    okafor_writes_park(cast)
    (delivery,) = _park_deliveries(cast)

    def crash_at_the_mark(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "notifications_delivery" in sql and DeliveryStatus.SENT in (params or ()):
            raise SystemExit("the worker is killed here")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(crash_at_the_mark), pytest.raises(SystemExit):
        delivery_send(delivery.pk)
    assert len(_message_ids(smtp, "peter.park@maple.example")) == 1  # the mail server has it
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING
    # While the lease runs, nobody sends it again (the worker might still be alive).
    assert services.deliveries_resend_pending(older_than_seconds=0) == 0
    assert delivery_send(delivery.pk) == "busy"
    assert len(_message_ids(smtp, "peter.park@maple.example")) == 1
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert delivery_send(delivery.pk) == "sent"
    first, again = _message_ids(smtp, "peter.park@maple.example")
    assert first == again == f"<delivery-{delivery.uuid}@localhost>"


def test_a_digest_sent_again_carries_the_same_message_id_and_another_digest_another(cast, smtp):
    park = cast.users["park"]
    services.preferences_set(user=park, choices={"message": "digest"})
    okafor_writes_park(cast, subject="One")
    okafor_writes_park(cast, subject="Two")
    due = Delivery.objects.filter(notification__recipient=park)
    due.update(next_attempt_at=timezone.now() - dt.timedelta(minutes=1))
    assert digests_send() == 2
    for delivery in due:
        _as_left_by_a_dead_worker(delivery)
    okafor_writes_park(cast, subject="Three")  # due too, but not part of the digest that was cut short
    Delivery.objects.filter(notification__recipient=park, status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert digests_send() == 3  # the same two again, then the third alone
    first, again, third = _message_ids(smtp, park.email)
    assert first == again and third != first
    assert first == services.message_id_for(kind="digest", key=services.digest_key(list(due)[:2]))
    assert set(Delivery.objects.filter(notification__recipient=park).values_list("status", flat=True)) == {"sent"}


@pytest.mark.worker
def test_the_worker_sends_a_delivery_again_with_the_same_message_id(committed, celery_worker, mail_sink):
    cast = committed
    park = cast.users["park"]
    threads = [okafor_writes_park(cast, subject=f"Labs {uuid.uuid4().hex[:6]}") for _ in range(2)]
    try:
        links = [f"/messages/{t.uuid}/" for t in threads]
        deliveries = [Delivery.objects.get(notification__link=link) for link in links]
        wait_for(lambda: all(len(_message_ids(mail_sink, park.email, link)) == 1 for link in links))
        wait_for(lambda: Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status="sent").count() == 2)
        _as_left_by_a_dead_worker(deliveries[0])
        assert services.deliveries_resend_pending(older_than_seconds=60) == 1
        wait_for(lambda: len(_message_ids(mail_sink, park.email, links[0])) == 2)
        wait_for(lambda: Delivery.objects.filter(pk=deliveries[0].pk, status="sent").exists())
        first, again = _message_ids(mail_sink, park.email, links[0])
        (other,) = _message_ids(mail_sink, park.email, links[1])
        assert first == again == f"<delivery-{deliveries[0].uuid}@localhost>"
        assert other == f"<delivery-{deliveries[1].uuid}@localhost>" != first
    finally:
        from portal.messaging.models import Thread
        from portal.notifications.models import Notification

        for thread in threads:
            Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
            Thread.objects.filter(pk=thread.pk).delete()
