"""Setting a board up from the command line (an operator's step): created once, members
seated from any organization, bad input refused with the reason and nothing written."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.boards.models import Board, BoardMember, Meeting


def _setup(*args: str) -> str:
    out = StringIO()
    call_command("board_setup", *args, stdout=out)
    return out.getvalue()


def test_a_board_is_set_up_once_with_members_of_other_organizations(cast):
    args = [
        "northfield",
        "Thoracic tumor board",
        "--coordinator=nina.navarro@northfield.example",
        "--sites=Lung,Mesothelioma",
        "--weekday=thursday",
        "--time=07:30",
        "--time-zone=America/Chicago",
        "--quorum=surgery,medical_oncology,radiation_oncology",
        "--cutoff-hours=72",
        "--member=hannah.brooks@stbrendans.example:stbrendans:surgery",
        "--member=luis.ortega@lakeside.example:lakeside:medical_oncology",
    ]
    out = _setup(*args)
    board = Board.objects.get(organization=cast.organizations["northfield"], name="Thoracic tumor board")
    assert "Created Thoracic tumor board (Thursdays at 07:30 (America/Chicago))" in out
    assert board.coordinator == cast.users["navarro"] and board.disease_sites == ["Lung", "Mesothelioma"]
    assert (board.weekday, board.meeting_time, board.cutoff_hours) == (3, dt.time(7, 30), 72)
    assert board.quorum_specialties == ["surgery", "medical_oncology", "radiation_oncology"]
    assert set(BoardMember.objects.filter(board=board).values_list("user__email", "organization__slug")) == {
        ("hannah.brooks@stbrendans.example", "stbrendans"),
        ("luis.ortega@lakeside.example", "lakeside"),
    }
    assert Meeting.objects.filter(board=board).count() == 8
    rows = (Board.objects.count(), BoardMember.objects.count(), Meeting.objects.count())
    assert _setup(*args) == ""
    assert (Board.objects.count(), BoardMember.objects.count(), Meeting.objects.count()) == rows


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--coordinator=hannah.brooks@stbrendans.example"], "coordinator"),
        (["--coordinator=nina.navarro@northfield.example", "--time=7h"], "HH:MM"),
        (["--coordinator=nina.navarro@northfield.example", "--quorum=surgery,astrology"], "quorum_specialties"),
        (["--coordinator=nina.navarro@northfield.example", "--time-zone=Mars/Olympus"], "time_zone"),
        (
            ["--coordinator=nina.navarro@northfield.example", "--member=carla.chen@cedarvalley.example:maple:surgery"],
            "clinician",
        ),
        (["--coordinator=nina.navarro@northfield.example", "--member=nobody"], "EMAIL:ORGANIZATION:SPECIALTY"),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_written(cast, args, reason):
    boards, members = Board.objects.count(), BoardMember.objects.count()
    with pytest.raises(CommandError, match=reason):
        _setup("northfield", "Thoracic tumor board", *args)
    assert (Board.objects.count(), BoardMember.objects.count()) == (boards, members)
