"""FHIR bulk export benchmark: ``Patient/$export`` of more than 100,000 resources run by one
Celery worker (``--pool solo``: one process, one job), its time and its memory (RSS sampled
every 0.2 s while it runs), next to a plain one-query round trip timed in the same run.

Builds (once) a database of its own on the embedded PostgreSQL, ``continuum_fhir_export_bench``:
the demo cast and Maria Alvarez's record, then 1,000 patients cared for (and their records
shared) by Northfield and Maple, each with 48 published items from the two organizations
(the mix of the FHIR benchmark: labs, medications, problems, treatments, reports, notes,
diagnoses with stage and markers) — registry entries in the public schema, items in their
owner's schema — written with PostgreSQL ``COPY``. Maple's export of all of it is about
50,000 entries: 107,000 resources (each entry's resources and its Provenance, the Patients,
their care teams, the Organizations and Practitioners they name).

    PYTHONPATH=$PWD .venv/bin/python bench/fhir_export_bench.py [--rebuild] [--patients 1000] [--per-patient 48]

Goal (issue #16): 100,000 resources exported in under 60 s by one worker, memory flat. It
is not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "continuum_fhir_export_bench"
MARKER_MRN = "EXPORT-BENCH-0"


def bench_database_url(rebuild: bool) -> str:
    from bench.databases import own_database_url

    return own_database_url(BENCH_DB, rebuild=rebuild)


def build(patients: int, per_patient: int) -> Any:
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from bench.fhir_bench import KIND_WEIGHTS, _item_values
    from bench.record_data import GIVEN, _family, copy_rows
    from portal.demo.seed import cast_load, seed_foundation
    from portal.patients.access import VIEW_CHART, VIEW_SHARED, clinical_group_for
    from portal.patients.matching import normalize_name
    from portal.patients.models import (
        CareRelationship,
        EntryStatus,
        NetworkPatient,
        NetworkPatientGroupObjectPermission,
        PatientIdentifier,
        RegistryEntry,
    )
    from portal.records.demo import seed_maria
    from portal.records.kinds import describe
    from portal.records.models import ClinicalItem, ItemStatus

    call_command("migrate_schemas", verbosity=0)  # the organizations' schemas too: a reused database follows main
    if PatientIdentifier.objects.filter(mrn=MARKER_MRN).exists():
        print("benchmark data already there")
        return cast_load()
    started = time.monotonic()
    cast = seed_foundation()
    seed_maria(cast)
    orgs = cast.organizations
    owners = [(orgs["northfield"], cast.users["okafor"]), (orgs["maple"], cast.users["park"])]
    rng = random.Random(16)
    kinds = [kind for kind, weight in KIND_WEIGHTS for _ in range(weight)]
    now = timezone.now()
    permissions = {
        codename: Permission.objects.get(codename=codename, content_type__app_label="patients").pk
        for codename in (VIEW_CHART, VIEW_SHARED)
    }
    with transaction.atomic():
        before = NetworkPatient.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

        def patient_rows() -> Iterator[dict[str, Any]]:
            for _ in range(patients):
                given, family = rng.choice(GIVEN), _family(rng)
                yield {
                    "uuid": uuid.uuid4(),
                    "given_name": given,
                    "family_name": family,
                    "date_of_birth": dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 70)),
                    "sex": rng.choice(["female", "male"]),
                    "match_key": normalize_name(given, family),
                }

        copy_rows(NetworkPatient, patient_rows())
        ids = list(NetworkPatient.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True))
        copy_rows(
            PatientIdentifier,
            (
                {"patient_id": pid, "organization_id": org.pk, "mrn": MARKER_MRN if n == 0 else f"XB{org.pk}-{pid}"}
                for n, pid in enumerate(ids)
                for org, _ in owners
            ),
        )
        copy_rows(
            CareRelationship,
            (
                {
                    "patient_id": pid,
                    "organization_id": org.pk,
                    "kind": "care_team" if org == orgs["northfield"] else "pcp_of_record",
                    "starts_at": now - dt.timedelta(days=400),
                    "shares_record": True,
                    "clinician_id": user.pk,
                    "granted_by_id": user.pk,
                }
                for pid in ids
                for org, user in owners
            ),
        )
        groups = [clinical_group_for(org).pk for org, _ in owners]  # read before the COPY holds the connection
        copy_rows(
            NetworkPatientGroupObjectPermission,
            (
                {"permission_id": permission, "group_id": group, "content_object_id": pid}
                for pid in ids
                for group in groups
                for permission in permissions.values()
            ),
        )
        entries: list[dict[str, Any]] = []
        for index, (organization, author) in enumerate(owners):
            items = []
            for pid in ids:
                for n in range(per_patient // len(owners)):
                    kind = "cancer_diagnosis" if n == 0 and index == 0 else rng.choice(kinds)
                    when = now - dt.timedelta(days=rng.randrange(0, 1500), minutes=n)
                    values = _item_values(kind, n, rng, when.date().isoformat())
                    title, code, summary = describe(kind, values)
                    item_id = uuid.uuid4()
                    common = {"patient_id": pid, "kind": kind, "title": title, "code": code, "effective_at": when}
                    items.append(
                        {
                            **common,
                            "id": item_id,
                            "data": values,
                            "status": ItemStatus.PUBLISHED,
                            "author_id": author.pk,
                            "published_at": when,
                        }
                    )
                    entries.append(
                        {
                            **common,
                            "uuid": uuid.uuid4(),
                            "organization_id": organization.pk,
                            "summary": summary,
                            "item_uuid": item_id,
                            "status": EntryStatus.CURRENT,
                            "published_at": when,
                            "published_by_id": author.pk,
                        }
                    )
            copy_rows(ClinicalItem, items, schema=organization.schema_name)
        copy_rows(RegistryEntry, entries)
    print(f"built in {time.monotonic() - started:.1f} s: {patients} patients, {len(entries)} entries")
    return cast_load()


def start_worker(queue: str, export_root: str) -> subprocess.Popen[bytes]:
    from portal.celery import app

    env = os.environ.copy()
    env.update({"DEBUG": "false", "FHIR_EXPORT_ROOT": export_root, "CELERY_QUEUE": queue})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    name = f"export-bench-{uuid.uuid4().hex[:6]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "-n", f"{name}@%h",
         "--pool", "solo", "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(name in host for reply in app.control.ping(timeout=0.5) for host in reply):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the Celery worker did not start")
    return process


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """RSS of a process every ``interval`` s, with the job's progress at that moment."""

    def __init__(self, pid: int, job_pk: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.job_pk, self.interval = pid, job_pk, interval
        self.samples: list[tuple[float, float, int]] = []  # (seconds, RSS MB, entries done)
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from portal.fhir.models import ExportJob

        started = time.monotonic()
        while not self.stop.is_set():
            done = ExportJob.objects.filter(pk=self.job_pk).values_list("entries_done", flat=True).first() or 0
            self.samples.append((time.monotonic() - started, rss_mb(self.pid), done))
            time.sleep(self.interval)
        connection.close()


def one_query_ms(rounds: int = 300) -> float:
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(rounds):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--per-patient", type=int, default=48, help="entries per patient (half from each owner)")
    args = parser.parse_args()

    queue = f"continuum-export-bench-{uuid.uuid4().hex[:6]}"
    export_root = tempfile.mkdtemp(prefix="fhir-export-bench-")
    os.environ["DATABASE_URL"] = bench_database_url(args.rebuild)
    os.environ["CELERY_QUEUE"] = queue
    os.environ["FHIR_EXPORT_ROOT"] = export_root
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    import django

    django.setup()

    from portal.fhir.bulk.services import Principal, export_start
    from portal.fhir.models import ExportJob

    cast = build(args.patients, args.per_patient)
    worker = start_worker(queue, export_root)
    try:
        idle = rss_mb(worker.pid)
        baseline_before = one_query_ms()
        job = export_start(
            organization=cast.organizations["maple"],
            principal=Principal(user=cast.users["park"]),
            level="patient",
            types=None,
            since=None,
            request_url="http://maple.localhost/fhir/R4/Patient/$export",
        )
        sampler = Sampler(worker.pid, job.pk)
        sampler.start()
        started = time.monotonic()
        while True:
            job.refresh_from_db()
            if not job.active:
                break
            if time.monotonic() - started > 600:
                raise RuntimeError("the export did not end within 10 minutes")
            time.sleep(0.2)
        wall = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        baseline_after = one_query_ms()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert job.status == "completed", job.error
    resources = sum(part["count"] for part in job.output)
    size = sum(f.stat().st_size for f in Path(export_root).rglob("*.ndjson"))
    ran = (job.finished_at - job.transaction_time).total_seconds()
    baseline = statistics.median([baseline_before, baseline_after])
    print()
    print(f"Maple's Patient/$export: {job.patients_count} patients, {job.entries_total} entries")
    for part in job.output:
        print(f"  {part['type']:22} {part['count']:8}")
    print(f"  {'all':22} {resources:8}   ({size / 1e6:.0f} MB of NDJSON)")
    print(
        f"one worker (--pool solo, DEBUG off): {ran:.1f} s in the task ({wall:.1f} s from kick-off to completed), "
        f"{resources / ran:,.0f} resources/s"
    )
    per_thousand_ms = ran * 1000 / (resources / 1000)
    print(
        f"plain one-query round trip in the same run: {baseline:.3f} ms (before {baseline_before:.3f}, "
        f"after {baseline_after:.3f}); 1,000 resources exported cost {per_thousand_ms:.0f} ms = "
        f"{per_thousand_ms / baseline:,.0f}× one query"
    )
    samples = [s for s in sampler.samples if s[1] > 0]
    peak = max(rss for _, rss, _ in samples)
    print(f"worker RSS: idle {idle:.0f} MB, peak {peak:.0f} MB during the run; by progress:")
    total = max(job.entries_total, 1)
    for quarter in (0.1, 0.25, 0.5, 0.75, 1.0):
        at = next((s for s in samples if s[2] >= quarter * total), samples[-1])
        print(f"  {int(quarter * 100):3}% of entries ({at[2]:6} done, {at[0]:5.1f} s): {at[1]:6.0f} MB")
    print(f"goal: 100,000 resources under 60 s in one worker ({resources:,} in {ran:.1f} s), memory flat")
    for path in sorted(Path(export_root).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    Path(export_root).rmdir()
    ExportJob.objects.filter(pk=job.pk).delete()


if __name__ == "__main__":
    main()
