"""Builders for the tumor-board tests: Northfield's breast board (coordinator Nina Navarro;
Dr. Okafor and Dr. Brooks of St. Brendan's on it) and Maria Alvarez's case from Maple."""

from __future__ import annotations

from typing import Any

from portal.boards.models import Specialty
from portal.boards.services import (
    agenda_publish,
    attendance_set,
    board_create,
    board_member_add,
    case_schedule,
    case_submit,
    next_open_meeting,
    recommendation_record,
)
from tests.care.helpers import entry


def breast_board(cast: Any, **kwargs: Any) -> Any:
    board = board_create(
        organization=cast.organizations["northfield"],
        name=kwargs.pop("name", "Breast tumor board"),
        coordinator=cast.users["navarro"],
        disease_sites=["Breast"],
        video_link="https://video.example/breast",
        **kwargs,
    )
    board_member_add(
        board=board,
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        specialty="medical_oncology",
    )
    board_member_add(
        board=board, user=cast.users["brooks"], organization=cast.organizations["stbrendans"], specialty="surgery"
    )
    return board


def maria_entries(cast: Any, *, pathology: bool = True) -> list[Any]:
    """What Northfield published about Maria (simulated registry rows): the oncology summary
    with ECOG, staging imaging and, unless told otherwise, the pathology report."""
    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    entries = [
        entry(maria, northfield, "cancer_diagnosis", code="C50.412", title="Invasive ductal carcinoma of left breast",
              days_ago=20, summary={"stage": "IIB", "tnm": "T2 N1 M0", "ecog": 0}),
        entry(maria, northfield, "imaging_report", code="", title="Staging CT chest/abdomen/pelvis", days_ago=15,
              summary={"impression": "No distant disease"}),
    ]  # fmt: skip
    if pathology:
        entries.append(
            entry(
                maria,
                northfield,
                "pathology_report",
                code="",
                title="Core biopsy, left breast",
                days_ago=18,
                summary={"impression": "IDC grade 2, ER+ PR+ HER2-"},
            )  # fmt: skip
        )
    return entries


def maria_case(cast: Any, board: Any, *, pathology: bool = True, entries: Any = None) -> Any:
    """Dr. Park at Maple submits Maria Alvarez."""
    return case_submit(
        user=cast.users["park"],
        organization=cast.organizations["maple"],
        board=board,
        patient=cast.patients["maria"],
        question="Neoadjuvant therapy or surgery first?",
        presentation="prospective",
        entries=entries if entries is not None else maria_entries(cast, pathology=pathology),
    )


def on_published_agenda(cast: Any, case: Any) -> Any:
    northfield, navarro = cast.organizations["northfield"], cast.users["navarro"]
    meeting = next_open_meeting(board=case.board)
    case_schedule(case=case, meeting=meeting, user=navarro, organization=northfield)
    agenda_publish(meeting=meeting, user=navarro, organization=northfield)
    case.refresh_from_db()
    return meeting


def discussed(cast: Any, case: Any) -> Any:
    meeting = on_published_agenda(cast, case)
    northfield, navarro = cast.organizations["northfield"], cast.users["navarro"]
    for user in (cast.users["okafor"], cast.users["brooks"]):
        attendance_set(meeting=meeting, attendee=user, present=True, user=navarro, organization=northfield)
    return recommendation_record(
        case=case,
        user=navarro,
        organization=northfield,
        text="Neoadjuvant endocrine therapy, then breast-conserving surgery.",
        category="systemic_therapy",
        evidence="2A",
        trial="NCT04000000 (POSNOC-2)",
        genetic_counselling=True,
        dissent="Dr. Brooks favoured surgery first.",
    )


SPECIALTIES = Specialty
