"""Redis down in the middle of a browser session: nobody is signed out, a reply is stored
with its email pending, and the periodic re-send delivers it once Redis is back.

The portal, its Celery worker and beat here use a Redis of the test's own (an embedded
redis-server under .data/), so stopping it leaves the rest of the suite alone."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid

import pytest

from portal import embedded
from portal.run import Supervisor
from tests.conftest import _process_env, browser_sign_in, org_url, wait_for
from tests.resilience.helpers import free_port, get, own_data_dir, serve, stop
from tests.resilience.test_database_down import okafor_writes_park, remove_thread

pytestmark = pytest.mark.browser


def supervise(supervisor: Supervisor, done: threading.Event) -> None:
    while not done.is_set():
        supervisor.poll()
        time.sleep(0.2)


def test_redis_down_signs_nobody_out_and_delays_email_until_it_is_back(django_db_setup, committed, page, mail_sink):
    from portal.messaging.models import Message
    from portal.notifications.models import Delivery

    cast = committed
    park = cast.users["park"]
    subject = f"Neutrophils on day 10 ({uuid.uuid4().hex[:6]})"
    thread = okafor_writes_park(cast, subject)
    link = f"/messages/{thread.uuid}/"
    server = supervisor = None
    done = threading.Event()
    with own_data_dir("test-redis-down") as folder:
        redis_url = embedded.redis_url(folder)
        env = {
            **_process_env(),
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": f"continuum-test-redis-down-{uuid.uuid4().hex[:6]}",
            "NOTIFICATIONS_RESEND_SECONDS": "2",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": mail_sink.host,
            "EMAIL_PORT": str(mail_sink.port),
        }
        try:
            port = free_port()
            server = serve(env, port)
            # The worker and beat under make run's supervisor, as they run (a Celery worker on a
            # Unix-socket Redis exits when Redis goes away; the supervisor starts it again).
            celery = [sys.executable, "-m", "celery", "-A", "portal"]
            supervisor = Supervisor(
                {
                    "worker": [*celery, "worker", "-Q", env["CELERY_QUEUE"], "--pool", "threads", "-c", "2"],
                    "beat": [*celery, "beat", "-l", "warning", "--schedule", str(folder / "celerybeat-schedule")],
                },
                backoff_start=0.5,
                env=env,
            )
            supervisor.start()
            threading.Thread(target=supervise, args=(supervisor, done), daemon=True).start()
            browser_sign_in(page, str(port), "northfield", "olivia.okafor@northfield.example")
            page.goto(org_url(str(port), "northfield", "/messages/"))
            # The thread's first message is emailed through this Redis, the worker and beat.
            wait_for(lambda: Delivery.objects.filter(notification__link=link, status="sent").exists(), timeout=60)

            embedded.redis_stop(folder)

            # The page goes on: pages, the bell's poll, a quick reply (HTMX).
            page.goto(org_url(str(port), "northfield", "/messages/"))
            assert page.locator("header .who", has_text="Okafor").is_visible()
            row = page.locator("tr", has_text=subject)
            row.get_by_text("Reply", exact=True).click()
            row.get_by_role("textbox").fill("Sent while Redis is down")
            row.get_by_role("button", name="Send reply").click()
            row.get_by_text("Reply sent.").wait_for()
            page.evaluate("htmx.ajax('GET', '/notifications/bell/', {target: '#bell', swap: 'outerHTML'})")  # its poll
            page.wait_for_load_state("networkidle")
            assert page.locator("#bell").is_visible() and "/accounts/" not in page.url
            bell = page.evaluate(
                "fetch('/notifications/bell/', {headers: {'HX-Request': 'true'}})"
                ".then(r => [r.status, r.headers.get('HX-Redirect')])"
            )
            assert bell == [200, None]
            status, body, _ = get(port, "localhost", "/readyz")
            assert status == 200 and json.loads(body) == {
                "status": "degraded",
                "database": "ok",
                "redis": "unavailable",
            }

            reply = Message.objects.get(thread=thread, body="Sent while Redis is down")
            delivery = Delivery.objects.get(notification__link=link, notification__created_at__gte=reply.created_at)
            assert delivery.status == "pending"
            emailed_before = len([m for m in mail_sink.to(park.email) if link in m["content"]])

            embedded.redis_start(folder)

            wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == "sent", timeout=60)
            wait_for(lambda: len([m for m in mail_sink.to(park.email) if link in m["content"]]) == emailed_before + 1)
            page.goto(org_url(str(port), "northfield", "/messages/"))
            assert page.locator("header .who", has_text="Okafor").is_visible()
            assert get(port, "localhost", "/readyz")[0] == 200
        finally:
            done.set()
            if supervisor is not None:
                supervisor.stop()
            stop(server)
            remove_thread(thread)
