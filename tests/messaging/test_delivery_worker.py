"""Delivery with a real Celery worker, a real Redis and a real SMTP server."""

import time
import uuid

import pytest

from portal.embedded import redis_start, redis_stop
from portal.messaging.models import Message, Thread
from portal.notifications import services
from portal.notifications.models import Delivery, DeliveryStatus, Notification
from tests.conftest import wait_for
from tests.messaging.helpers import okafor_writes_park

pytestmark = pytest.mark.worker


def _cleanup(*threads):
    for thread in threads:
        Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
        Thread.objects.filter(pk=thread.pk).delete()


def _emails_for(mail_sink, address, thread):
    return [m for m in mail_sink.to(address) if f"/messages/{thread.uuid}/" in m["content"]]


def test_okafor_to_park_about_maria_gives_one_email_and_one_notification(committed, celery_worker, mail_sink):
    cast = committed
    park = cast.users["park"]
    thread = okafor_writes_park(cast, subject=f"Labs {uuid.uuid4().hex[:6]}")
    later = None
    try:
        delivery = Delivery.objects.get(notification__link=f"/messages/{thread.uuid}/")
        wait_for(lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).exists())
        wait_for(lambda: _emails_for(mail_sink, park.email, thread))
        # The task sent again, twice, delivers nothing more.
        assert services.deliveries_enqueue(delivery_ids=[delivery.pk, delivery.pk]) == 2
        later = okafor_writes_park(cast, subject="A later thread")
        wait_for(lambda: _emails_for(mail_sink, park.email, later))
        time.sleep(1)
        (email,) = _emails_for(mail_sink, park.email, thread)
        assert "Maria" not in email["content"] and "Alvarez" not in email["content"]
        assert Notification.objects.filter(recipient=park, link=f"/messages/{thread.uuid}/").count() == 1
        assert Delivery.objects.get(pk=delivery.pk).attempts == 1
        assert not Notification.objects.filter(
            recipient=cast.users["okafor"], link=f"/messages/{thread.uuid}/"
        ).exists()
    finally:
        _cleanup(thread, *([later] if later else []))


@pytest.mark.serial
def test_redis_down_while_sending_then_back_delivers_every_notification_once(committed, celery_worker, mail_sink):
    cast = committed
    park, navarro = cast.users["park"], cast.users["navarro"]
    threads = []
    redis_stop()
    try:
        threads.append(okafor_writes_park(cast, subject="Sent while Redis is down"))
        from portal.messaging.services import Recipient, thread_start

        threads.append(
            thread_start(
                sender=park,
                organization=cast.organizations["maple"],
                subject="Also sent while Redis is down",
                patient=cast.patients["maria"],
                recipients=[Recipient(organization=cast.organizations["northfield"])],
                body="To the Northfield care team.",
            )
        )
        links = [f"/messages/{t.uuid}/" for t in threads]
        assert Message.objects.filter(thread__in=threads).count() == 2  # stored
        pending = Delivery.objects.filter(notification__link__in=links)
        assert pending.count() == 3  # Park; Okafor and Navarro through the pool
        assert set(pending.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    finally:
        redis_start()

    # Redis is back: the worker, connected again, or the periodic re-send (whichever comes
    # first: the other skips what it handed over) hands the pending deliveries over again.
    def all_sent() -> bool:
        services.deliveries_resend_pending(older_than_seconds=0)
        return not pending.exclude(status=DeliveryStatus.SENT).exists()

    wait_for(all_sent, timeout=60, interval=1)
    services.deliveries_resend_pending(older_than_seconds=0)  # nothing left to hand over
    time.sleep(1)
    try:
        assert len(_emails_for(mail_sink, park.email, threads[0])) == 1
        assert len(_emails_for(mail_sink, cast.users["okafor"].email, threads[1])) == 1
        assert len(_emails_for(mail_sink, navarro.email, threads[1])) == 1
        assert all(d.attempts == 1 for d in pending)
    finally:
        _cleanup(*threads)
