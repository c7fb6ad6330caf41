"""PostgreSQL down: a clear 503 (page, API, HTMX in place), nothing half-written, and the
portal serves again once it is back, without a restart.

The portal here runs on a PostgreSQL of the test's own (a copy of the test database in an
embedded server under .data/), so stopping it leaves the rest of the suite alone."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from portal import embedded
from tests.conftest import _process_env, _test_database_url, browser_sign_in, org_url
from tests.resilience.helpers import free_port, get, own_data_dir, postgres_copy, serve, stop

pytestmark = pytest.mark.browser

NOTICE = "Continuum is briefly unavailable; nothing you sent was lost."


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("messaging_message", "notifications_notification", "notifications_delivery")
        )


def okafor_writes_park(cast, subject: str):
    from portal.messaging.services import Recipient, thread_start

    maple = cast.organizations["maple"]
    return thread_start(
        sender=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        subject=subject,
        patient=cast.patients["maria"],
        recipients=[Recipient(organization=maple, user=cast.users["park"])],
        body="Please draw a CBC on Thursday.",
    )


def remove_thread(thread) -> None:
    from portal.notifications.models import Notification

    Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
    thread.delete()


def test_database_down_answers_503_everywhere_then_serves_again_with_nothing_half_written(
    django_db_setup, committed, page
):
    cast = committed
    subject = f"CBC after cycle 3 ({uuid.uuid4().hex[:6]})"
    thread = okafor_writes_park(cast, subject)
    with own_data_dir("test-pg-down") as folder:
        url = postgres_copy(folder, _test_database_url())
        remove_thread(thread)  # the copy has it
        port = free_port()
        server = serve({**_process_env(), "DATABASE_URL": url, "CELERY_QUEUE": "continuum-test-pg-down"}, port)
        try:
            browser_sign_in(page, str(port), "northfield", "olivia.okafor@northfield.example", database_url=url)
            page.goto(org_url(str(port), "northfield", "/messages/"))
            row = page.locator("tr", has_text=subject)
            row.get_by_text("Reply", exact=True).click()
            before = _counts(url)

            embedded.postgres_stop(folder)

            # HTMX: the quick reply shows the notice in place, on the page still open.
            row.get_by_role("textbox").fill("Sent while the database is down")
            row.get_by_role("button", name="Send reply").click()
            notice = page.locator("#portal-unavailable")
            notice.get_by_text(NOTICE).wait_for()
            page.screenshot(path=str(folder / "htmx.png"))
            # A page: 503 in the portal's look.
            response = page.goto(org_url(str(port), "northfield", "/messages/"))
            assert response.status == 503 and response.headers["retry-after"] == "30"
            assert page.get_by_role("heading", name=NOTICE).is_visible()
            assert page.locator("header .brand").is_visible()
            # The API: its JSON error shape.
            status, body, headers = get(port, "northfield.localhost", "/api/v1/threads/")
            assert status == 503 and headers["Content-Type"] == "application/json"
            assert set(json.loads(body)) == {"detail", "errors"} and NOTICE in json.loads(body)["detail"]
            # An address not yet routed (routing itself reads the database) and the sign-in page.
            assert get(port, "maple.localhost", "/accounts/login/")[0] == 503
            # Health: alive, not ready.
            status, body, _ = get(port, "unknown.example", "/healthz")
            assert status == 200 and json.loads(body) == {
                "status": "unavailable",
                "database": "unavailable",
                "redis": "ok",
            }
            assert get(port, "localhost", "/readyz")[0] == 503

            embedded.postgres_url(folder)

            # Back, on the same server processes, still signed in; nothing half-written.
            response = page.goto(org_url(str(port), "northfield", "/messages/"))
            assert response.status == 200
            assert page.locator("header .who", has_text="Okafor").is_visible()
            assert _counts(url) == before
            assert get(port, "localhost", "/readyz")[0] == 200
            row = page.locator("tr", has_text=subject)
            row.get_by_text("Reply", exact=True).click()
            row.get_by_role("textbox").fill("Sent once the database is back")
            row.get_by_role("button", name="Send reply").click()
            page.get_by_text("Reply sent").first.wait_for()
            messages, notifications, deliveries = _counts(url)
            assert messages == before[0] + 1 and notifications > before[1] and deliveries > before[2]
        finally:
            stop(server)
