"""FHIR benchmark: ``Patient/$everything`` and a ``_count=100`` search page through the real
web stack, each next to a plain one-query view served by the same server in the same run.

Builds (once) a database of its own on the embedded PostgreSQL, ``continuum_fhir_bench``:
the demo cast and Maria Alvarez's record, and one more patient, Bench Patient, cared for by
Northfield, Maple and Lakeside, with 1,000 published items (labs, diagnoses with stage and
markers, treatments, medications, problems, allergies, reports, notes, discharges) from the
three organizations — each a registry entry in the public schema and an item in its owner's
schema, as publishing writes them. Then serves it with gunicorn (as the image does: 2 ×
cores + 1 processes of one thread) and measures, signed in as Dr. Peter Park at Maple:

* ``GET /healthz`` at Maple's address: one query (``SELECT 1``) behind the same routing and
  middleware — the baseline every figure is divided by (each route runs in five rounds with
  the plain view measured before each round, and is divided by those: the machine's load
  changes within a run; each route is first requested four times per worker, so that every
  worker has mapped the record once, as in a server in use);
* ``GET /fhir/R4/Patient/<id>/$everything`` (all of it: ~2,000 resources);
* ``GET /fhir/R4/Observation?patient=<id>&_count=100`` (the first page of ~700 matches),
  and the sixth page, reached by following the next links (their ``_cursor``);
* ``GET /fhir/R4/Patient/<id>/$everything?_count=100``.

    PYTHONPATH=$PWD .venv/bin/python bench/fhir_bench.py [--requests 100] [--concurrency 2] [--rebuild]

Goals (issue #16): $everything p95 < 300 ms, a ``_count=100`` page p95 < 100 ms. It is not
part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "continuum_fhir_bench"
ENTRIES = 1000
BENCH_MRN = "MFM-BENCH-1"


def bench_database_url(rebuild: bool) -> str:
    from bench.databases import own_database_url

    return own_database_url(BENCH_DB, rebuild=rebuild)


def _item_values(kind: str, n: int, rng: random.Random, day: str) -> dict[str, Any]:
    """Values of the shape each kind's form keeps (``portal.records.kinds``)."""
    if kind == "lab_result":
        test, loinc, unit, low, high = rng.choice(
            [
                ("Hemoglobin", "718-7", "g/dL", "12.0", "15.5"),
                ("White blood cells", "6690-2", "10^3/uL", "4.0", "11.0"),
                ("Platelets", "777-3", "10^3/uL", "150", "400"),
                ("Creatinine", "2160-0", "mg/dL", "0.6", "1.1"),
                ("Potassium", "2823-3", "mmol/L", "3.5", "5.1"),
            ]
        )
        value = round(float(low) * rng.uniform(0.7, 1.6), 1)
        return {"test": test, "loinc": loinc, "panel": "CBC", "value": str(value), "unit": unit,
                "reference_low": low, "reference_high": high}  # fmt: skip
    if kind == "cancer_diagnosis":
        return {"condition": "Invasive ductal carcinoma of left breast", "icd10": "C50.212", "role": "primary",
                "histology": "Invasive ductal carcinoma, grade 2", "stage_t": "2", "stage_n": "1", "stage_m": "0",
                "stage_group": "IIB", "staging_date": day, "er": "positive", "pr": "positive", "her2": "negative",
                "other_markers": "Ki-67 18%", "ecog": 1, "disease_status": "responding"}  # fmt: skip
    if kind == "treatment":
        modality = rng.choice(["chemotherapy", "surgery", "radiation", "hormonal"])
        return {"modality": modality, "regimen": "AC-T", "agents": "doxorubicin, cyclophosphamide",
                "intent": "adjuvant", "treatment_status": "completed", "end_date": ""}  # fmt: skip
    if kind == "medication":
        return {"name": "Ondansetron", "dose": "8 mg", "route": "oral", "frequency": "every 8 hours",
                "medication_status": "active"}  # fmt: skip
    if kind == "problem":
        return {"name": "Essential hypertension", "icd10": "I10", "problem_status": "active"}
    if kind == "allergy":
        return {"substance": "Penicillin", "reaction": "Hives", "severity": "moderate"}
    if kind in ("imaging_report", "pathology_report"):
        return {"study": "CT chest/abdomen/pelvis", "findings": "No new lesions. " * 20,
                "impression": "No evidence of metastatic disease."}  # fmt: skip
    if kind == "discharge":
        return {"discharge_date": day, "reason": "Neutropenic fever", "diagnosis": "Febrile neutropenia",
                "instructions": "Take temperature twice daily. " * 5, "follow_up": "Oncology in 1 week"}  # fmt: skip
    return {"note_type": "progress", "subject": f"Visit {n}", "text": "Tolerating treatment well. " * 30}


KIND_WEIGHTS = [
    ("lab_result", 62),
    ("medication", 6),
    ("problem", 3),
    ("allergy", 1),
    ("treatment", 4),
    ("imaging_report", 4),
    ("pathology_report", 2),
    ("note", 14),
    ("discharge", 3),
    ("cancer_diagnosis", 1),
]


def build() -> Any:
    """The cast, Maria's record, and Bench Patient with ``ENTRIES`` items from three organizations."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from portal.demo.seed import _relate, cast_load, seed_foundation
    from portal.patients.models import EntryStatus, PatientIdentifier, RegistryEntry, RelationshipKind
    from portal.patients.services import patient_identifier_ensure
    from portal.records.demo import seed_maria
    from portal.records.kinds import describe
    from portal.records.models import ClinicalItem, ItemStatus

    call_command("migrate_schemas", verbosity=0)  # the organizations' schemas too: a reused database follows main
    existing = PatientIdentifier.objects.filter(mrn=BENCH_MRN).select_related("patient").first()
    if existing is not None:
        print("benchmark data already there")
        return cast_load(), existing.patient
    started = time.monotonic()
    cast = seed_foundation()
    seed_maria(cast)
    orgs = cast.organizations
    owners = [(orgs["northfield"], cast.users["okafor"]), (orgs["maple"], cast.users["park"]),
              (orgs["lakeside"], cast.users["ortega"])]  # fmt: skip
    patient = None
    for organization, _ in owners:
        patient = patient_identifier_ensure(
            organization=organization,
            mrn=BENCH_MRN if organization == orgs["maple"] else f"BENCH-{organization.slug}",
            given_name="Bench",
            family_name="Patient",
            date_of_birth=dt.date(1958, 3, 14),
            sex="female",
        )
    assert patient is not None
    _relate(patient, orgs["northfield"], RelationshipKind.CARE_TEAM, cast.users["okafor"], cast.users["okafor"])
    _relate(patient, orgs["maple"], RelationshipKind.PCP_OF_RECORD, cast.users["park"], cast.users["park"])
    _relate(patient, orgs["lakeside"], RelationshipKind.CARE_TEAM, cast.users["ortega"], cast.users["ortega"])
    rng = random.Random(16)
    kinds = [kind for kind, weight in KIND_WEIGHTS for _ in range(weight)]
    now = timezone.now()
    with transaction.atomic():
        entries = []
        for index, (organization, author) in enumerate(owners):
            share = ENTRIES // 3 + (ENTRIES % 3 if index == 0 else 0)
            items = []
            for n in range(share):
                kind = "cancer_diagnosis" if n == 0 else rng.choice(kinds)
                when = now - dt.timedelta(days=rng.randrange(0, 1500), minutes=n)
                values = _item_values(kind, n, rng, when.date().isoformat())
                title, code, summary = describe(kind, values)
                items.append(
                    ClinicalItem(
                        patient=patient,
                        kind=kind,
                        title=title,
                        code=code,
                        effective_at=when,
                        data=values,
                        status=ItemStatus.PUBLISHED,
                        author=author,
                        published_at=when,
                    )  # fmt: skip
                )
                entries.append(
                    RegistryEntry(
                        patient=patient,
                        organization=organization,
                        kind=kind,
                        code=code,
                        title=title,
                        effective_at=when,
                        summary=summary,
                        item_uuid=items[-1].id,
                        status=EntryStatus.CURRENT,
                        published_at=when,
                        published_by=author,
                    )  # fmt: skip
                )
            with schema_context(organization.schema_name):
                ClinicalItem.objects.bulk_create(items, batch_size=500)
        RegistryEntry.objects.bulk_create(entries, batch_size=500)
    print(f"built in {time.monotonic() - started:.1f} s: Bench Patient with {len(entries)} entries")
    return cast, patient


ROUNDS = 5
# Requests of each route before it is measured: enough for every gunicorn worker to have
# answered it (each keeps the entries it has mapped, portal/fhir/cache.py), as a server in use has.
WARMUP = 4 * (2 * (os.cpu_count() or 1) + 1)  # four per worker (IMAGE_WORKERS)


def _joined(label: str, parts: list[Any]) -> Any:
    """One result of several runs of the same route."""
    from bench.httpload import Result

    return Result(
        label,
        sum(part.requests for part in parts),
        sum(part.seconds for part in parts),
        [latency for part in parts for latency in part.latencies_ms],
        sum(part.errors for part in parts),
    )


def _page_path(port: int, host: str, cookie: str, path: str, *, pages: int) -> str:
    """The path of the page reached by following ``pages`` next links from ``path``."""
    for _ in range(pages):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host, "Cookie": cookie})
        with urllib.request.urlopen(request, timeout=60) as response:
            links = {link["relation"]: link["url"] for link in json.loads(response.read())["link"]}
        next_url = urlparse(links["next"])
        path = f"{next_url.path}?{next_url.query}"
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100, help="requests per measured route")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the benchmark database")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url(args.rebuild)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    import django

    django.setup()

    from django.conf import settings

    from bench.httpload import Result, run
    from bench.record_bench import IMAGE_THREADS, IMAGE_WORKERS, free_port, serve, session_cookie
    from portal.patients.models import RegistryEntry

    cast, patient = build()
    park, maple = cast.users["park"], cast.organizations["maple"]
    owners = RegistryEntry.objects.filter(patient=patient).values("organization").distinct().count()
    print(f"Bench Patient: {RegistryEntry.objects.filter(patient=patient).count()} entries from {owners} organizations")
    cookie = session_cookie(park, maple)
    host = f"maple.{settings.BASE_DOMAIN}"
    port = free_port()
    server = serve(port, IMAGE_WORKERS, IMAGE_THREADS)
    everything = f"/fhir/R4/Patient/{patient.uuid}/$everything"
    routes = [
        ("plain one-query view (/healthz)", "/healthz", 4 * args.requests),
        ("Patient/$everything (all)", everything, args.requests),
        ("Observation?patient&_count=100", f"/fhir/R4/Observation?patient={patient.uuid}&_count=100", args.requests),
        ("Observation page 6 (next link's cursor)", "", args.requests),
        ("Patient/$everything?_count=100", everything + "?_count=100", args.requests),
    ]
    results: list[Result] = []
    adjacent: list[Result] = []  # the plain view measured between each route's rounds
    loads: list[tuple[float, float]] = []  # the load average (1 min) before and after each route
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{everything}", headers={"Host": host, "Cookie": cookie}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        print(f"$everything answers {len(body['entry'])} resources ({body['total']} matches)")
        routes[3] = (routes[3][0], _page_path(port, host, cookie, routes[2][1], pages=5), args.requests)
        plain_label, plain_path, _total = routes[0]
        results.append(
            run(
                plain_label,
                port,
                plain_path,
                host=host,
                cookie=cookie,
                total=4 * args.requests,
                concurrency=args.concurrency,
                warmup=6,
            )  # fmt: skip
        )
        for label, path, total in routes[1:]:
            # On a machine shared with other work the load changes within a run: each route is
            # measured in rounds, the plain view just before each round, and divided by that.
            parts, plain_parts = [], []
            load_before = os.getloadavg()[0]
            for round_ in range(ROUNDS):
                plain_parts.append(
                    run(
                        plain_label,
                        port,
                        plain_path,
                        host=host,
                        cookie=cookie,
                        total=20,
                        concurrency=args.concurrency,
                        warmup=2,
                    )  # fmt: skip
                )
                parts.append(
                    run(
                        label,
                        port,
                        path,
                        host=host,
                        cookie=cookie,
                        total=max(1, total // ROUNDS),
                        concurrency=args.concurrency,
                        warmup=WARMUP if round_ == 0 else 0,
                    )  # fmt: skip
                )
            results.append(_joined(label, parts))
            adjacent.append(_joined(plain_label, plain_parts))
            loads.append((load_before, os.getloadavg()[0]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print()
    print(
        f"gunicorn {IMAGE_WORKERS} workers × {IMAGE_THREADS} thread, {args.concurrency} concurrent clients, DEBUG off; "
        f"each route's multiples are of the plain view measured between its {ROUNDS} rounds"
    )
    for index, result in enumerate(results):
        plain = results[0] if index == 0 else adjacent[index - 1]
        around = f"   plain p50/p95 {plain.percentile(0.5):5.1f}/{plain.percentile(0.95):5.1f} ms" if index else ""
        load = f"   load {loads[index - 1][0]:4.1f}→{loads[index - 1][1]:4.1f}" if index else ""
        print(
            f"{result.label:40} p50 {result.percentile(0.5):7.1f} ms ({result.percentile(0.5) / plain.percentile(0.5):5.1f}×)"
            f"   p95 {result.percentile(0.95):7.1f} ms ({result.percentile(0.95) / plain.percentile(0.95):5.1f}×)"
            f"   {result.rps:6.1f} req/s   errors {result.errors}{around}{load}"
        )
    print(
        f"goals: $everything p95 < 300 ms ({results[1].percentile(0.95):.0f}), "
        f"_count=100 page p95 < 100 ms ({results[2].percentile(0.95):.0f})"
    )


if __name__ == "__main__":
    main()
