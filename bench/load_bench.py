"""Whole journeys under load: how many people this machine serves with every step's p95 under
500 ms.

On the shared record's benchmark database (``bench/record_bench.py``: 100,000 patients,
1,000,000 entries; ``--scale 10`` for ten times that), prepares load people — primary-care
doctors at Maple (each with a conversation from Dr. Okafor to reply to) and nurse navigators
at Northfield (each with referrals from Maple waiting) — all synthetic, signing in with
password and TOTP. Serves the portal with gunicorn as the image does and a Celery worker
(emails go to a local SMTP sink), then runs locust headless (``bench/locustfile.py``) at
rising numbers of simulated people, each level for ``--seconds``, and prints per step
p50/p95/p99 and requests per second, and the plain one-query view on the same server before
each level as the yardstick.

    PYTHONPATH=$PWD .venv/bin/python bench/load_bench.py [--users 10,20,40,80] [--seconds 60]

Needs the ``bench`` extras (``pip install -e '.[bench]'``: locust). Not part of the tests.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
P95_LIMIT_MS = 500.0
REFERRALS_PER_LEVEL = 15  # per navigator; each level of the ladder takes its own (locustfile.py)
WARM_UP_USERS = 8
LOAD_PATIENTS = 200  # the doctors' patients: charts, entries and searches are drawn from them


def published_results(*, author: Any, organization: Any, patients: list[Any]) -> dict[int, uuid.UUID]:
    """For each patient, the registry entry of a lab result ``author`` wrote and published at
    ``organization`` through the services a clinician uses (so the item is in the owner's
    schema and opening the entry reads it); reuses one published before. Patient id → entry
    uuid."""
    from django_tenants.utils import schema_context

    from portal.patients.models import EntryStatus, RegistryEntry
    from portal.records.models import ClinicalItem, ItemStatus
    from portal.records.services import item_create

    day = dt.date.today() - dt.timedelta(days=3)
    with schema_context(organization.schema_name):
        items = dict(
            ClinicalItem.objects.filter(
                patient__in=patients, author=author, kind="lab_result", status=ItemStatus.PUBLISHED
            ).values_list("patient_id", "pk")
        )
        for patient in patients:
            if patient.pk not in items:
                item = item_create(
                    user=author,
                    organization=organization,
                    patient=patient,
                    kind="lab_result",
                    values={
                        "effective_date": day.isoformat(),
                        "test": "Hemoglobin",
                        "loinc": "718-7",
                        "panel": "CBC",
                        "value": "13.1",
                        "unit": "g/dL",
                        "reference_low": "12.0",
                        "reference_high": "15.5",
                    },
                    publish=True,
                )
                items[patient.pk] = item.pk
    entries = dict(
        RegistryEntry.objects.filter(
            organization=organization, item_uuid__in=items.values(), status=EntryStatus.CURRENT
        ).values_list("item_uuid", "uuid")
    )
    return {patient_id: entries[item] for patient_id, item in items.items()}


def load_devices_reset() -> None:
    """Clear what earlier runs left on the load people's TOTP devices: failed codes
    (throttling) and the window django-otp moved before OTP_TOTP_SYNC was turned off."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user__email__startswith="load.").update(
        drift=0, throttling_failure_count=0, throttling_failure_timestamp=None
    )


def prepare(
    *, pcps: int, navigators: int, levels: int = 1, referrals_per_level: int = REFERRALS_PER_LEVEL
) -> dict[str, Any]:
    """The load people and what their day needs: the people and the doctors' published
    results are reused when there; each call writes new conversations and referrals."""
    from django.conf import settings
    from django.db import transaction

    from portal.accounts.models import Membership, User
    from portal.accounts.roles import MembershipStatus, Role
    from portal.care.models import Referral, ReferralState
    from portal.care.services import referral_create
    from portal.demo.cast import DEMO_PASSWORD
    from portal.demo.seed import _user, cast_load
    from portal.messaging.services import Recipient, thread_start
    from portal.notifications.models import Channel, Kind
    from portal.notifications.services import preferences_set
    from portal.patients.selectors import visible_patients

    cast = cast_load()
    maple, northfield, okafor, park = (
        cast.organizations["maple"],
        cast.organizations["northfield"],
        cast.users["okafor"],
        cast.users["park"],
    )

    def person(email: str, name: str, organization: Any, role: str) -> User:
        user = _user(email, name, "MD" if role == Role.PRIMARY_CARE_PHYSICIAN else "RN")
        Membership.objects.get_or_create(
            user=user,
            organization=organization,
            defaults={"role": role, "status": MembershipStatus.ACTIVE, "last_attested_at": dt.datetime.now(dt.UTC)},
        )
        return user

    sample = list(visible_patients(user=park, organization=maple).order_by("pk")[:LOAD_PATIENTS])
    entries = published_results(author=park, organization=maple, patients=sample)
    patients = [
        {"uuid": str(patient.uuid), "entry": str(entries[patient.pk]), "search": patient.family_name}
        for patient in sample
    ]
    plan: dict[str, Any] = {
        "password": DEMO_PASSWORD,
        "totp_key": settings.DEMO_TOTP_KEY,
        "pcp_host": f"maple.{settings.BASE_DOMAIN}",
        "navigator_host": f"northfield.{settings.BASE_DOMAIN}",
        "appointment_at": (dt.datetime.now() + dt.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
        "patients": patients,
        "pcps": [],
        "navigators": [],
    }
    with transaction.atomic():
        for n in range(pcps):
            user = person(f"load.pcp{n:03d}@maple.example", f"Load Doctor {n:03d}", maple, Role.PRIMARY_CARE_PHYSICIAN)
            thread = thread_start(
                sender=okafor,
                organization=northfield,
                subject=f"Load conversation {uuid.uuid4().hex[:6]}",
                recipients=[Recipient(organization=maple, user=user)],
                body="Could you see this patient's labs this week?",
            )
            plan["pcps"].append({"email": user.email, "thread": str(thread.uuid)})
        # Every referral to Northfield notifies each of its navigators: the load's hundreds
        # would otherwise queue thousands of emails for the worker to send while the levels
        # are measured. A navigator who receives many takes the daily digest (all of them
        # first, so that no referral below emails one of them).
        load_navigators = [
            person(f"load.nav{n:03d}@northfield.example", f"Load Navigator {n:03d}", northfield, Role.NURSE_NAVIGATOR)
            for n in range(navigators)
        ]
        for user in load_navigators:
            preferences_set(user=user, choices={Kind.REFERRAL: Channel.DIGEST})
        referrals_per_navigator = referrals_per_level * levels
        for n, user in enumerate(load_navigators):
            referrals = []
            for k in range(referrals_per_navigator):
                referral = referral_create(
                    user=park,
                    organization=maple,
                    patient=sample[(n * referrals_per_navigator + k) % len(sample)],
                    receiving_organization=northfield,
                    specialty="Medical oncology",
                    reason="Load benchmark referral",
                )
                referrals.append(str(referral.uuid))
            plan["navigators"].append({"email": user.email, "referrals": referrals})
    load_devices_reset()
    waiting = Referral.objects.filter(receiving_organization=northfield, state=ReferralState.REQUESTED).count()
    print(f"{pcps} doctors, {navigators} navigators, {waiting:,} referrals waiting at Northfield")
    plan["referrals_per_level"] = referrals_per_level
    return plan


def emails_owed(after: int) -> int:
    """Emails still to be sent right away among the deliveries written after id ``after``."""
    from portal.notifications.models import Delivery, DeliveryStatus

    return Delivery.objects.filter(
        pk__gt=after, digest=False, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).count()


def drain(after: int, *, timeout: float = 180.0) -> None:
    """Wait until the worker has sent the emails the preparation queued (the doctors'
    conversations), so that no level is measured against that backlog."""
    import time

    started = time.monotonic()
    owed = emails_owed(after)
    while owed and time.monotonic() - started < timeout:
        time.sleep(1)
        owed = emails_owed(after)
    print(f"the preparation's emails sent by the worker in {time.monotonic() - started:.0f} s ({owed} left)")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process and its descendants have used so far, the ones
    it has reaped included (a PostgreSQL backend that closed its connection)."""
    import psutil

    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        return 0.0
    return total


def children_cpu_seconds() -> float:
    """CPU time of this process's reaped children (the locust process of a level)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_level(
    *, users: int, seconds: int, port: int, plan_path: Path, out: Path, level: int
) -> dict[str, dict[str, float]]:
    prefix = out / f"level{level}-u{users}"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
        + ["-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--only-summary"]
        + ["--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--loglevel", "WARNING"],
        env={**os.environ, "LOAD_PLAN": str(plan_path), "LOAD_LEVEL": str(level), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    steps: dict[str, dict[str, float]] = {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                name = "all steps"
            else:
                name = row["Name"]
            steps[name] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
                "rps": float(row["Requests/s"]),
            }
    return steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="10,20,40,80", help="simulated people per level, rising")
    parser.add_argument("--seconds", type=int, default=60, help="length of each level")
    parser.add_argument("--scale", type=int, default=1, help="the record benchmark's data size")
    args = parser.parse_args()
    levels = [int(n) for n in args.users.split(",")]

    from bench.record_bench import IMAGE_WORKERS, bench_database_url, build, free_port, serve

    os.environ["DATABASE_URL"] = bench_database_url(args.scale)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.served_settings"
    os.environ.setdefault("CELERY_QUEUE", f"continuum-load-{uuid.uuid4().hex[:6]}")
    import django

    django.setup()
    from bench.httpload import run
    from bench.messaging_bench import Sink, start_worker
    from portal.celery import app

    # The worker and gunicorn take their queue from the environment: the one this process's
    # tasks (the preparation's emails) went to, not the one messaging_bench names on import.
    os.environ["CELERY_QUEUE"] = app.conf.task_default_queue

    build(patients=100_000 * args.scale, entries=1_000_000 * args.scale)
    from portal.notifications.models import Delivery

    top = max(levels)
    before = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # A quarter of the people are navigators (locustfile.py: weights 3 and 1); each level
    # takes its own referrals, about as many as a navigator gets through in it.
    plan = prepare(  # one more slice of referrals for the warm-up
        pcps=top, navigators=top // 4 + 1, levels=len(levels) + 1, referrals_per_level=max(5, args.seconds // 6)
    )
    out = Path(tempfile.mkdtemp(prefix="continuum-load-"))
    plan_path = out / "plan.json"
    plan_path.write_text(json.dumps(plan))

    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    worker = start_worker(smtp_port)
    port = free_port()
    server = serve(port, IMAGE_WORKERS, 1, settings_module="bench.served_settings")
    from django.db import connection

    database_pid = connection.cursor().connection.info.backend_pid
    import psutil

    postmaster = psutil.Process(database_pid).ppid()
    results: list[tuple[int, dict[str, dict[str, float]], float, float, dict[str, float]]] = []
    try:
        drain(before)
        connection.close()  # this process's own session stays out of the database's figure
        # Every page once in every gunicorn worker before anything is measured (a server that
        # has just started imports and compiles on its first requests; one in use has not).
        run_level(users=WARM_UP_USERS, seconds=15, port=port, plan_path=plan_path, out=out, level=len(levels))
        time.sleep(31)  # a TOTP code is accepted once: the first level's sign-ins wait for the next step
        for level, users in enumerate(levels):
            plain = run("plain", port, "/plain", host=plan["pcp_host"], cookie="", total=200, concurrency=2, warmup=10)
            load = os.getloadavg()[0]
            pids = {"web": server.pid, "worker": worker.pid, "database": postmaster}
            cpu = {name: cpu_seconds(pid) for name, pid in pids.items()} | {"locust": children_cpu_seconds()}
            steps = run_level(users=users, seconds=args.seconds, port=port, plan_path=plan_path, out=out, level=level)
            cpu = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()} | {
                "locust": children_cpu_seconds() - cpu["locust"]
            }
            results.append((users, steps, plain.percentile(0.95), load, cpu))
            worst = max((s["p95"] for name, s in steps.items() if name != "all steps"), default=0.0)
            print(
                f"{users:4d} people: {steps.get('all steps', {}).get('rps', 0):6.1f} req/s, worst step p95 {worst:.0f} ms"
                f" (machine load before: {load:.1f}, after: {os.getloadavg()[0]:.1f})"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        worker.terminate()
        worker.wait(timeout=30)
        controller.stop()

    print()
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    print(f"gunicorn {IMAGE_WORKERS} workers × 1 thread and one Celery worker; locust, {args.seconds} s per level")
    served = 0
    for users, steps, plain95, load, cpu in results:
        print(f"\n{users} simulated people (plain one-query view p95 {plain95:.1f} ms; 1-minute load {load:.1f}):")
        requests = steps.get("all steps", {}).get("requests", 0.0)
        served_cpu = cpu["web"] + cpu["worker"] + cpu["database"]
        if requests:
            print(
                f"  CPU used: gunicorn {cpu['web']:.1f} s, Celery worker {cpu['worker']:.1f} s, PostgreSQL "
                f"{cpu['database']:.1f} s, locust {cpu['locust']:.1f} s; {1000 * served_cpu / requests:.0f} ms "
                f"of the portal's CPU per request, so {len(os.sched_getaffinity(0)) * requests / served_cpu:.0f} "
                "requests/s on these cores with nothing else running"
            )
        print(f"  {'step':26} {'requests':>8} {'fail':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7}  p95 vs plain")
        for name, s in steps.items():
            print(
                f"  {name:26} {s['requests']:8.0f} {s['failures']:5.0f} {s['p50']:7.0f} {s['p95']:7.0f} "
                f"{s['p99']:7.0f} {s['rps']:7.1f}  {s['p95'] / plain95:6.1f}×"
            )
        steps_only = [s for name, s in steps.items() if name != "all steps"]
        if steps_only and all(s["p95"] < P95_LIMIT_MS and s["failures"] == 0 for s in steps_only):
            served = max(served, users)
    print(f"\nServed with every step's p95 under {P95_LIMIT_MS:.0f} ms and no failure: {served} simulated people")
    print(f"(locust's CSV files: {out})")


if __name__ == "__main__":
    main()
