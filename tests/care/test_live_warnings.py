"""Warnings while a task or hand-off form is filled (HTMX checks), and only about patients
the user may see."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from portal.care.models import CareTask, Handoff
from portal.care.selectors import same_test_done_elsewhere
from portal.care.services import care_task_create, handoff_send
from portal.notifications.models import Notification
from tests.care.helpers import entry


def _task_form(cast, **extra):
    return {
        "patient": str(cast.patients["maria"].uuid),
        "owner_organization": cast.organizations["maple"].pk,
        "title": "CBC",
        "code": "58410-2",
        **extra,
    }


def test_the_task_check_warns_live_of_a_test_done_elsewhere(cast, sign_in):
    entry(cast.patients["maria"], cast.organizations["stbrendans"], days_ago=3)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get(f"/care/tasks/new/?patient={cast.patients['maria'].uuid}").content.decode()
    assert 'hx-post="/care/tasks/check/"' in page and 'hx-trigger="change"' in page and 'id="task-warnings"' in page
    response = okafor.post("/care/tasks/check/", _task_form(cast), HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and "done recently elsewhere" in text and "St. Brendan" in text


def test_the_owners_own_result_is_never_done_elsewhere(cast):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    own = entry(maria, maple, days_ago=2, title="CBC panel")
    other = entry(maria, cast.organizations["stbrendans"], days_ago=2, title="CBC panel")
    found = same_test_done_elsewhere(
        patient=maria, organization=northfield, owner_organization=maple, kind="lab_result", code="58410-2"
    )
    assert other in found and own not in found


def test_the_task_check_warns_of_an_open_task_for_the_same_test(cast, sign_in):
    maria = cast.patients["maria"]
    care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=maria,
        owner_organization=cast.organizations["maple"],
        title="CBC with differential",
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    text = okafor.post("/care/tasks/check/", _task_form(cast), HTTP_HX_REQUEST="true").content.decode()
    assert "An open task already asks for this test" in text and "CBC with differential" in text
    # Submitting without confirming shows the same warning and creates nothing.
    before = CareTask.objects.count()
    data = _task_form(cast, schedule="once", due_at=(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    response = okafor.post("/care/tasks/new/", data)
    assert response.status_code == 200 and "An open task already asks for this test" in response.content.decode()
    assert CareTask.objects.count() == before
    assert okafor.post("/care/tasks/new/", {**data, "confirm_duplicate": "1"}).status_code == 302
    assert CareTask.objects.count() == before + 1


def test_the_task_check_says_nothing_about_a_patient_one_may_not_see(cast, sign_in, anonymous):
    maria = cast.patients["maria"]
    entry(maria, cast.organizations["stbrendans"], days_ago=3)
    care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=maria,
        owner_organization=cast.organizations["maple"],
        title="CBC",
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    before = (CareTask.objects.count(), Notification.objects.count())
    cedar = cast.organizations["cedarvalley"]
    chen = sign_in(cast.users["chen"], cedar)
    response = chen.post("/care/tasks/check/", _task_form(cast), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "alert" not in response.content.decode() and "CBC" not in response.content.decode()
    assert anonymous(cedar).post("/care/tasks/check/", _task_form(cast)).status_code == 302
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    assert admin.post("/care/tasks/check/", _task_form(cast)).status_code == 404
    assert (CareTask.objects.count(), Notification.objects.count()) == before


def _plan(cast):
    return handoff_send(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        to_organization=cast.organizations["maple"],
        to_user=cast.users["park"],
        kind="survivorship",
        treatment_summary="R-CHOP x6",
        items=[{"section": "symptoms", "text": "Fever", "responsible": "oncology"}],
    )


def test_a_second_open_survivorship_plan_warns_before_sending(cast, sign_in):
    _plan(cast)
    maria = cast.patients["maria"]
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get(f"/care/handoffs/new/?patient={maria.uuid}").content.decode()
    assert "already waiting for acknowledgement" in page and 'hx-post="/care/handoffs/check/"' in page
    check = okafor.post("/care/handoffs/check/", {"patient": str(maria.uuid), "kind": "survivorship"})
    assert "already waiting for acknowledgement" in check.content.decode()
    assert (
        "already waiting"
        not in okafor.post("/care/handoffs/check/", {"patient": str(maria.uuid), "kind": "discharge"}).content.decode()
    )
    data = {
        "patient": str(maria.uuid),
        "kind": "survivorship",
        "to_organization": cast.organizations["maple"].pk,
        "treatment_summary": "R-CHOP x6",
        "item-0-section": "symptoms",
        "item-0-text": "Fever",
        "item-0-responsible": "oncology",
    }
    assert okafor.post("/care/handoffs/new/", data).status_code == 400
    assert Handoff.objects.count() == 1
    assert okafor.post("/care/handoffs/new/", {**data, "confirm_duplicate": "1"}).status_code == 302
    assert Handoff.objects.count() == 2


def test_the_handoff_check_says_nothing_about_a_patient_one_may_not_see(cast, sign_in):
    _plan(cast)
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    response = chen.post("/care/handoffs/check/", {"patient": str(cast.patients["maria"].uuid), "kind": "survivorship"})
    assert response.status_code == 200 and "alert" not in response.content.decode()
