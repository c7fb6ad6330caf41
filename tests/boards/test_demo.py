"""The tumor-board demo: Northfield's breast board and a case from Lakeside on next
Tuesday's published agenda, seeded once."""

from portal.boards import demo
from portal.boards.models import Attendance, Board, BoardMember, Case, Meeting, MeetingStatus
from portal.notifications.models import Notification
from portal.patients.models import CareRelationship, RegistryEntry


def _counts():
    return tuple(
        model.objects.count()
        for model in (Board, BoardMember, Meeting, Case, Attendance, Notification, CareRelationship, RegistryEntry)
    )


def test_demo_seed_is_idempotent_and_puts_a_lakeside_case_on_tuesdays_agenda(cast):
    demo.seed(cast)
    first = _counts()
    demo.seed(cast)
    assert _counts() == first
    board = Board.objects.get(name=demo.BOARD_NAME, organization=cast.organizations["northfield"])
    organizations = set(BoardMember.objects.filter(board=board).values_list("organization__slug", flat=True))
    assert organizations == {"northfield", "stbrendans"}
    case = Case.objects.get(board=board)
    assert case.submitting_organization == cast.organizations["lakeside"] and case.is_ready
    assert case.meeting.status == MeetingStatus.PUBLISHED
    assert case.meeting.starts_at.astimezone(__import__("zoneinfo").ZoneInfo(board.time_zone)).strftime("%a %H:%M") == (
        "Tue 07:00"
    )
