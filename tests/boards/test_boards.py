"""Tumor boards: schedule, submission, the agenda, who sees what, the recommendation and
its follow-up."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.boards.models import Board, Case, CaseState, Meeting, MeetingStatus, Recommendation
from portal.boards.services import (
    agenda_publish,
    board_escalations_run,
    case_schedule,
    followup_record,
    meeting_slots,
    next_open_meeting,
    recommendation_acknowledge,
    recommendation_finalise,
)
from portal.care.models import Escalation
from portal.messaging.models import Participant, Thread
from portal.notifications.models import Delivery, Notification
from portal.patients.models import CareRelationship, RegistryEntry, RelationshipKind
from portal.patients.selectors import visible_entries
from tests.boards.helpers import breast_board, discussed, maria_case, maria_entries, on_published_agenda


def _state():
    """What a refused request must leave as it was."""
    return (
        Case.objects.count(),
        list(Case.objects.values_list("state", "meeting_id", "position")),
        list(Meeting.objects.values_list("status", flat=True)),
        CareRelationship.objects.count(),
        Recommendation.objects.count(),
        Notification.objects.count(),
        Delivery.objects.count(),
        Thread.objects.count(),
    )


def test_meetings_follow_the_weekly_schedule_in_the_boards_time_zone(cast):
    board = breast_board(cast)
    assert board.quorum_specialties == ["surgery", "medical_oncology", "radiation_oncology", "pathology", "radiology"]
    assert board.cutoff_hours == 48
    start = dt.datetime(2026, 10, 21, 12, 0, tzinfo=dt.UTC)  # a Wednesday; daylight saving ends Nov 1
    slots = meeting_slots(board=board, start=start, weeks=3)
    zone = zoneinfo.ZoneInfo("America/New_York")
    assert [s.astimezone(zone).strftime("%a %H:%M") for s in slots] == ["Tue 07:00"] * 3
    assert [s.astimezone(dt.UTC).hour for s in slots] == [11, 12, 12]
    assert Meeting.objects.filter(board=board, starts_at__gt=timezone.now()).count() == 8
    count = Meeting.objects.count()
    from portal.boards.tasks import meetings_generate_all

    meetings_generate_all()
    assert Meeting.objects.count() == count


def test_submitting_opens_a_time_limited_audited_relationship_for_the_board(cast):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    relationship = case.relationship
    assert relationship.organization == cast.organizations["northfield"]
    assert relationship.kind == RelationshipKind.TUMOR_BOARD
    assert relationship.ends_at == meeting.starts_at + dt.timedelta(days=30)
    assert relationship.shares_record is True  # Maple itself sees Maria's shared record
    assert AuditEvent.objects.filter(
        action="grant", object_type="care_relationship", object_id=str(relationship.pk)
    ).exists()
    assert case.is_ready and case.checklist == {"pathology": True, "staging_imaging": True, "ecog": True}
    assert Notification.objects.filter(recipient=cast.users["navarro"], link=f"/boards/cases/{case.uuid}/").exists()


def test_chen_cannot_submit_maria_nothing_changed_nothing_sent(cast, sign_in):
    board = breast_board(cast)
    entries = maria_entries(cast)
    before = _state()
    with pytest.raises(PermissionDenied):
        from portal.boards.services import case_submit

        case_submit(
            user=cast.users["chen"],
            organization=cast.organizations["cedarvalley"],
            board=board,
            patient=cast.patients["maria"],
            question="?",
            presentation="prospective",
            entries=entries,
        )
    client = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    maria = cast.patients["maria"]
    page = client.get(f"/boards/cases/new/?patient={maria.uuid}")
    assert b"Maria Alvarez" not in page.content
    response = client.post(
        "/boards/cases/new/",
        {"board": board.uuid, "patient": maria.uuid, "question": "?", "presentation": "prospective"},
    )
    assert response.status_code == 400 and b"Maria Alvarez" not in response.content
    api = client.post(
        "/api/v1/board-cases/",
        {"board": str(board.uuid), "patient": str(maria.uuid), "question": "?", "presentation": "prospective"},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert _state() == before


def test_a_case_missing_pathology_cannot_go_on_the_agenda_and_the_submitter_sees_what(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board, pathology=False)
    assert case.missing == ["Pathology report"]
    meeting = next_open_meeting(board=board)
    before = _state()
    with pytest.raises(ValidationError) as refused:
        case_schedule(
            case=case, meeting=meeting, user=cast.users["navarro"], organization=cast.organizations["northfield"]
        )
    assert "Pathology report" in str(refused.value)
    response = sign_in(cast.users["navarro"], cast.organizations["northfield"]).post(
        f"/boards/meetings/{meeting.uuid}/act/", {"action": "add", "case": case.uuid}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400 and b"Pathology report" in response.content
    assert _state() == before
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/boards/cases/{case.uuid}/")
    assert page.status_code == 200 and b"Missing:</strong> Pathology report" in page.content
    mine = sign_in(cast.users["park"], cast.organizations["maple"]).get("/boards/submissions/")
    assert b"Missing: Pathology report" in mine.content


def test_ecog_counts_from_the_diagnosis_even_when_it_is_zero(cast):
    from portal.boards.services import checklist_for

    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    with_zero = RegistryEntry(patient=maria, organization=northfield, kind="cancer_diagnosis", summary={"ecog": 0})
    without = RegistryEntry(patient=maria, organization=northfield, kind="cancer_diagnosis", summary={"ecog": None})
    assert checklist_for([with_zero])["ecog"] is True
    assert checklist_for([without])["ecog"] is False


def test_four_actors_on_the_agenda_and_the_case(cast, sign_in, anonymous):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    northfield, stbrendans = cast.organizations["northfield"], cast.organizations["stbrendans"]
    pages = [f"/boards/{board.uuid}/", f"/boards/meetings/{meeting.uuid}/", f"/boards/cases/{case.uuid}/"]
    case_schedule(case=case, meeting=meeting, user=cast.users["navarro"], organization=northfield)
    member = sign_in(cast.users["brooks"], stbrendans)
    # Before the agenda is published, the member sees the meeting but not the case.
    assert member.get(f"/boards/cases/{case.uuid}/").status_code == 404
    assert b"Maria Alvarez" not in member.get(f"/boards/meetings/{meeting.uuid}/").content
    agenda_publish(meeting=meeting, user=cast.users["navarro"], organization=northfield)
    outsiders = [
        (anonymous(northfield), 302),
        (sign_in(cast.users["chen"], cast.organizations["cedarvalley"]), 404),
        # Dr. Ortega works in the network but is not on this board.
        (sign_in(cast.users["ortega"], cast.organizations["lakeside"]), 404),
        # A site admin of the board's own organization, without the role.
        (sign_in(cast.users["northfield_admin"], northfield), 404),
    ]
    for client, code in outsiders:
        for path in pages + [f"/boards/meetings/{meeting.uuid}/print/", f"/boards/cases/{case.uuid}/print/"]:
            response = client.get(path)
            assert response.status_code == code, path
            assert b"Maria Alvarez" not in response.content
        assert client.get(f"/api/v1/board-cases/{case.uuid}/").status_code in (403, 404)
        assert client.get(f"/api/v1/board-meetings/{meeting.uuid}/").status_code in (403, 404)
    for client in (member, sign_in(cast.users["navarro"], northfield)):
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, path
            assert b"Maria Alvarez" in response.content
        assert client.get(f"/api/v1/board-cases/{case.uuid}/").json()["patient_name"] == "Maria Alvarez"
    # Brooks's St. Brendan's has no relationship with Maria: the chart stays closed to it.
    assert member.get(f"/patients/{cast.patients['maria'].uuid}/").status_code == 404


def test_refused_agenda_actions_change_nothing_and_send_nothing(cast, sign_in, anonymous):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    northfield = cast.organizations["northfield"]
    url = f"/boards/meetings/{meeting.uuid}/act/"
    before = _state()
    for client in (
        anonymous(northfield),
        sign_in(cast.users["chen"], cast.organizations["cedarvalley"]),
        sign_in(cast.users["northfield_admin"], northfield),
        sign_in(cast.users["okafor"], northfield),  # on the board, but not its coordinator
        sign_in(cast.users["brooks"], cast.organizations["stbrendans"]),
    ):
        for action in ("add", "publish"):
            response = client.post(url, {"action": action, "case": case.uuid})
            assert response.status_code in (302, 403, 404)
            assert _state() == before
    response = sign_in(cast.users["navarro"], northfield).post(url, {"action": "add", "case": case.uuid})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).meeting == meeting


def test_publishing_tells_every_member_without_patient_details(cast):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = on_published_agenda(cast, case)
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.PUBLISHED
    told = Notification.objects.filter(link=f"/boards/meetings/{meeting.uuid}/")
    assert {n.recipient for n in told} == {cast.users["okafor"], cast.users["brooks"]}
    assert {n.organization.slug for n in told} == {"northfield", "stbrendans"}
    for notification in told:
        assert "Maria" not in notification.title and "Alvarez" not in notification.title
    assert Delivery.objects.filter(notification__in=told).count() == 2


def test_a_member_reads_the_carried_entries_only_and_each_owner_is_audited(cast, sign_in):
    board = breast_board(cast)
    carried = maria_entries(cast)
    from tests.care.helpers import entry

    maple_entry = entry(cast.patients["maria"], cast.organizations["maple"], "lab_result", title="CBC", days_ago=2)
    not_carried = entry(
        cast.patients["maria"], cast.organizations["northfield"], "consult_note", title="Private-ish note"
    )
    case = maria_case(cast, board, entries=carried + [maple_entry])
    on_published_agenda(cast, case)
    member = sign_in(cast.users["brooks"], cast.organizations["stbrendans"])
    response = member.get(f"/boards/cases/{case.uuid}/")
    assert b"Core biopsy, left breast" in response.content and b"CBC" in response.content
    assert not_carried.title.encode() not in response.content
    owners = set(
        AuditEvent.objects.filter(
            object_type="board_case", object_id=str(case.uuid), actor=cast.users["brooks"]
        ).values_list("data_owner__slug", flat=True)
    )
    assert owners == {"northfield", "maple"}
    assert member.get(f"/boards/cases/{case.uuid}/entries/{not_carried.uuid}/").status_code == 404


def test_access_ends_when_the_cases_relationship_ends(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = on_published_agenda(cast, case)
    CareRelationship.objects.filter(pk=case.relationship_id).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    for user, organization in (
        (cast.users["brooks"], cast.organizations["stbrendans"]),
        (cast.users["navarro"], cast.organizations["northfield"]),
    ):
        client = sign_in(user, organization)
        assert client.get(f"/boards/cases/{case.uuid}/").status_code == 404
        assert b"Maria Alvarez" not in client.get(f"/boards/meetings/{meeting.uuid}/").content
        assert client.get(f"/api/v1/board-meetings/{meeting.uuid}/").json()["cases"] == []
    # The submitter still reads its own case (it cares for the patient).
    assert (
        sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/boards/cases/{case.uuid}/").status_code == 200
    )


def test_quorum_is_shown_live_as_attendance_is_taken(cast, sign_in):
    board = breast_board(cast)
    Board.objects.filter(pk=board.pk).update(quorum_specialties=["surgery", "medical_oncology"])
    case = maria_case(cast, board)
    meeting = on_published_agenda(cast, case)
    client = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    url = f"/boards/meetings/{meeting.uuid}/act/"
    first = client.post(
        url, {"action": "attendance", "user": cast.users["okafor"].pk, "present": "1"}, HTTP_HX_REQUEST="true"
    )
    assert first.status_code == 200 and b"missing: Surgery" in first.content
    second = client.post(
        url, {"action": "attendance", "user": cast.users["brooks"].pk, "present": "1"}, HTTP_HX_REQUEST="true"
    )
    assert b"Quorum met" in second.content
    polled = sign_in(cast.users["brooks"], cast.organizations["stbrendans"]).get(
        f"/boards/meetings/{meeting.uuid}/?part=quorum", HTTP_HX_REQUEST="true"
    )
    assert b"Quorum met" in polled.content and b"<html" not in polled.content


def test_the_recommendation_reaches_the_submitters_chart_and_inbox_once(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board)
    recommendation = discussed(cast, case)
    assert recommendation.quorum_met is False  # radiation oncology, pathology, radiology absent
    northfield, navarro = cast.organizations["northfield"], cast.users["navarro"]
    client = sign_in(navarro, northfield)
    response = client.post(f"/boards/cases/{case.uuid}/act/", {"action": "finalise"})
    assert response.status_code == 302
    counts = (RegistryEntry.objects.count(), Thread.objects.count(), Notification.objects.count())
    client.post(f"/boards/cases/{case.uuid}/act/", {"action": "finalise"})
    recommendation_finalise(case=case, user=navarro, organization=northfield)
    assert (RegistryEntry.objects.count(), Thread.objects.count(), Notification.objects.count()) == counts
    recommendation.refresh_from_db()
    entry = recommendation.entry
    assert entry.organization == northfield and entry.kind == "tumor_board_recommendation"
    assert entry.summary["evidence"] == "2A" and entry.summary["trial"] == "NCT04000000 (POSNOC-2)"
    park, maple = cast.users["park"], cast.organizations["maple"]
    assert visible_entries(user=park, organization=maple, patient=cast.patients["maria"]).filter(pk=entry.pk).exists()
    thread = recommendation.thread
    assert Participant.objects.filter(thread=thread, user=park, organization=maple).exists()
    assert Thread.objects.filter(patient=cast.patients["maria"], subject__startswith=board.name).count() == 1
    chart = sign_in(park, maple).get(f"/patients/{cast.patients['maria'].uuid}/")
    assert b"Breast tumor board: recommendation" in chart.content
    opened = sign_in(park, maple).get(f"/patients/{cast.patients['maria'].uuid}/entries/{entry.uuid}/")
    assert opened.status_code == 200 and b"NCCN evidence category" in opened.content
    assert Case.objects.get(pk=case.pk).state == CaseState.FINALISED


def test_unanswered_recommendation_escalates_once_per_level_and_follow_up_closes_it(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board)
    discussed(cast, case)
    northfield, navarro = cast.organizations["northfield"], cast.users["navarro"]
    recommendation_finalise(case=case, user=navarro, organization=northfield)
    now = timezone.now()
    assert board_escalations_run(now=now + dt.timedelta(days=8)) == 1
    assert board_escalations_run(now=now + dt.timedelta(days=8)) == 0
    assert Escalation.objects.filter(object_type="board_ack", object_id=case.pk, level=1).exists()
    park, maple = cast.users["park"], cast.organizations["maple"]
    # Someone of another organization cannot answer for the submitter.
    with pytest.raises(PermissionDenied):
        recommendation_acknowledge(case=case, user=cast.users["chen"], organization=cast.organizations["cedarvalley"])
    client = sign_in(park, maple)
    response = client.post(f"/boards/cases/{case.uuid}/act/", {"action": "followup", "outcome": "changed"})
    assert response.status_code == 400 and b"Say why the plan was changed" in response.content
    client.post(f"/boards/cases/{case.uuid}/act/", {"action": "followup", "outcome": "followed"})
    assert Recommendation.objects.get(case=case).followup == "followed"
    assert Case.objects.get(pk=case.pk).acknowledged_by == park
    assert board_escalations_run(now=now + dt.timedelta(days=40)) == 0
    with pytest.raises(PermissionDenied):
        followup_record(case=case, user=navarro, organization=northfield, outcome="declined")


def test_the_agenda_reorders_and_moves_to_the_next_meeting(cast, sign_in):
    board = breast_board(cast)
    first = maria_case(cast, board)
    second = maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    client = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    url = f"/boards/meetings/{meeting.uuid}/act/"
    for case in (first, second):
        client.post(url, {"action": "add", "case": case.uuid})
    client.post(url, {"action": "reorder", "order": [second.uuid, first.uuid]}, HTTP_HX_REQUEST="true")
    assert list(Case.objects.filter(meeting=meeting).order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]
    client.post(url, {"action": "up", "case": first.uuid}, HTTP_HX_REQUEST="true")
    assert Case.objects.filter(meeting=meeting).order_by("position").first().pk == first.pk
    bad = client.post(url, {"action": "reorder", "order": [first.uuid]}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    client.post(url, {"action": "next", "case": second.uuid})
    moved = Case.objects.get(pk=second.pk)
    assert moved.meeting.starts_at > meeting.starts_at
    assert moved.relationship.ends_at == moved.meeting.starts_at + dt.timedelta(days=30)


def test_print_views_give_one_case_per_page_and_no_other_patient(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board)
    other = next(p for name, p in cast.patients.items() if name != "maria")
    meeting = on_published_agenda(cast, case)
    client = sign_in(cast.users["brooks"], cast.organizations["stbrendans"])
    handout = client.get(f"/boards/meetings/{meeting.uuid}/print/")
    assert handout.status_code == 200 and handout.content.count(b'class="print-page print-case"') == 1
    single = client.get(f"/boards/cases/{case.uuid}/print/")
    assert b"Maria Alvarez" in single.content and other.full_name.encode() not in single.content
    css = open("static/css/portal.css").read()
    assert "@media print" in css and "break-after: page" in css


def test_pages_stay_within_their_query_budget(cast, sign_in, django_assert_max_num_queries):
    board = breast_board(cast)
    cases = [maria_case(cast, board) for _ in range(6)]
    meeting = next_open_meeting(board=board)
    for case in cases:
        case_schedule(
            case=case, meeting=meeting, user=cast.users["navarro"], organization=cast.organizations["northfield"]
        )
    agenda_publish(meeting=meeting, user=cast.users["navarro"], organization=cast.organizations["northfield"])
    member = sign_in(cast.users["brooks"], cast.organizations["stbrendans"])
    member.get(f"/boards/meetings/{meeting.uuid}/")
    with django_assert_max_num_queries(20):
        assert member.get(f"/boards/meetings/{meeting.uuid}/").status_code == 200
    with django_assert_max_num_queries(20):
        assert member.get(f"/boards/cases/{cases[0].uuid}/").status_code == 200
    coordinator = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    with django_assert_max_num_queries(24):
        assert coordinator.get(f"/boards/meetings/{meeting.uuid}/").status_code == 200


def test_my_submissions_and_the_api_list_only_this_organizations_cases(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert [row["uuid"] for row in park.get("/api/v1/board-cases/").json()["results"]] == [str(case.uuid)]
    assert (
        sign_in(cast.users["chen"], cast.organizations["cedarvalley"]).get("/api/v1/board-cases/").json()["results"]
        == []
    )
    boards = park.get("/api/v1/boards/?all=1").json()["results"]
    assert [b["name"] for b in boards] == ["Breast tumor board"]
    assert park.get("/api/v1/boards/").json()["results"] == []
    answer = park.post(
        f"/api/v1/board-cases/{case.uuid}/answer/", {"action": "acknowledge"}, content_type="application/json"
    )
    assert answer.status_code == 403  # nothing to acknowledge yet


def test_the_scorecard_counts_board_cases_quorum_and_follow_up(cast, sign_in):
    from portal.care.scorecard import scorecard

    board = breast_board(cast)
    case = maria_case(cast, board)
    maria_case(cast, board, pathology=False)
    discussed(cast, case)
    recommendation_finalise(case=case, user=cast.users["navarro"], organization=cast.organizations["northfield"])
    followup_record(case=case, user=cast.users["park"], organization=cast.organizations["maple"], outcome="followed")
    today = timezone.localdate()
    card = scorecard(organization=cast.organizations["maple"], start=today, end=today)
    assert card["board_case_count"] == 2 and card["board_prospective_share"] == 100
    assert card["board_cases"] == [
        {
            "board": "Breast tumor board (Northfield Cancer Institute)",
            "organization": "Maple Family Medicine",
            "cases": 2,
        }
    ]
    assert card["board_quorum_share"] == 0 and card["board_acknowledged"] == 1 and card["board_followed"] == 1
    assert scorecard(organization=cast.organizations["cedarvalley"], start=today, end=today)["board_case_count"] == 0
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get("/care/scorecard/")
    assert b"Tumor boards" in page.content and b"recommendations acknowledged" in page.content


def test_the_submitter_adds_the_missing_pathology_and_the_case_becomes_ready(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board, pathology=False)
    from tests.care.helpers import entry

    report = entry(
        cast.patients["maria"], cast.organizations["northfield"], "pathology_report", code="", title="Core biopsy"
    )
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert (
        chen.post(f"/boards/cases/{case.uuid}/act/", {"action": "add_entries", "entries": [report.uuid]}).status_code
        == 404
    )
    assert Case.objects.get(pk=case.pk).missing == ["Pathology report"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert b"Add from the record" in park.get(f"/boards/cases/{case.uuid}/").content
    park.post(f"/boards/cases/{case.uuid}/act/", {"action": "add_entries", "entries": [report.uuid]})
    assert Case.objects.get(pk=case.pk).is_ready
