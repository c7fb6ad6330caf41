"""Email held back by a Redis outage goes out within seconds of Redis answering again.

A real Celery worker (no beat: its periodic re-send plays no part) and gunicorn use a Redis
of the test's own; Dr. Okafor replies while it is down, and the email reaches Dr. Park's
mail server within 5 s of Redis being back. The worker tries the broker every second and
hands over what waited once it is connected again (portal/celery.py)."""

from __future__ import annotations

import http.client
import time
import uuid

import pytest
from celery import Celery

from portal import embedded
from tests.conftest import _process_env, host_of, wait_for
from tests.resilience.helpers import celery, free_port, own_data_dir, serve, stop
from tests.resilience.test_database_down import okafor_writes_park, remove_thread

pytestmark = pytest.mark.worker

CSRF = "redisbackcsrftoken" + "x" * 14  # a cookie's token: 32 letters


def reply(port: int, host: str, cookies: str, thread_uuid: uuid.UUID, body: str) -> int:
    """Okafor's quick reply from the inbox (an HTMX POST), as her browser sends it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(
            "POST",
            f"/messages/{thread_uuid}/reply/",
            body=f"from=inbox&body={body.replace(' ', '+')}".encode(),
            headers={
                "Host": host,
                "Cookie": f"{cookies}; csrftoken={CSRF}",
                "X-CSRFToken": CSRF,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_email_held_back_by_a_redis_outage_goes_out_within_5_s_of_redis_being_back(
    django_db_setup, committed, sign_in, mail_sink
):
    from portal.messaging.models import Message
    from portal.notifications.models import Delivery
    from portal.notifications.services import message_id_for

    cast = committed
    okafor, park, northfield = cast.users["okafor"], cast.users["park"], cast.organizations["northfield"]
    thread = okafor_writes_park(cast, f"Platelets before cycle 4 ({uuid.uuid4().hex[:6]})")
    client = sign_in(okafor, northfield)
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    worker = server = None
    with own_data_dir("test-redis-back") as folder:
        redis_url = embedded.redis_url(folder)
        broker_url = redis_url.replace("unix://", "redis+socket://", 1)
        queue = f"continuum-test-redis-back-{uuid.uuid4().hex[:6]}"
        env = {
            **_process_env(),
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": queue,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": mail_sink.host,
            "EMAIL_PORT": str(mail_sink.port),
        }
        try:
            name = f"redis-back-{uuid.uuid4().hex[:6]}"
            worker = celery(env, "worker", "-Q", queue, "-n", f"{name}@%h", "--pool", "threads", "-c", "2")
            port = free_port()
            server = serve(env, port)

            # An app of its own for the ping: the portal's publishes to the suite's Redis.
            control = Celery("redis-back", broker=broker_url).control
            try:
                wait_for(
                    lambda: any(name in host for answer in control.ping(timeout=0.5) for host in answer),
                    timeout=60,
                    interval=0.2,
                )
            finally:
                control.app.close()

            embedded.redis_stop(folder)
            assert reply(port, host_of(northfield), cookies, thread.uuid, "Sent while Redis is down") == 200
            stored = Message.objects.get(thread=thread, body="Sent while Redis is down")
            delivery = Delivery.objects.get(
                notification__recipient=park, notification__created_at__gte=stored.created_at, digest=False
            )
            assert delivery.status == "pending"
            # Redis stays away long enough for Celery's own back-off to reach 6 s between
            # attempts (2, 4, 6 … s): the worker would notice it only seconds after it is back.
            time.sleep(7)
            assert Delivery.objects.get(pk=delivery.pk).status == "pending"

            embedded.redis_start(folder)
            back = time.monotonic()

            message_id = message_id_for(kind="delivery", key=delivery.uuid)

            def emailed() -> list[dict[str, object]]:
                return [m for m in mail_sink.to(park.email) if message_id in str(m["content"])]

            wait_for(emailed, timeout=5, interval=0.05)
            assert time.monotonic() - back < 5
            time.sleep(1)  # a second email would arrive now
            (email,) = emailed()
            assert f"/messages/{thread.uuid}/" in str(email["content"])
            assert "Alvarez" not in str(email["content"])
            assert Delivery.objects.get(pk=delivery.pk).status == "sent"
            assert Delivery.objects.get(pk=delivery.pk).attempts == 1
        finally:
            stop(worker, server)
            remove_thread(thread)
