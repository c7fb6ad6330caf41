"""Messaging benchmark: send → notified latency, sending through the web, inbox page time.

Runs against the development database (embedded PostgreSQL and Redis under .data/),
migrated and seeded (``manage.py migrate_schemas --shared && … --tenant && … seed_demo``).
Starts its own Celery worker on a queue of its own, with a real SMTP server (aiosmtpd)
in this process, and removes everything it wrote at the end. Everything shares this
machine's two cores: gunicorn (as the image runs it: 2 × cores + 1 processes), the Celery worker, PostgreSQL, Redis, the
SMTP sink and the HTTP clients.

1. send → in-app notification and → email delivered by the worker (service calls);
2. Park's inbox page with --inbox messages in 500 threads, alone, and a search of it;
3. Okafor's replies through gunicorn: as fast as --senders clients go (capacity), then
   paced at --rate a minute for --seconds while Park reads his inbox every half second
   (from a process of its own);
   then every email of those replies must be delivered.

    PYTHONPATH=$PWD .venv/bin/python bench/messaging_bench.py [--rate 1000] [--seconds 60] [--inbox 10000]

Targets (issue #4): send → in-app notification < 2 s at p95 with a running worker;
1,000 messages a minute sustained; the inbox page < 100 ms at p95 for a user with
10,000 messages.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
os.environ["CELERY_QUEUE"] = f"continuum-bench-{uuid.uuid4().hex[:6]}"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

PREFIX = "[bench]"


class Sink:
    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        content = envelope.content.decode("utf-8", "replace")
        for line in content.splitlines():
            if "/messages/" in line:
                with self.lock:
                    self.received.setdefault(line.strip().rsplit("/messages/", 1)[1].strip("/"), time.monotonic())
        return "250 OK"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)] if ordered else float("nan")


@dataclass
class Sent:
    per_minute: float
    p95: float
    errors: int


class Sender:
    """Okafor's quick replies from the inbox, as his browser sends them (an HTMX POST to
    ``/messages/<uuid>/reply/``), from --senders keep-alive connections at once."""

    def __init__(self, port: int, host: str, cookie: str, csrf: str, threads: list) -> None:
        self.port, self.threads = port, threads
        self.headers = {
            "Host": host,
            "Cookie": cookie,
            "X-CSRFToken": csrf,
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def send(self, *, total: int, senders: int, rate: int | None) -> Sent:
        """Send ``total`` replies; paced at ``rate`` a minute (message i is due at i/rate),
        or as fast as they go when ``rate`` is None."""
        lock = threading.Lock()
        latencies: list[float] = []
        errors = [0]
        next_index = [0]
        started = time.monotonic()

        def loop(n: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            path = f"/messages/{self.threads[n % len(self.threads)].uuid}/reply/"
            while True:
                with lock:
                    index = next_index[0]
                    next_index[0] += 1
                if index >= total:
                    break
                if rate:
                    delay = started + index * 60 / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                began = time.perf_counter()
                connection.request("POST", path, body=b"from=inbox&body=Sustained+reply", headers=self.headers)
                response = connection.getresponse()
                response.read()
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)
                    errors[0] += int(response.status != 200)
            connection.close()

        workers = [threading.Thread(target=loop, args=(n,)) for n in range(senders)]
        for each in workers:
            each.start()
        for each in workers:
            each.join()
        elapsed = time.monotonic() - started
        return Sent(per_minute=total / elapsed * 60, p95=p95(latencies), errors=errors[0])


def start_worker(port: int) -> subprocess.Popen:
    env = os.environ.copy()
    env.update(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        PYTHONPATH=str(BASE_DIR),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            os.environ["CELERY_QUEUE"],
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "-l",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-{uuid.uuid4().hex[:6]}@%h",
        ],
        env=env,
        cwd=BASE_DIR,
    )
    from portal.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError("worker did not start")
    return process


def main() -> None:
    from bench.record_bench import IMAGE_THREADS, IMAGE_WORKERS

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=int, default=100, help="messages for the latency measure")
    parser.add_argument("--messages", type=int, default=600, help="messages sent as fast as possible (capacity)")
    parser.add_argument("--senders", type=int, default=4, help="concurrent senders (HTTP clients)")
    parser.add_argument("--web-workers", type=int, default=IMAGE_WORKERS, help="gunicorn workers (the image's)")
    parser.add_argument("--web-threads", type=int, default=IMAGE_THREADS, help="threads per gunicorn worker")
    parser.add_argument("--rate", type=int, default=1000, help="messages a minute of the paced run")
    parser.add_argument("--seconds", type=int, default=60, help="length of the paced run")
    parser.add_argument("--inbox", type=int, default=10_000, help="messages in the inbox user's threads")
    args = parser.parse_args()

    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    from portal.demo.seed import seed_foundation
    from portal.messaging.models import Message, Participant, ReadState, Thread
    from portal.messaging.services import Recipient, message_reply, thread_start
    from portal.notifications.models import Delivery, Notification

    cast = seed_foundation()
    okafor, park = cast.users["okafor"], cast.users["park"]
    northfield, maple, maria = cast.organizations["northfield"], cast.organizations["maple"], cast.patients["maria"]

    def okafor_writes_park(subject: str) -> Thread:
        return thread_start(
            sender=okafor,
            organization=northfield,
            subject=f"{PREFIX} {subject}",
            patient=maria,
            recipients=[Recipient(organization=maple, user=park)],
            body="start",
        )

    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    worker = start_worker(port)
    results: dict[str, str] = {}
    try:
        # 1. Latency: message sent → in-app notification readable, and → email delivered by the worker.
        in_app, email = [], []
        thread = okafor_writes_park("latency")
        for _ in range(args.latency):
            started = time.monotonic()
            message = message_reply(thread=thread, sender=okafor, organization=northfield, body="bench")
            notification = Notification.objects.filter(recipient=park, link=f"/messages/{thread.uuid}/").latest("pk")
            in_app.append(time.monotonic() - started)
            delivery_id = Delivery.objects.get(notification=notification).pk
            while not Delivery.objects.filter(pk=delivery_id, status="sent").exists():
                time.sleep(0.005)
                if time.monotonic() - started > 30:
                    raise RuntimeError("delivery took over 30 s")
            email.append(time.monotonic() - started)
            assert message.pk
        results["send → in-app notification p95"] = f"{p95(in_app) * 1000:.1f} ms"
        results["send → email delivered by worker p95"] = (
            f"{p95(email) * 1000:.1f} ms (median {statistics.median(email) * 1000:.1f} ms)"
        )

        # 2. Park's inbox: --inbox messages in 500 threads (written in bulk).
        now = timezone.now()
        threads = Thread.objects.bulk_create(
            [
                Thread(
                    subject=f"{PREFIX} inbox {n}",
                    created_by=okafor,
                    organization=northfield,
                    patient=maria if n % 2 else None,
                    last_message_at=now,
                )
                for n in range(500)
            ]
        )
        Participant.objects.bulk_create(
            [
                Participant(thread=t, organization=o, user=u)
                for t in threads
                for (o, u) in ((northfield, okafor), (maple, park))
            ]
        )
        Message.objects.bulk_create(
            [
                Message(
                    thread=threads[n % 500],
                    sender=okafor if n % 3 else park,
                    sender_organization=northfield if n % 3 else maple,
                    body=f"Inbox message {n}",
                )
                for n in range(args.inbox)
            ],
            batch_size=2000,
        )
        ReadState.objects.bulk_create(
            [ReadState(thread=t, user=park, organization=maple, last_read_at=now) for t in threads[::2]]
        )
        connection.cursor().execute(
            "ANALYZE messaging_message; ANALYZE messaging_thread; ANALYZE messaging_participant; "
            "ANALYZE messaging_readstate"
        )
        # The threads the senders write to, Park's too (so his inbox grows while it is measured).
        sustained = [okafor_writes_park(f"sustained {n}") for n in range(args.senders)]
        links = [f"/messages/{t.uuid}/" for t in sustained]

        # Everything below goes through the real web stack: gunicorn (as the image), Park's and
        # Okafor's signed-in sessions (second factor verified), the worker delivering email.
        from bench.httpload import run, sample_every
        from bench.record_bench import free_port, serve, session_cookie

        connection.set_schema_to_public()
        park_cookie = session_cookie(park, maple)
        okafor_cookie = session_cookie(okafor, northfield)
        csrf = "benchcsrftoken" + "x" * 18  # the cookie and the header must agree
        web_port = free_port()
        server = serve(web_port, args.web_workers, args.web_threads)
        try:
            maple_host, northfield_host = f"maple.{settings.BASE_DOMAIN}", f"northfield.{settings.BASE_DOMAIN}"
            inbox = run(
                "inbox", web_port, "/messages/", host=maple_host, cookie=park_cookie, total=200, concurrency=1, warmup=5
            )
            searched = run(  # a search is a POST: its words never go in a URL
                "inbox search",
                web_port,
                "/messages/",
                host=maple_host,
                cookie=f"{park_cookie}; csrftoken={csrf}",
                total=100,
                concurrency=1,
                method="POST",
                body=b"q=message+42",
                extra_headers={"X-CSRFToken": csrf},
            )
            if inbox.errors or searched.errors:
                raise RuntimeError("the inbox answered with errors")
            count = Message.objects.filter(thread__participants__user=park).count()
            results[f"inbox page p95, alone ({count:,} messages)"] = (
                f"{inbox.percentile(0.95):.1f} ms (median {inbox.percentile(0.5):.1f} ms)"
            )
            results["inbox search p95, alone"] = (
                f"{searched.percentile(0.95):.1f} ms (median {searched.percentile(0.5):.1f} ms)"
            )

            # 3. Sending through the web: Okafor's quick replies from the inbox (HTMX POSTs),
            #    --senders at once. First as fast as they go (capacity), then paced at
            #    --rate a minute for --seconds while Park's inbox is read once every 0.5 s.
            sender = Sender(web_port, northfield_host, f"{okafor_cookie}; csrftoken={csrf}", csrf, sustained)
            capacity = sender.send(total=args.messages, senders=args.senders, rate=None)
            results[f"capacity, messages sent per minute ({args.senders} senders)"] = (
                f"{capacity.per_minute:,.0f} (reply p95 {capacity.p95:.0f} ms, {capacity.errors} errors)"
            )
            # Park's reads come from a process of their own: timed there, they measure the
            # server, not this process's interpreter lock (4 senders and the SMTP sink).
            spawn = multiprocessing.get_context("spawn")
            read_times = spawn.Queue()
            reader = spawn.Process(
                target=sample_every,
                args=(web_port, "/messages/"),
                kwargs={
                    "host": maple_host,
                    "cookie": park_cookie,
                    "interval": 0.5,
                    "seconds": args.seconds,
                    "out": read_times,
                },
            )
            reader.start()
            if read_times.get(timeout=60) != "ready":
                raise RuntimeError("the inbox reader did not start")
            paced = sender.send(total=round(args.rate * args.seconds / 60), senders=args.senders, rate=args.rate)
            reads, read_errors = read_times.get(timeout=args.seconds + 60)
            reader.join()
            pending = Delivery.objects.filter(notification__link__in=links).exclude(status="sent")
            drained = time.monotonic()
            while pending.exists() and time.monotonic() - drained < 300:
                time.sleep(0.2)
            delivered = Delivery.objects.filter(notification__link__in=links, status="sent").count()
            results[f"paced at {args.rate:,}/min for {args.seconds} s: sent per minute"] = (
                f"{paced.per_minute:,.0f} (reply p95 {paced.p95:.0f} ms, {paced.errors} errors)"
            )
            results["paced: emails delivered, left pending after the run"] = (
                f"{delivered:,} delivered, {pending.count()} pending "
                f"(the last {time.monotonic() - drained:.1f} s after sending stopped)"
            )
            results["paced: inbox page p95 while sending"] = (
                f"{p95(reads):.1f} ms (median {statistics.median(reads):.1f} ms, "
                f"{len(reads)} reads, {read_errors} errors)"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        connection.set_schema_to_public()
        bench_threads = Thread.objects.filter(subject__startswith=PREFIX)
        for uuid_value in bench_threads.values_list("uuid", flat=True):
            Notification.objects.filter(link=f"/messages/{uuid_value}/").delete()
        bench_threads.delete()
        worker.terminate()
        worker.wait(timeout=30)
        controller.stop()
    for key, value in results.items():
        print(f"{key:55} {value}")


if __name__ == "__main__":
    main()
