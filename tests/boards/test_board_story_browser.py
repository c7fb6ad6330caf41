"""In a real browser, the whole story: Dr. Ortega at Lakeside submits a patient to
Northfield's breast board; Nina Navarro puts the case on Tuesday's agenda and publishes it,
takes attendance, records the board's recommendation with an NCCN category and a trial, and
finalises it; Dr. Ortega reads it on the chart and records that it was followed."""

from __future__ import annotations

import os
import uuid

import pytest
from django_tenants.utils import schema_context

from portal.boards.demo import breast_record_ensure
from portal.boards.models import Board, BoardMember, Case, CaseState, Meeting, Recommendation
from portal.boards.services import board_create, board_member_add
from portal.messaging.models import Thread
from portal.notifications.models import Notification
from portal.patients.models import CareRelationship, RegistryEntry
from portal.records.models import ClinicalItem
from tests.care.test_referral_browser import sign_in_through_the_form
from tests.conftest import BASE_DIR, org_url

pytestmark = pytest.mark.browser


def _shot(page, name):
    folder = os.path.join(BASE_DIR, "test-artifacts", "screenshots")
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _lakeside_patient(cast):
    relationship = (
        CareRelationship.objects.filter(organization=cast.organizations["lakeside"], kind="care_team")
        .exclude(patient=cast.patients["maria"])
        .select_related("patient")
        .order_by("patient__pk")
        .first()
    )
    return relationship.patient


def _clean_up(cast, board, patient):
    cases = list(Case.objects.filter(board=board))
    entry_ids = []
    for case in cases:
        recommendation = Recommendation.objects.filter(case=case).first()
        if recommendation is not None:
            if recommendation.thread_id:
                Thread.objects.filter(pk=recommendation.thread_id).delete()
            if recommendation.entry_id:
                entry_ids.append(recommendation.entry_id)
            recommendation.delete()
        Notification.objects.filter(link__startswith=f"/boards/cases/{case.uuid}/").delete()
        relationship_id = case.relationship_id
        case.delete()
        CareRelationship.objects.filter(pk=relationship_id).delete()
    for meeting in Meeting.objects.filter(board=board):
        Notification.objects.filter(link=f"/boards/meetings/{meeting.uuid}/").delete()
    BoardMember.objects.filter(board=board).delete()
    Meeting.objects.filter(board=board).delete()
    board.delete()
    for entry in RegistryEntry.objects.filter(pk__in=entry_ids) | RegistryEntry.objects.filter(
        patient=patient, organization=cast.organizations["lakeside"], title__icontains="breast"
    ):
        with schema_context(entry.organization.schema_name):
            ClinicalItem.objects.filter(pk=entry.item_uuid).delete()
        entry.delete()


def test_a_lakeside_case_goes_through_the_breast_board_and_back_to_the_chart(portal_server, committed, page):
    cast = committed
    port = portal_server
    northfield = cast.organizations["northfield"]
    name = f"Breast tumor board {uuid.uuid4().hex[:4]}"
    board = board_create(
        organization=northfield,
        name=name,
        coordinator=cast.users["navarro"],
        disease_sites=["Breast"],
        video_link="https://video.northfield.example/breast",
        quorum_specialties=["surgery", "medical_oncology"],
    )
    board_member_add(board=board, user=cast.users["okafor"], organization=northfield, specialty="medical_oncology")
    board_member_add(
        board=board, user=cast.users["brooks"], organization=cast.organizations["stbrendans"], specialty="surgery"
    )
    patient = _lakeside_patient(cast)
    try:
        breast_record_ensure(cast, patient)

        # Dr. Ortega submits the patient from Lakeside; the record's entries are prefilled.
        sign_in_through_the_form(page, port, "lakeside", cast.users["ortega"].email)
        page.goto(org_url(port, "lakeside", f"/boards/cases/new/?patient={patient.uuid}"))
        page.get_by_label("Board", exact=True).select_option(label=f"{name} — Northfield Cancer Institute")
        page.get_by_label("Question for the board").fill("cT2 cN1 ER/PR+ HER2-: neoadjuvant therapy or surgery first?")
        page.get_by_label("Prospective (treatment not yet decided)").check()
        assert page.get_by_label("Core biopsy, left breast").is_checked()
        _shot(page, "boards_01_submit_case")
        page.get_by_role("button", name="Submit the case").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Case submitted.").is_visible()
        case = Case.objects.get(board=board)
        assert case.is_ready and case.relationship.organization == northfield

        # Nina Navarro builds Tuesday's agenda on a tablet, publishes it and runs the meeting.
        page.set_viewport_size({"width": 768, "height": 1024})
        sign_in_through_the_form(page, port, "northfield", cast.users["navarro"].email)
        page.goto(org_url(port, "northfield", f"/boards/{board.uuid}/"))
        _shot(page, "boards_01b_board_coordinator")
        page.get_by_role("link", name="Open the meeting").click()
        page.get_by_role("button", name=f"Add {patient.full_name} to this agenda").click()
        page.get_by_role("button", name="Publish the agenda").wait_for()
        page.get_by_role("button", name="Publish the agenda").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Agenda published; the members have been told.").is_visible()
        assert Notification.objects.filter(recipient=cast.users["brooks"], title__startswith=name).exists()
        page.get_by_role("button", name="Mark Olivia Okafor, MD present").click()
        page.get_by_role("button", name="Olivia Okafor, MD is present: mark absent").wait_for()
        page.get_by_text("No quorum yet — missing: Surgery").wait_for()
        page.get_by_role("button", name="Mark Hannah Brooks, MD present").click()
        page.get_by_text("Quorum met").wait_for()
        _shot(page, "boards_02_meeting_tablet")
        page.get_by_role("link", name=f"1. {patient.full_name}").click()
        page.get_by_label("Category", exact=True).select_option("systemic_therapy")
        page.get_by_label("NCCN evidence category", exact=True).select_option("2A")
        page.get_by_label("Treatment recommendation").fill(
            "Neoadjuvant endocrine therapy, then breast-conserving surgery."
        )
        page.get_by_label("Clinical trial considered").fill("NCT04000000")
        page.get_by_label("Refer for genetic counselling").check()
        page.get_by_role("button", name="Record recommendation").click()
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Finalise and send").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Recommendation finalised: it is on the patient's record").is_visible()
        _shot(page, "boards_03_recommendation_finalised")
        case.refresh_from_db()
        assert case.state == CaseState.FINALISED

        # Dr. Ortega reads it on the chart and records that it was followed.
        page.set_viewport_size({"width": 1180, "height": 820})
        page.goto(org_url(port, "lakeside", f"/patients/{patient.uuid}/"))
        page.get_by_text(f"{name}: recommendation").first.wait_for()
        _shot(page, "boards_04_chart_with_recommendation")
        page.goto(org_url(port, "lakeside", f"/boards/cases/{case.uuid}/"))
        assert page.get_by_text("NCT04000000").is_visible()
        page.get_by_label("Followed", exact=True).check()
        page.get_by_role("button", name="Record follow-up").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Follow-up recorded.").is_visible()
        assert Recommendation.objects.get(case=case).followup == "followed"
    finally:
        _clean_up(cast, Board.objects.get(pk=board.pk), patient)
