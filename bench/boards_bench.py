"""Tumor-board benchmark: a meeting's agenda with 20 cases and a case page, read by a board
member through the real web stack, on the shared record's benchmark data.

Uses the database of ``bench/record_bench.py`` (``continuum_record_bench``: 100,000 patients,
1,000,000 registry entries over 20 organizations; built on first use), adds Northfield's
breast board with Dr. Brooks of St. Brendan's on it and 20 of Dr. Park's patients submitted
from Maple onto one published agenda, then serves the portal with gunicorn as the image does
and measures, signed in as Dr. Brooks at St. Brendan's, the p50/p95 of

* ``GET /boards/meetings/<uuid>/`` (the agenda, 20 cases),
* ``GET /boards/cases/<uuid>/`` (each case, its carried entries read and audited), and
* ``GET /plain`` (a plain one-query view through the same server and middleware), to print
  each page's time as a multiple of it.

    PYTHONPATH=$PWD .venv/bin/python bench/boards_bench.py [--requests 400] [--concurrency 2]
        [--patients 100000] [--entries 1000000]

Targets (issue #17): agenda p95 < 200 ms, case page p95 < 150 ms. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BOARD_NAME = "Benchmark breast board"
CASES = 20


def board_data(cast: Any) -> tuple[Any, list[Any]]:
    """The board, its published meeting with 20 cases (made once)."""
    from portal.boards.models import Board, Case
    from portal.boards.services import (
        agenda_publish,
        board_create,
        board_member_add,
        case_schedule,
        case_submit,
        next_open_meeting,
    )
    from portal.patients.models import RegistryEntry
    from portal.patients.selectors import visible_patients

    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    navarro, park = cast.users["navarro"], cast.users["park"]
    board = Board.objects.filter(organization=northfield, name=BOARD_NAME).first()
    if board is None:
        board = board_create(organization=northfield, name=BOARD_NAME, coordinator=navarro, disease_sites=["Breast"])
        board_member_add(
            board=board, user=cast.users["brooks"], organization=cast.organizations["stbrendans"], specialty="surgery"
        )
    meeting = next_open_meeting(board=board)
    assert meeting is not None
    cases = list(Case.objects.filter(meeting=meeting).order_by("position"))
    if len(cases) >= CASES:
        return meeting, cases
    patients = list(visible_patients(user=park, organization=maple).order_by("pk")[:CASES])
    for patient in patients[len(cases) :]:
        entries = RegistryEntry.objects.filter(patient=patient).order_by("-effective_at")[:8]
        case = case_submit(
            user=park,
            organization=maple,
            board=board,
            patient=patient,
            question="Adjuvant therapy after surgery?",
            presentation="prospective",
            entries=list(entries),
        )
        # Benchmark shortcut: the generated record has no pathology or imaging reports for
        # every patient; the checklist is marked complete so the case may go on the agenda.
        Case.objects.filter(pk=case.pk).update(checklist={"pathology": True, "staging_imaging": True, "ecog": True})
        case.refresh_from_db()
        case_schedule(case=case, meeting=meeting, user=navarro, organization=northfield)
    agenda_publish(meeting=meeting, user=navarro, organization=northfield)
    return meeting, list(Case.objects.filter(meeting=meeting).order_by("position"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400, help="requests per measured route")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    from bench.record_bench import IMAGE_WORKERS, bench_database_url, build, free_port, session_cookie

    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.served_settings"
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command

    from bench.httpload import Result, run
    from bench.record_bench import serve
    from portal.demo.seed import cast_load

    build(patients=args.patients, entries=args.entries)
    call_command("migrate_schemas", verbosity=0)  # the organizations' schemas too: a reused database follows main
    cast = cast_load()
    meeting, cases = board_data(cast)
    brooks, stbrendans = cast.users["brooks"], cast.organizations["stbrendans"]
    cookie = session_cookie(brooks, stbrendans)
    host = f"stbrendans.{settings.BASE_DOMAIN}"
    port = free_port()
    server = serve(port, IMAGE_WORKERS, 1, settings_module="bench.served_settings")

    def measure(label: str, paths: list[str], with_cookie: bool = True) -> Result:
        per_path = max(1, args.requests // len(paths))
        combined = Result(label, 0, 0.0, [], 0)
        for path in paths:
            result = run(
                label,
                port,
                path,
                host=host,
                cookie=cookie if with_cookie else "",
                total=per_path,
                concurrency=args.concurrency,
                warmup=4,
            )
            combined.requests += result.requests
            combined.seconds += result.seconds
            combined.latencies_ms += result.latencies_ms
            combined.errors += result.errors
        return combined

    try:
        plain = measure("plain one-query view (/plain)", ["/plain"], with_cookie=False)
        agenda = measure(f"agenda, {len(cases)} cases (member)", [f"/boards/meetings/{meeting.uuid}/"])
        case = measure("case page (member)", [f"/boards/cases/{c.uuid}/" for c in cases])
    finally:
        server.terminate()
        server.wait(timeout=30)
    print()
    print(f"gunicorn {IMAGE_WORKERS} workers × 1 thread, {args.concurrency} concurrent clients, DEBUG off")
    for result in (plain, agenda, case):
        print(result.line())
    base50, base95 = plain.percentile(0.5), plain.percentile(0.95)
    for result in (agenda, case):
        print(
            f"  {result.label:36} p50 {result.percentile(0.5) / base50:5.1f}× and p95 "
            f"{result.percentile(0.95) / base95:5.1f}× the plain view"
        )
    print(
        f"targets: agenda p95 < 200 ms ({agenda.percentile(0.95):.1f}), "
        f"case page p95 < 150 ms ({case.percentile(0.95):.1f})"
    )


if __name__ == "__main__":
    main()
