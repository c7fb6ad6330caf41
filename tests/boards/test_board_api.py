"""The tumor-board API beyond reading: the agenda, attendance and the quorum, the
recommendation, finalising it, the submitter's follow-up, deputies who run the board with
the coordinator, and where an escalation sends each person."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.boards.models import Attendance, Board, Case, CaseState, Meeting, Recommendation
from portal.boards.services import (
    board_create,
    board_escalations_run,
    board_member_add,
    next_open_meeting,
    recommendation_finalise,
)
from portal.care.models import Escalation
from portal.messaging.models import Thread
from portal.notifications.models import Delivery, Notification
from portal.patients.models import CareRelationship, RegistryEntry
from tests.api.test_no_oracle import assert_same_answer
from tests.boards.helpers import breast_board, discussed, maria_case, maria_entries, on_published_agenda


def _post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _state() -> tuple[Any, ...]:
    """What a refused request must leave as it was (and nothing sent)."""
    return (
        list(Case.objects.order_by("pk").values_list("state", "meeting_id", "position")),
        list(Meeting.objects.order_by("pk").values_list("status", flat=True)),
        list(Attendance.objects.order_by("pk").values_list("user_id", "specialty")),
        list(Recommendation.objects.order_by("pk").values_list("text", "finalised_at", "followup")),
        list(Board.deputies.through.objects.order_by("pk").values_list("board_id", "user_id")),
        list(CareRelationship.objects.order_by("pk").values_list("ends_at", flat=True)),
        RegistryEntry.objects.count(),
        Thread.objects.count(),
        Notification.objects.exclude(kind="denied_reads").count(),
        Delivery.objects.exclude(notification__kind="denied_reads").count(),
    )


def test_the_api_story_from_submission_to_follow_up(cast, sign_in):
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    board = breast_board(cast)
    Board.objects.filter(pk=board.pk).update(quorum_specialties=["surgery", "medical_oncology"])
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], maple)
    navarro = sign_in(cast.users["navarro"], northfield)
    brooks = sign_in(cast.users["brooks"], cast.organizations["stbrendans"])

    # Dr. Park submits Maria from Maple.
    carried = [str(e.uuid) for e in maria_entries(cast)]
    submitted = _post(
        park,
        "/api/v1/board-cases/",
        {
            "board": str(board.uuid),
            "patient": str(maria.uuid),
            "question": "Neoadjuvant therapy or surgery first?",
            "presentation": "prospective",
            "entries": carried,
        },
    )
    assert submitted.status_code == 201, submitted.content
    case_uuid = submitted.json()["uuid"]
    assert submitted.json()["missing"] == []

    # Nina Navarro sees it waiting, puts it on the next meeting's agenda and publishes.
    waiting = navarro.get(f"/api/v1/boards/{board.uuid}/waiting/").json()
    assert [row["uuid"] for row in waiting["results"]] == [case_uuid] and waiting["count"] == 1
    meeting = next_open_meeting(board=board)
    agenda_url = f"/api/v1/board-meetings/{meeting.uuid}/"
    unknown = _post(navarro, agenda_url + "agenda/", {"action": "add", "case": case_uuid, "urgnet": True})
    assert unknown.status_code == 400 and "urgnet" in unknown.json()["errors"]
    no_case = _post(navarro, agenda_url + "agenda/", {"action": "add"})
    assert no_case.status_code == 400 and "case" in no_case.json()["errors"]
    added = _post(navarro, agenda_url + "agenda/", {"action": "add", "case": case_uuid})
    assert added.status_code == 200 and [c["uuid"] for c in added.json()["cases"]] == [case_uuid]
    # A member reads nothing of an unpublished agenda.
    assert brooks.get(agenda_url).json()["cases"] == []
    published = _post(navarro, agenda_url + "publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert Notification.objects.filter(recipient=cast.users["brooks"], link=f"/boards/meetings/{meeting.uuid}/")
    assert [c["patient_name"] for c in brooks.get(agenda_url).json()["cases"]] == ["Maria Alvarez"]

    # Attendance, and the quorum as it stands after each mark.
    seats = navarro.get(agenda_url + "attendance/").json()
    assert seats["quorum"]["met"] is False and seats["quorum"]["missing"] == ["Surgery", "Medical oncology"]
    assert {row["user"] for row in seats["results"]} >= {cast.users["okafor"].pk, cast.users["brooks"].pk}
    first = _post(navarro, agenda_url + "attendance/", {"user": cast.users["okafor"].pk})
    assert first.status_code == 200 and first.json()["specialty"] == "medical_oncology"
    assert first.json()["quorum"]["missing"] == ["Surgery"]
    stranger = _post(navarro, agenda_url + "attendance/", {"user": cast.users["chen"].pk})
    assert stranger.status_code == 400 and "user" in stranger.json()["errors"]
    second = _post(navarro, agenda_url + "attendance/", {"user": cast.users["brooks"].pk, "present": True})
    assert second.json()["quorum"]["met"] is True
    live = brooks.get(agenda_url + "attendance/").json()
    assert live["quorum"]["met"] is True
    assert {row["user"] for row in live["results"] if row["present"]} == {
        cast.users["okafor"].pk,
        cast.users["brooks"].pk,
    }

    # The structured recommendation: refused while incomplete, then recorded.
    case_url = f"/api/v1/board-cases/{case_uuid}/"
    incomplete = _post(
        navarro,
        case_url + "recommendation/",
        {"text": "Neoadjuvant endocrine therapy.", "category": "systemic_therapy", "evidence": "4"},
    )
    assert incomplete.status_code == 400 and "evidence" in incomplete.json()["errors"]
    no_trial = _post(
        navarro,
        case_url + "recommendation/",
        {"text": "Neoadjuvant endocrine therapy.", "category": "systemic_therapy", "evidence": "2A"},
    )
    assert no_trial.status_code == 400 and "none suitable" in no_trial.json()["errors"]["trial"][0]
    assert not Recommendation.objects.exists()
    recorded = _post(
        navarro,
        case_url + "recommendation/",
        {
            "text": "Neoadjuvant endocrine therapy, then breast-conserving surgery.",
            "category": "systemic_therapy",
            "evidence": "2A",
            "trial": "NCT04000000 (POSNOC-2)",
            "genetic_counselling": True,
            "dissent": "Dr. Brooks favoured surgery first.",
        },
    )
    assert recorded.status_code == 200, recorded.content
    body = recorded.json()
    assert body["state"] == "discussed" and body["recommendation"]["quorum_met"] is True
    assert body["recommendation"]["evidence"] == "2A" and body["recommendation"]["genetic_counselling"] is True

    # Finalised once: on the record, to the submitter's inbox, a second call changes nothing.
    finalised = _post(navarro, case_url + "finalise/")
    assert finalised.status_code == 200 and finalised.json()["state"] == "finalised"
    counts = (RegistryEntry.objects.count(), Thread.objects.count(), Notification.objects.count())
    again = _post(navarro, case_url + "finalise/")
    assert again.status_code == 200
    assert (RegistryEntry.objects.count(), Thread.objects.count(), Notification.objects.count()) == counts
    entry = Recommendation.objects.get(case__uuid=case_uuid).entry
    assert entry.organization == northfield and entry.kind == "tumor_board_recommendation"
    assert RegistryEntry.objects.filter(patient=maria, kind="tumor_board_recommendation").count() == 1
    assert Thread.objects.filter(patient=maria, participants__user=cast.users["park"]).count() == 1
    assert Notification.objects.filter(recipient=cast.users["park"], link=f"/boards/cases/{case_uuid}/").count() == 1
    timeline = park.get(f"/api/v1/patients/{maria.uuid}/entries/?limit=100")
    assert str(entry.uuid) in timeline.content.decode()

    # Dr. Park answers: a change needs a reason; then "followed".
    why = _post(park, case_url + "answer/", {"action": "followup", "outcome": "changed"})
    assert why.status_code == 400 and "reason" in why.json()["errors"]
    followed = _post(park, case_url + "answer/", {"action": "followup", "outcome": "followed"})
    assert followed.status_code == 200
    assert followed.json()["recommendation"]["followup"] == "followed" and followed.json()["acknowledged_at"]
    assert Notification.objects.filter(
        recipient=cast.users["navarro"], title__endswith="follow-up recorded", organization=northfield
    ).exists()


def _another_board_member(cast: Any) -> Any:
    """Dr. Ortega of Lakeside, who sits on Northfield's thoracic board but not the breast board."""
    thoracic = board_create(
        organization=cast.organizations["northfield"],
        name="Thoracic tumor board",
        coordinator=cast.users["navarro"],
        disease_sites=["Lung"],
    )
    board_member_add(
        board=thoracic, user=cast.users["ortega"], organization=cast.organizations["lakeside"], specialty="other"
    )
    return thoracic


def test_four_actors_get_the_answer_of_something_missing_on_every_new_route(cast, sign_in, anonymous):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = on_published_agenda(cast, case)
    discussed(cast, case)
    _another_board_member(cast)
    cedar, northfield = cast.organizations["cedarvalley"], cast.organizations["northfield"]
    actors = {
        "Dr. Chen": (sign_in(cast.users["chen"], cedar), 404),
        "a member of another board": (sign_in(cast.users["ortega"], cast.organizations["lakeside"]), 404),
        "Cedar Valley's site admin": (sign_in(cast.users["cedarvalley_admin"], cedar), 404),
        "the board organization's site admin": (sign_in(cast.users["northfield_admin"], northfield), 404),
        "anonymous": (anonymous(northfield), 403),
    }
    recommendation = {"text": "Surgery.", "category": "surgery", "evidence": "1", "no_trial_suitable": True}
    routes = [
        ("post", "/api/v1/boards/{board}/deputies/", {"user": cast.users["okafor"].pk}),
        ("get", "/api/v1/boards/{board}/waiting/", None),
        ("post", "/api/v1/board-meetings/{meeting}/agenda/", {"action": "remove", "case": str(case.uuid)}),
        ("post", "/api/v1/board-meetings/{meeting}/publish/", None),
        ("get", "/api/v1/board-meetings/{meeting}/attendance/", None),
        ("post", "/api/v1/board-meetings/{meeting}/attendance/", {"user": cast.users["brooks"].pk}),
        ("post", "/api/v1/board-cases/{case}/recommendation/", recommendation),
        ("post", "/api/v1/board-cases/{case}/finalise/", None),
        ("post", "/api/v1/board-cases/{case}/answer/", {"action": "followup", "outcome": "declined"}),
    ]
    real = {"board": board.uuid, "meeting": meeting.uuid, "case": case.uuid}
    before = _state()
    for name, (client, code) in actors.items():
        for method, template, body in routes:
            missing = {key: uuid.uuid4() for key in real}
            urls = [template.format(**ids) for ids in (real, missing)]
            if method == "get":
                answers = [client.get(url) for url in urls]
            else:
                answers = [_post(client, url, body) for url in urls]
            assert answers[0].status_code == code, (name, template, answers[0].content[:200])
            assert_same_answer(*answers, *real.values(), *missing.values())
            assert b"Maria" not in answers[0].content
        assert _state() == before, name


def test_a_member_who_is_not_the_coordinator_is_refused_and_learns_nothing(cast, sign_in):
    board = breast_board(cast)
    case = maria_case(cast, board)
    meeting = on_published_agenda(cast, case)
    brooks = sign_in(cast.users["brooks"], cast.organizations["stbrendans"])
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = _state()
    agenda = f"/api/v1/board-meetings/{meeting.uuid}/agenda/"
    on_it = _post(brooks, agenda, {"action": "remove", "case": str(case.uuid)})
    not_a_case = _post(brooks, agenda, {"action": "remove", "case": str(uuid.uuid4())})
    assert on_it.status_code == 403 and "coordinator" in on_it.json()["detail"]
    assert_same_answer(on_it, not_a_case, case.uuid)
    for client in (brooks, park):
        assert _post(client, f"/api/v1/board-meetings/{meeting.uuid}/publish/").status_code in (403, 404)
        assert (
            _post(client, f"/api/v1/board-meetings/{meeting.uuid}/attendance/", {"user": cast.users["brooks"].pk})
        ).status_code in (403, 404)
        refused = _post(
            client,
            f"/api/v1/board-cases/{case.uuid}/recommendation/",
            {"text": "Surgery.", "category": "surgery", "evidence": "1", "no_trial_suitable": True},
        )
        assert refused.status_code == 403
        assert _post(client, f"/api/v1/board-cases/{case.uuid}/finalise/").status_code == 403
    # The member still reads the agenda and the quorum.
    assert brooks.get(f"/api/v1/board-meetings/{meeting.uuid}/attendance/").status_code == 200
    assert _state() == before


def test_agenda_reorder_move_and_remove_through_the_api(cast, sign_in):
    board = breast_board(cast)
    first, second = maria_case(cast, board), maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    navarro = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    url = f"/api/v1/board-meetings/{meeting.uuid}/agenda/"
    for case in (first, second):
        assert _post(navarro, url, {"action": "add", "case": str(case.uuid)}).status_code == 200
    reordered = _post(navarro, url, {"action": "reorder", "order": [str(second.uuid), str(first.uuid)]})
    assert [c["uuid"] for c in reordered.json()["cases"]] == [str(second.uuid), str(first.uuid)]
    partial = _post(navarro, url, {"action": "reorder", "order": [str(first.uuid)]})
    assert partial.status_code == 400 and "order" in partial.json()["errors"]
    up = _post(navarro, url, {"action": "up", "case": str(first.uuid)})
    assert [c["uuid"] for c in up.json()["cases"]] == [str(first.uuid), str(second.uuid)]
    moved = _post(navarro, url, {"action": "next", "case": str(second.uuid)})
    assert [c["uuid"] for c in moved.json()["cases"]] == [str(first.uuid)]
    later = Case.objects.get(pk=second.pk)
    assert later.meeting.starts_at > meeting.starts_at
    assert later.relationship.ends_at == later.meeting.starts_at + dt.timedelta(days=30)
    # Not on this agenda any more: removing it here is refused, nothing changes.
    before = _state()
    assert _post(navarro, url, {"action": "remove", "case": str(second.uuid)}).status_code == 400
    assert _state() == before
    removed = _post(navarro, url, {"action": "remove", "case": str(first.uuid)})
    assert removed.json()["cases"] == [] and Case.objects.get(pk=first.pk).state == CaseState.SUBMITTED
    # A case missing its pathology report cannot be added: the answer says what is missing.
    lacking = maria_case(cast, board, pathology=False)
    refused = _post(navarro, url, {"action": "add", "case": str(lacking.uuid)})
    assert refused.status_code == 400 and "Pathology report" in refused.json()["errors"]["case"][0]
    # Publishing an empty agenda is refused with the reason.
    empty = _post(navarro, f"/api/v1/board-meetings/{meeting.uuid}/publish/")
    assert empty.status_code == 400 and "empty" in json.dumps(empty.json())


def test_a_deputy_runs_the_board_when_named_and_not_after(cast, sign_in):
    board = breast_board(cast)
    northfield = cast.organizations["northfield"]
    okafor_user = cast.users["okafor"]
    navarro = sign_in(cast.users["navarro"], northfield)
    okafor = sign_in(okafor_user, northfield)
    case = maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    agenda = f"/api/v1/board-meetings/{meeting.uuid}/agenda/"
    assert _post(okafor, agenda, {"action": "add", "case": str(case.uuid)}).status_code == 403
    # Only the coordinator names deputies, and only clinicians of the board's organization.
    before = _state()
    assert _post(okafor, f"/api/v1/boards/{board.uuid}/deputies/", {"user": okafor_user.pk}).status_code == 403
    outsider = _post(navarro, f"/api/v1/boards/{board.uuid}/deputies/", {"user": cast.users["brooks"].pk})
    assert outsider.status_code == 400 and "user" in outsider.json()["errors"]
    assert _state() == before
    named = _post(navarro, f"/api/v1/boards/{board.uuid}/deputies/", {"user": okafor_user.pk})
    assert named.status_code == 200 and named.json()["deputies"] == [okafor_user.email]
    grant = AuditEvent.objects.get(action="grant", object_type="board_deputy", object_id=str(board.uuid))
    assert grant.actor == cast.users["navarro"] and grant.detail["deputy"] == okafor_user.pk
    # The deputy runs the meeting: the agenda, publishing, the recommendation, finalising.
    assert _post(okafor, agenda, {"action": "add", "case": str(case.uuid)}).status_code == 200
    assert _post(okafor, f"/api/v1/board-meetings/{meeting.uuid}/publish/").status_code == 200
    marked = _post(okafor, f"/api/v1/board-meetings/{meeting.uuid}/attendance/", {"user": okafor_user.pk})
    assert marked.status_code == 200
    recorded = _post(
        okafor,
        f"/api/v1/board-cases/{case.uuid}/recommendation/",
        {"text": "Surgery first.", "category": "surgery", "evidence": "2B", "no_trial_suitable": True},
    )
    assert recorded.status_code == 200 and recorded.json()["recommendation"]["trial"] == ""
    assert _post(okafor, f"/api/v1/board-cases/{case.uuid}/finalise/").json()["state"] == "finalised"
    assert Recommendation.objects.get(case=case).finalised_by == okafor_user
    # The deputy is told of new cases as the coordinator is.
    second = maria_case(cast, board)
    assert Notification.objects.filter(recipient=okafor_user, link=f"/boards/cases/{second.uuid}/").exists()
    # The page shows the deputy; removed, they run nothing any more.
    page = navarro.get(f"/boards/{board.uuid}/")
    assert b"deputies Olivia Okafor" in page.content
    removed = _post(navarro, f"/api/v1/boards/{board.uuid}/deputies/", {"user": okafor_user.pk, "named": False})
    assert removed.status_code == 200 and removed.json()["deputies"] == []
    assert AuditEvent.objects.filter(action="revoke", object_type="board_deputy").count() == 1
    later = next_open_meeting(board=board)
    assert _post(okafor, f"/api/v1/board-meetings/{later.uuid}/publish/").status_code == 403


def test_a_deputy_is_named_and_removed_on_the_board_page(cast, sign_in):
    board = breast_board(cast)
    northfield = cast.organizations["northfield"]
    navarro = sign_in(cast.users["navarro"], northfield)
    page = navarro.get(f"/boards/{board.uuid}/")
    assert b"Name a deputy" in page.content and b"Olivia Okafor" in page.content
    bad = navarro.post(f"/boards/{board.uuid}/act/", {"action": "add_deputy", "user": cast.users["brooks"].pk})
    assert bad.status_code == 400 and not board.deputies.exists()
    okafor = sign_in(cast.users["okafor"], northfield)
    refused = okafor.post(f"/boards/{board.uuid}/act/", {"action": "add_deputy", "user": cast.users["okafor"].pk})
    assert refused.status_code == 403 and not board.deputies.exists()
    navarro.post(f"/boards/{board.uuid}/act/", {"action": "add_deputy", "user": cast.users["okafor"].pk})
    assert list(board.deputies.all()) == [cast.users["okafor"]]
    # As a deputy, Dr. Okafor's meeting page is the coordinator's (the room view).
    case = maria_case(cast, board)
    meeting = next_open_meeting(board=board)
    room = okafor.post(f"/boards/meetings/{meeting.uuid}/act/", {"action": "add", "case": case.uuid})
    assert room.status_code == 302 and Case.objects.get(pk=case.pk).meeting == meeting
    # Those who run the board are marked present like its members (as nursing and navigation).
    marked = okafor.post(
        f"/boards/meetings/{meeting.uuid}/act/",
        {"action": "attendance", "user": cast.users["navarro"].pk, "present": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert b"Nina Navarro, RN is present: mark absent" in marked.content
    assert Attendance.objects.get(meeting=meeting, user=cast.users["navarro"]).specialty == "nursing"
    navarro.post(f"/boards/{board.uuid}/act/", {"action": "remove_deputy", "user": cast.users["okafor"].pk})
    assert not board.deputies.exists()


def test_escalations_send_each_person_to_a_page_at_an_address_where_they_act(cast, sign_in):
    from portal.accounts.models import Membership, User

    board = breast_board(cast)
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    navigator = User.objects.create_user("rn.moss@maple.example", "x-long-password-123", full_name="Rae Moss")
    Membership.objects.create(user=navigator, organization=maple, role="nurse_navigator")
    case = maria_case(cast, board)
    meeting = on_published_agenda(cast, case)
    discussed(cast, case)
    # The meeting was held this morning; the board's access runs to 30 days after it.
    held = timezone.now() - dt.timedelta(hours=2)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=held)
    CareRelationship.objects.filter(pk=case.relationship_id).update(ends_at=held + dt.timedelta(days=30))
    meeting.refresh_from_db()
    recommendation_finalise(case=case, user=cast.users["navarro"], organization=northfield)
    case.refresh_from_db()
    finalised = case.finalised_at
    link = f"/boards/cases/{case.uuid}/"
    assert board_escalations_run(now=finalised + dt.timedelta(days=10)) == 2  # both levels of the acknowledgement
    told = {n.recipient: n for n in Notification.objects.filter(kind="escalation", link=link)}
    assert told[cast.users["park"]].organization == maple
    assert told[navigator].organization == maple
    assert told[cast.users["navarro"]].organization == northfield and told[cast.users["navarro"]].urgent
    assert Escalation.objects.get(object_type="board_ack", object_id=case.pk, level=2).recipient_count == 2
    # Past the follow-up's second step (32 days after finalising, beyond 30 days after the
    # meeting), the coordinator's link still opens at Northfield: finalising renewed the access.
    later = finalised + dt.timedelta(days=33)
    assert meeting.starts_at + dt.timedelta(days=30) < later
    assert CareRelationship.objects.get(pk=case.relationship_id).ends_at >= later
    assert board_escalations_run(now=later) == 2
    followup = Notification.objects.get(
        kind="escalation", recipient=cast.users["navarro"], title__endswith="follow-up not recorded"
    )
    assert followup.organization == northfield and followup.link == link
    page = sign_in(cast.users["navarro"], northfield).get(link)
    assert page.status_code == 200 and b"record whether it was followed" in page.content
    assert b"Write to them in the recommendation" in page.content
    # The submitter's link opens at Maple.
    assert sign_in(cast.users["park"], maple).get(link).status_code == 200


def test_the_finalised_recommendation_reads_as_a_fhir_document_reference(cast, sign_in):
    from portal.fhir.mapping import BOARD_RECOMMENDATION_EXTENSION, NCCN_EVIDENCE_SYSTEM
    from tests.fhir.helpers import fhir_json, resources_of

    board = breast_board(cast)
    case = maria_case(cast, board)
    discussed(cast, case)
    recommendation = recommendation_finalise(
        case=case, user=cast.users["navarro"], organization=cast.organizations["northfield"]
    )
    entry = recommendation.entry
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    everything = fhir_json(park.get(f"/fhir/R4/Patient/{maria.uuid}/$everything"))  # validated with R4B
    [document] = [r for r in resources_of(everything, "DocumentReference") if r["id"] == str(entry.uuid)]
    assert document["custodian"]["reference"] == f"Organization/{cast.organizations['northfield'].uuid}"
    assert document["status"] == "current" and document["docStatus"] == "final"
    assert {c["code"] for c in document["type"]["coding"]} == {"11488-4", "tumor_board_recommendation"}
    [structured] = [e for e in document["extension"] if e["url"] == BOARD_RECOMMENDATION_EXTENSION]
    parts = {part["url"]: part for part in structured["extension"]}
    assert parts["category"]["valueCodeableConcept"]["coding"][0]["code"] == "systemic_therapy"
    evidence = parts["evidenceCategory"]["valueCodeableConcept"]["coding"][0]
    assert (evidence["system"], evidence["code"]) == (NCCN_EVIDENCE_SYSTEM, "2A")
    assert parts["clinicalTrial"]["valueString"] == "NCT04000000 (POSNOC-2)"
    assert parts["geneticCounsellingReferral"]["valueBoolean"] is True
    assert parts["dissent"]["valueString"] == "Dr. Brooks favoured surgery first."
    assert parts["quorumMet"]["valueBoolean"] is False
    text = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
    assert "Neoadjuvant endocrine therapy" in text and "NCCN category 2A" in text
    # Read alone, and its Provenance names the board's organization.
    alone = fhir_json(park.get(f"/fhir/R4/DocumentReference/{entry.uuid}"))
    assert alone["id"] == str(entry.uuid)
    provenance = fhir_json(park.get(f"/fhir/R4/Provenance/{entry.uuid}-provenance"))
    assert provenance["target"][0]["reference"].startswith(f"DocumentReference/{entry.uuid}")
    # "None suitable" is a coded yes, not a trial's name.
    none = {"clinical_trial": "None suitable", "genetic_counselling": "no", "evidence": "1", "category": "surgery"}
    from portal.fhir.mapping import board_recommendation_resources
    from tests.fhir.helpers import validate

    source_resource = board_recommendation_resources(_source(entry, none))[0]
    validate(source_resource)
    parts = {part["url"]: part for part in source_resource["extension"][0]["extension"]}
    assert parts["noClinicalTrialSuitable"]["valueBoolean"] is True and "clinicalTrial" not in parts
    # Those who may not see Maria read nothing of it.
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(f"/fhir/R4/DocumentReference/{entry.uuid}").status_code == 404
    assert chen.get(f"/fhir/R4/Patient/{maria.uuid}/$everything").status_code == 404


def _source(entry: Any, data: dict[str, Any]) -> Any:
    from portal.fhir.mapping import Source

    return Source(
        entry_id=str(entry.uuid),
        kind="tumor_board_recommendation",
        patient_id=str(entry.patient.uuid),
        organization_id=str(entry.organization.uuid),
        organization_name=entry.organization.name,
        version=1,
        state="final",
        effective_at=entry.effective_at,
        updated_at=entry.published_at,
        title=entry.title,
        code="",
        data=data,
    )
