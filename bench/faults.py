"""Fault suite: Redis, the worker and PostgreSQL killed in turn while Dr. Okafor replies.

Runs by hand, never in the test suite (it takes about five minutes):

    PYTHONPATH=$PWD .venv/bin/python bench/faults.py [--down 20] [--rate 2]

Everything runs on servers of its own: an embedded PostgreSQL and Redis under
``.data/faults/`` (created, migrated and seeded on the first run), gunicorn as the image
runs it, a Celery worker and beat (re-send of pending deliveries every
``NOTIFICATIONS_RESEND_SECONDS``, 5 s), and a real SMTP server in this process.
Dr. Okafor's signed-in browser session sends quick replies (HTMX POSTs) to Dr. Park at
``--rate`` a second, and polls the bell every 2 s; each fault gets a conversation of its
own. Per fault: the part runs for 10 s, is killed (Redis: ``SHUTDOWN NOSAVE``-like stop;
the worker: ``kill -9``; the worker and beat run under ``make run``'s supervisor, which
starts them again; PostgreSQL:
an immediate stop), stays down ``--down`` seconds, is started again, and traffic goes on
for 20 s. Then every email must arrive.

Printed per fault: replies sent, answered 200 (``ok``), refused with a 503 while the
database was down, stored, notified (in-app), emailed, duplicated (emails beyond one per
delivery), lost (answered 200 but not stored, or stored and never emailed), signed out (a
request sent to the sign-in page), other 5xx, seconds from the part being back to the
first stored reply (web recovery), until the first email held back by the outage is out,
and until every one is (email recovery). ``--celery-log info`` shows the worker's and beat's
own lines (reconnection, tasks received) with the times the part was killed and back.

Goal (issue #14): 0 lost, 0 duplicated, 0 signed out, no 5xx outside the database
outage, recovery under 5 s after the part is back.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ["CONTINUUM_DATA_DIR"] = str(BASE_DIR / ".data" / "faults")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
os.environ["CELERY_QUEUE"] = f"continuum-faults-{uuid.uuid4().hex[:6]}"
os.environ["DEBUG"] = "false"

import django  # noqa: E402

from portal import embedded  # noqa: E402

embedded.ensure_environment()
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Min  # noqa: E402
from django.utils import timezone  # noqa: E402

PREFIX = "[faults]"


def _clock() -> str:
    """Wall-clock time as Celery's log lines show it, to line them up with the outage."""
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f",{int(now * 1000) % 1000:03d}"


class Sink:
    """The SMTP server: counts emails per conversation link."""

    def __init__(self) -> None:
        self.per_link: dict[str, int] = {}
        self.last_at: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        content = envelope.content.decode("utf-8", "replace")
        for line in content.splitlines():
            if "/messages/" in line:
                link = "/messages/" + line.strip().rsplit("/messages/", 1)[1].strip("/") + "/"
                with self.lock:
                    self.per_link[link] = self.per_link.get(link, 0) + 1
                    self.last_at[link] = time.monotonic()
                break
        return "250 OK"


@dataclass
class Traffic:
    sent: int = 0
    ok: int = 0
    refused_503: int = 0
    other_5xx: int = 0
    signed_out: int = 0
    errors: int = 0
    first_ok_after: dict[float, float] = field(default_factory=dict)
    ok_times: list[float] = field(default_factory=list)


class Okafor:
    """Dr. Okafor's browser: quick replies at ``rate`` a second, the bell every 2 s."""

    def __init__(self, port: int, host: str, cookie: str, csrf: str) -> None:
        self.port = port
        self.headers = {
            "Host": host,
            "Cookie": f"{cookie}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "HX-Request": "true",
        }

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            headers = dict(self.headers)
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()

    @staticmethod
    def _signed_out(status: int, headers: dict[str, str]) -> bool:
        target = headers.get("hx-redirect", "") + headers.get("location", "")
        return "/accounts/login/" in target or (status in (301, 302) and "/accounts/" in target)

    def run(self, thread_uuid: str, seconds: float, rate: float, traffic: Traffic) -> None:
        started = time.monotonic()
        n = 0
        next_bell = started
        while time.monotonic() - started < seconds:
            due = started + n / rate
            if time.monotonic() < due:
                time.sleep(due - time.monotonic())
            n += 1
            traffic.sent += 1
            try:
                status, headers = self._request(
                    "POST", f"/messages/{thread_uuid}/reply/", f"from=inbox&body=Fault+reply+{n}".encode()
                )
            except OSError:
                traffic.errors += 1
                continue
            if self._signed_out(status, headers):
                traffic.signed_out += 1
            elif status == 200:
                traffic.ok += 1
                traffic.ok_times.append(time.monotonic())
            elif status == 503:
                traffic.refused_503 += 1
            elif status >= 500:
                traffic.other_5xx += 1
            else:
                traffic.errors += 1
            if time.monotonic() >= next_bell:
                next_bell += 2
                try:
                    status, headers = self._request("GET", "/notifications/bell/")
                    if self._signed_out(status, headers):
                        traffic.signed_out += 1
                    elif status >= 500 and status != 503:
                        traffic.other_5xx += 1
                except OSError:
                    traffic.errors += 1


def start_worker(smtp_port: int) -> subprocess.Popen:
    queue = os.environ["CELERY_QUEUE"]
    from bench.messaging_bench import start_worker as start  # its import names a queue of its own

    os.environ["CELERY_QUEUE"] = queue
    return start(smtp_port)


def prepare() -> None:
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate_schemas", "--shared", "-v", "0"], check=True)
    subprocess.run([*manage, "migrate_stale"], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--down", type=float, default=20.0, help="seconds each part stays down")
    parser.add_argument("--rate", type=float, default=2.0, help="replies a second")
    parser.add_argument("--only", choices=["redis", "worker", "postgres"], action="append")
    parser.add_argument(
        "--celery-log", default="error", help="the worker's and beat's log level (info shows each stage)"
    )
    args = parser.parse_args()

    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    prepare()
    from bench.record_bench import free_port, serve, session_cookie
    from portal.demo.seed import seed_foundation
    from portal.messaging.models import Message, Thread
    from portal.messaging.services import Recipient, thread_start
    from portal.notifications.models import Delivery, Notification

    cast = seed_foundation()
    okafor, park = cast.users["okafor"], cast.users["park"]
    northfield, maple, maria = cast.organizations["northfield"], cast.organizations["maple"], cast.patients["maria"]

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    os.environ.update(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1")
    os.environ["EMAIL_PORT"] = str(smtp_port)
    web_port = free_port()
    server = serve(web_port)
    # The worker and beat under make run's supervisor: one that dies is started again with a
    # back-off (a Celery worker on a Unix-socket Redis exits when Redis goes away).
    from portal.run import Supervisor

    worker = start_worker(smtp_port)  # waits until it answers
    worker.terminate()
    worker.wait()
    schedule = Path(os.environ["CONTINUUM_DATA_DIR"]) / "celerybeat-schedule"
    schedule.unlink(missing_ok=True)
    celery = [sys.executable, "-m", "celery", "-A", "portal"]
    supervisor = Supervisor(
        {
            "worker": [
                *celery,
                "worker",
                "-Q",
                os.environ["CELERY_QUEUE"],
                "--pool",
                "threads",
                "-c",
                "4",
                "-l",
                args.celery_log,
                "--without-mingle",
            ],
            "beat": [*celery, "beat", "-l", args.celery_log, "--schedule", str(schedule)],
        },
        say=lambda line: print(f"  supervisor: {line}", flush=True),
    )
    os.environ["PYTHONPATH"] = str(BASE_DIR)
    supervisor.start()
    supervising = threading.Event()

    def supervise() -> None:
        while not supervising.is_set():
            supervisor.poll()
            time.sleep(0.2)

    threading.Thread(target=supervise, daemon=True).start()
    # The faults start once the worker consumes (a worker still starting when Redis is
    # stopped would time its start-up, not its recovery).
    from portal.celery import app as celery_app

    deadline = time.monotonic() + 120
    while not celery_app.control.ping(timeout=0.5) and time.monotonic() < deadline:
        time.sleep(0.5)
    connection.set_schema_to_public()
    csrf = "faultscsrftoken" + "x" * 17
    okafor_browser = Okafor(web_port, f"northfield.{settings.BASE_DOMAIN}", session_cookie(okafor, northfield), csrf)

    def kill(part: str) -> None:
        if part == "redis":
            embedded.redis_stop()
        elif part == "worker":
            os.kill(supervisor.processes["worker"].pid, signal.SIGKILL)  # the supervisor starts it again
        else:
            embedded.postgres_stop(mode="immediate")

    def revive(part: str) -> None:
        if part == "redis":
            embedded.redis_start()
        elif part == "worker":
            pass
        else:
            embedded.postgres_url()

    rows = []
    threads: list[Thread] = []
    try:
        for part in args.only or ["redis", "worker", "postgres"]:
            connection.close()
            thread = thread_start(
                sender=okafor,
                organization=northfield,
                subject=f"{PREFIX} {part} {uuid.uuid4().hex[:6]}",
                patient=maria,
                recipients=[Recipient(organization=maple, user=park)],
                body="start",
            )
            threads.append(thread)
            link = f"/messages/{thread.uuid}/"
            traffic = Traffic()
            total = 10 + args.down + 20
            sender = threading.Thread(
                target=okafor_browser.run, args=(str(thread.uuid), total, args.rate, traffic), daemon=True
            )
            sender.start()
            time.sleep(10)
            print(f"{part}: killed at {_clock()}", flush=True)
            kill(part)
            time.sleep(args.down)
            revive(part)
            back = time.monotonic()
            back_at = timezone.now()
            print(f"{part}: back at {_clock()}", flush=True)
            # Email recovery: until every email held back by the outage is out (the replies
            # keep coming for a while after the part is back; those are not the backlog).
            connection.close()
            backlog: list[int] = []
            while time.monotonic() - back < 30:
                try:
                    backlog = list(
                        Delivery.objects.filter(notification__link=link, digest=False)
                        .exclude(status="sent")
                        .values_list("pk", flat=True)
                    )
                    break
                except Exception:  # the database may take a moment to answer again  # noqa: BLE001
                    connection.close()
                    time.sleep(0.2)
            while Delivery.objects.filter(pk__in=backlog).exclude(status="sent").exists():
                if time.monotonic() - back > 180:
                    break
                time.sleep(0.2)
            backlog_cleared = time.monotonic() - back
            first_out = Delivery.objects.filter(pk__in=backlog).aggregate(first=Min("sent_at"))["first"]
            sender.join()
            # Every email of the phase must arrive (the re-send every NOTIFICATIONS_RESEND_SECONDS).
            connection.close()
            deliveries = Delivery.objects.filter(notification__link=link, digest=False)
            deadline = time.monotonic() + 180
            while deliveries.exclude(status="sent").exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(2)  # a duplicate would arrive now
            stored = Message.objects.filter(thread=thread, body__startswith="Fault reply").count()
            notified = Notification.objects.filter(link=link).count() - 1  # the first message's
            sent_deliveries = deliveries.filter(status="sent").count()
            emails = sink.per_link.get(link, 0)
            first_ok = next((t for t in traffic.ok_times if t >= back), None)
            rows.append(
                {
                    "fault": part,
                    "sent": traffic.sent,
                    "ok": traffic.ok,
                    "503": traffic.refused_503,
                    "stored": stored,
                    "notified": notified,
                    "emailed": emails,
                    "duplicated": max(0, emails - sent_deliveries),
                    "lost": max(0, traffic.ok - stored) + deliveries.exclude(status="sent").count(),
                    "signed out": traffic.signed_out,
                    "other 5xx": traffic.other_5xx,
                    "web recovery s": f"{first_ok - back:.1f}" if first_ok else "—",
                    "first held-back email out s": f"{(first_out - back_at).total_seconds():.1f}" if first_out else "—",
                    "email recovery s": f"{backlog_cleared:.1f}",
                    "held back": len(backlog),
                }
            )
            print(rows[-1], flush=True)
    finally:
        supervising.set()
        supervisor.stop()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        controller.stop()
        embedded.redis_url()
        embedded.postgres_url()
        connection.close()
        for thread in threads:
            Notification.objects.filter(link=f"/messages/{thread.uuid}/").delete()
            thread.delete()
    headers = list(rows[0]) if rows else []
    print()
    print("| " + " | ".join(headers) + " |")
    print("|" + " --- |" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")


if __name__ == "__main__":
    main()
