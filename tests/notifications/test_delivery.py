"""Email deliveries: preferences, digest, urgent, idempotent sending to a real SMTP
server, back-off, failure shown to the organization admin."""

import datetime as dt
import socket

import pytest
from django.utils import timezone

from portal.notifications import services
from portal.notifications.models import Delivery, DeliveryStatus, Notification
from portal.notifications.tasks import delivery_send, digests_send
from tests.messaging.helpers import okafor_writes_park


@pytest.fixture
def smtp(settings, mail_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = mail_sink.host, mail_sink.port
    mail_sink.clear()
    return mail_sink


def _park_delivery(cast):
    return Delivery.objects.get(notification__recipient=cast.users["park"])


def test_the_delivery_task_run_twice_delivers_once(cast, smtp):
    okafor_writes_park(cast)
    delivery = _park_delivery(cast)
    assert delivery_send(delivery.pk) == "sent"
    assert delivery_send(delivery.pk) == "done"
    emails = smtp.to("peter.park@maple.example")
    assert len(emails) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


def test_the_email_says_something_is_waiting_without_clinical_details(cast, smtp):
    thread = okafor_writes_park(cast, subject="Maria Alvarez ANC", body="Alvarez has neutropenia")
    delivery_send(_park_delivery(cast).pk)
    (email,) = smtp.to("peter.park@maple.example")
    text = email["content"]
    for secret in ("Maria", "Alvarez", "ANC", "neutropenia", "Okafor"):
        assert secret not in text
    assert "new secure message" in text
    assert f"http://maple.localhost/messages/{thread.uuid}/" in text


def test_in_app_only_writes_no_email_and_urgent_always_goes_out(cast):
    park = cast.users["park"]
    services.preferences_set(user=park, choices={"message": "in_app"})
    okafor_writes_park(cast, subject="Routine")
    assert Notification.objects.filter(recipient=park).count() == 1
    assert not Delivery.objects.filter(notification__recipient=park).exists()
    okafor_writes_park(cast, subject="Fever", urgent=True)
    urgent = Delivery.objects.get(notification__recipient=park)
    assert urgent.digest is False and urgent.notification.urgent


def test_digest_waits_for_the_daily_digest_and_sends_one_email(cast, smtp):
    park = cast.users["park"]
    services.preferences_set(user=park, choices={"message": "digest"})
    okafor_writes_park(cast, subject="One")
    okafor_writes_park(cast, subject="Two")
    deliveries = Delivery.objects.filter(notification__recipient=park)
    assert deliveries.count() == 2 and all(d.digest and d.next_attempt_at > timezone.now() for d in deliveries)
    assert digests_send() == 0 and smtp.to(park.email) == []
    deliveries.update(next_attempt_at=timezone.now() - dt.timedelta(minutes=1))
    assert digests_send() == 2
    assert digests_send() == 0
    (email,) = smtp.to(park.email)
    assert "2 items" in email["content"] and "Alvarez" not in email["content"]


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failing_delivery_backs_off_then_fails_and_the_admin_sees_it(cast, settings, sign_in, anonymous):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    okafor_writes_park(cast)
    delivery = _park_delivery(cast)
    waits = []
    for _ in range(services.MAX_ATTEMPTS):
        outcome, wait = services.delivery_attempt(delivery_id=delivery.pk)
        if outcome == "failed":
            break
        assert outcome == "retry"
        waits.append(wait)
        assert services.delivery_attempt(delivery_id=delivery.pk)[0] == "not_due"
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert waits == sorted(waits) and waits[0] < waits[-1]  # backs off
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == services.MAX_ATTEMPTS
    maple = cast.organizations["maple"]
    assert anonymous(maple).get("/notifications/deliveries/").status_code == 302
    assert sign_in(cast.users["northfield_admin"], maple).get("/notifications/deliveries/").status_code == 302
    assert sign_in(cast.users["park"], maple).get("/notifications/deliveries/").status_code == 403
    other_admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    assert "peter.park@maple.example" not in other_admin.get("/notifications/deliveries/").content.decode()
    admin = sign_in(cast.users["maple_admin"], maple)
    page = admin.get("/notifications/deliveries/")
    assert page.status_code == 200 and "peter.park@maple.example" in page.content.decode()
    assert other_admin.post(f"/notifications/deliveries/{delivery.pk}/retry/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert admin.post(f"/notifications/deliveries/{delivery.pk}/retry/").status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0


def test_resend_hands_over_only_overdue_immediate_deliveries(cast):
    okafor_writes_park(cast)
    delivery = _park_delivery(cast)
    assert services.deliveries_resend_pending(older_than_seconds=60) == 0
    # Due five minutes ago, handed over as long ago (its task lost): handed over again, once.
    five_minutes_ago = timezone.now() - dt.timedelta(minutes=5)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=five_minutes_ago, handed_over_at=five_minutes_ago)
    assert services.deliveries_resend_pending(older_than_seconds=60) == 1
    assert services.deliveries_resend_pending(older_than_seconds=60) == 0


def test_the_broker_being_unreachable_never_raises_and_leaves_the_delivery_pending(cast, settings):
    from portal.celery import app

    okafor_writes_park(cast)
    delivery = _park_delivery(cast)
    original, original_pool, original_producers = app.conf.broker_url, app._pool, app.amqp._producer_pool
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    app._pool = app.amqp._producer_pool = None  # pools of their own for the unreachable broker
    try:
        assert services.deliveries_enqueue(delivery_ids=[delivery.pk]) == 0
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app._pool, app.amqp._producer_pool = original, original_pool, original_producers
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
