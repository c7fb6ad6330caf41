"""Care tasks, hand-offs and referrals never show a patient to an organization that may not
see them: a task's owner and a hand-off's receiver must care for the patient, and every
care read also asks whether the viewer may see the patient, so even a row written before
that rule leaks nothing. A referral's receiver sees what the referral carries, no more."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.care import selectors
from portal.care.models import CareTask, Handoff, Referral, TaskOccurrence
from portal.care.services import care_task_create, handoff_send, recurrence_rule, referral_create, referral_transition
from portal.notifications.models import Delivery, Notification
from tests.care.helpers import current_occurrence, entry


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _written():
    """What a refused write must leave as it was."""
    return (
        CareTask.objects.count(),
        TaskOccurrence.objects.count(),
        Handoff.objects.count(),
        Notification.objects.count(),
        Delivery.objects.count(),
    )


def _cbc_for(cast, owner_slug):
    return care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        owner_organization=cast.organizations[owner_slug],
        title="Basic metabolic panel",
        code="51990-0",
        recurrence=recurrence_rule(times_per_week=1, weeks=2),
        starts_at=timezone.now() - dt.timedelta(days=8),
    )


def _task_written_before_the_rule(cast):
    """A task about Maria owned by Cedar Valley, as the old form let anyone write it."""
    task = CareTask.objects.create(
        patient=cast.patients["maria"],
        created_by=cast.users["okafor"],
        creating_organization=cast.organizations["northfield"],
        owner_organization=cast.organizations["cedarvalley"],
        title="Basic metabolic panel",
        code="51990-0",
    )
    TaskOccurrence.objects.create(task=task, due_at=timezone.now() - dt.timedelta(days=2))
    return task


# --- Writing: the owner must care for the patient -------------------------------------


def test_a_task_for_cedar_valley_about_maria_is_refused_and_nothing_is_written_or_sent(cast):
    before = _written()
    with pytest.raises(ValidationError) as error:
        _cbc_for(cast, "cedarvalley")
    assert "does not care for this patient" in error.value.message_dict["owner_organization"][0]
    assert _written() == before
    assert not Notification.objects.filter(recipient=cast.users["chen"]).exists()


def test_the_task_form_offers_only_organizations_caring_for_the_patient(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    maria = cast.patients["maria"]
    page = okafor.get(f"/care/tasks/new/?patient={maria.uuid}").content.decode()
    start = page.index('<select name="owner_organization"')
    owner_select = page[start : page.index("</select>", start)]
    assert "Maple Family Medicine" in owner_select and "Northfield Cancer Institute" in owner_select
    assert "Cedar Valley" not in owner_select and "Lakeside" not in owner_select
    # Choosing another patient reloads the list (HTMX swaps in the select of this page).
    assert 'hx-get="/care/tasks/new/"' in page and 'hx-select="#id_owner_organization"' in page
    blank = okafor.get("/care/tasks/new/").content.decode()
    assert "Choose the patient first" in blank and "Cedar Valley" not in blank


def test_posting_the_task_form_for_cedar_valley_about_maria_changes_nothing(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = _written()
    response = okafor.post(
        "/care/tasks/new/",
        {
            "patient": str(cast.patients["maria"].uuid),
            "owner_organization": cast.organizations["cedarvalley"].pk,
            "title": "Basic metabolic panel",
            "schedule": "once",
            "due_at": (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "confirm_duplicate": "1",
        },
    )
    assert response.status_code == 200 and b"field-error" in response.content
    assert _written() == before


def test_the_api_answers_400_for_a_task_owned_by_cedar_valley_about_maria(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = _written()
    response = _post(
        okafor,
        "/api/v1/care-tasks/",
        {
            "patient": str(cast.patients["maria"].uuid),
            "owner_organization": str(cast.organizations["cedarvalley"].uuid),
            "title": "Basic metabolic panel",
            "due_at": (timezone.now() + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and "does not care for this patient" in body["errors"]["owner_organization"][0]
    assert _written() == before


def test_a_handoff_to_an_organization_that_does_not_care_for_the_patient_is_refused(cast, sign_in):
    before = _written()
    with pytest.raises(ValidationError) as error:
        handoff_send(
            user=cast.users["okafor"],
            organization=cast.organizations["northfield"],
            patient=cast.patients["maria"],
            to_organization=cast.organizations["cedarvalley"],
            kind="survivorship",
            treatment_summary="R-CHOP x6",
            items=[{"section": "symptoms", "text": "Fever", "responsible": "oncology"}],
        )
    assert "to_organization" in error.value.message_dict
    assert _written() == before
    form = sign_in(cast.users["okafor"], cast.organizations["northfield"]).get(
        f"/care/handoffs/new/?patient={cast.patients['maria'].uuid}"
    )
    assert b"Maple Family Medicine" in form.content and b"Cedar Valley" not in form.content


# --- Reading: the four actors, and rows written before the rule ------------------------


def test_a_task_about_maria_four_actors_on_list_detail_and_api(cast, sign_in, anonymous):
    task = _cbc_for(cast, "maple")
    maple, cedarvalley = cast.organizations["maple"], cast.organizations["cedarvalley"]
    detail, link = f"/care/tasks/{task.uuid}/", f"/api/v1/care-tasks/{task.uuid}/link-result/"
    occurrence = current_occurrence(task)
    result = entry(cast.patients["maria"], maple, title="Basic metabolic panel", code="51990-0")
    link_body = {"occurrence": occurrence.pk, "entry": str(result.uuid)}

    nobody = anonymous(maple)
    assert nobody.get("/care/tasks/").status_code == 302
    assert nobody.get(detail).status_code == 302
    assert nobody.get("/api/v1/care-tasks/").status_code == 403
    assert _post(nobody, link, link_body).status_code == 403

    chen = sign_in(cast.users["chen"], cedarvalley)
    listed = chen.get("/care/tasks/")
    assert listed.status_code == 200 and b"Maria" not in listed.content
    assert chen.get(detail).status_code == 404
    assert chen.get("/api/v1/care-tasks/").json()["results"] == []
    assert _post(chen, link, link_body).status_code == 404

    roleless = sign_in(cast.users["maple_admin"], maple)
    assert roleless.get("/care/tasks/").status_code == 404
    assert roleless.get(detail).status_code == 404
    assert roleless.get("/api/v1/care-tasks/").json()["results"] == []
    assert _post(roleless, link, link_body).status_code == 404

    assert TaskOccurrence.objects.get(pk=occurrence.pk).done_at is None
    assert not AuditEvent.objects.filter(object_type="care_task", actor__in=[cast.users["chen"]]).exists()

    park = sign_in(cast.users["park"], maple)
    assert b"Maria Alvarez" in park.get("/care/tasks/").content
    page = park.get(detail)
    assert page.status_code == 200 and b"Basic metabolic panel: Maria Alvarez" in page.content
    assert [t["uuid"] for t in park.get("/api/v1/care-tasks/").json()["results"]] == [str(task.uuid)]
    assert _post(park, link, link_body).status_code == 200


def test_a_task_written_before_the_rule_shows_chen_nothing_of_maria(cast, sign_in):
    task = _task_written_before_the_rule(cast)
    chen_user, cedarvalley = cast.users["chen"], cast.organizations["cedarvalley"]
    notifications = Notification.objects.count()
    audits = AuditEvent.objects.filter(actor=chen_user).exclude(outcome="denied").count()
    chen = sign_in(chen_user, cedarvalley)
    listed = chen.get("/care/tasks/")
    assert b"Maria" not in listed.content and b"Basic metabolic panel" not in listed.content
    assert chen.get(f"/care/tasks/{task.uuid}/").status_code == 404
    assert chen.get("/api/v1/care-tasks/").json()["results"] == []
    occurrence = task.occurrences.get()
    result = entry(cast.patients["maria"], cast.organizations["maple"], title="BMP")
    assert (
        _post(
            chen,
            f"/api/v1/care-tasks/{task.uuid}/link-result/",
            {"occurrence": occurrence.pk, "entry": str(result.uuid)},
        ).status_code
        == 404
    )
    # The selectors themselves, whatever page or endpoint asks them:
    with pytest.raises(Http404):
        selectors.task_get_for_user(user=chen_user, organization=cedarvalley, task_uuid=task.uuid)
    with pytest.raises(Http404):
        selectors.occurrence_get_for_user(
            user=chen_user, organization=cedarvalley, task=task, occurrence_id=occurrence.pk
        )
    assert not any(
        choices.offered
        for choices in selectors.occurrence_link_choices(
            user=chen_user, organization=cedarvalley, task=task, occurrences=list(task.occurrences.all())
        )
    )
    assert (
        selectors.result_to_link_get(user=chen_user, organization=cedarvalley, task=task, entry_uuid=result.uuid)
        is None
    )
    # Nothing was read in Maria's name, nothing was sent, nothing changed.
    assert not AuditEvent.objects.filter(actor=chen_user, patient=cast.patients["maria"]).exists()
    # (her refused requests are audited as denied, which is the point of them)
    assert (
        AuditEvent.objects.filter(actor=chen_user).exclude(action="search").exclude(outcome="denied").count() == audits
    )
    assert Notification.objects.count() == notifications
    assert TaskOccurrence.objects.get(pk=occurrence.pk).done_at is None
    # Northfield, which asked for it and cares for Maria, still sees it.
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    assert okafor.get(f"/care/tasks/{task.uuid}/").status_code == 200


def test_a_handoff_written_before_the_rule_shows_chen_nothing(cast, sign_in):
    handoff = Handoff.objects.create(
        patient=cast.patients["maria"],
        from_organization=cast.organizations["northfield"],
        from_user=cast.users["okafor"],
        to_organization=cast.organizations["cedarvalley"],
        treatment_summary="R-CHOP x6",
        items=[],
    )
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert b"Maria" not in chen.get("/care/handoffs/").content
    assert chen.get(f"/care/handoffs/{handoff.uuid}/").status_code == 404
    assert chen.post(f"/care/handoffs/{handoff.uuid}/").status_code == 404
    assert chen.get("/api/v1/handoffs/").json()["results"] == []
    assert _post(chen, f"/api/v1/handoffs/{handoff.uuid}/acknowledge/", {}).status_code == 404
    assert Handoff.objects.get(pk=handoff.pk).acknowledged_at is None
    assert not AuditEvent.objects.filter(actor=cast.users["chen"], patient=cast.patients["maria"]).exists()


# --- Referrals: how a new organization comes to care for a patient ---------------------


def test_a_referral_to_cedar_valley_shows_chen_only_what_it_carries_until_accepted(cast, sign_in):
    maria, maple, cedarvalley = cast.patients["maria"], cast.organizations["maple"], cast.organizations["cedarvalley"]
    attached = entry(maria, maple, "pathology_report", code="", title="Lymph node biopsy")
    entry(maria, maple, "lab_result", code="4548-4", title="Unattached lipid panel")
    referral = referral_create(
        user=cast.users["park"],
        organization=maple,
        patient=maria,
        receiving_organization=cedarvalley,
        specialty="Primary-care follow-up",
        reason="Moving closer to Cedar Valley",
        attachments=[attached],
    )
    chen = sign_in(cast.users["chen"], cedarvalley)
    page = chen.get(f"/care/referrals/{referral.uuid}/").content.decode()
    assert "Maria Alvarez" in page and "Primary-care follow-up" in page and "Lymph node biopsy" in page
    assert "Unattached lipid panel" not in page and "Hemoglobin" not in page
    assert "Maria Alvarez" in chen.get("/care/").content.decode()
    # Nothing else of her record, and no other way in, before accepting:
    assert chen.get(f"/patients/{maria.uuid}/").status_code == 404
    assert b"Maria" not in chen.get("/care/tasks/new/").content
    assert chen.get(f"/care/handoffs/new/?patient={maria.uuid}").status_code == 404
    for action in ("receive", "accept"):
        referral_transition(referral=referral, action=action, user=cast.users["chen"], organization=cedarvalley)
    assert chen.get(f"/patients/{maria.uuid}/").status_code == 200


def test_an_outbound_referral_about_a_patient_the_referrer_cannot_see_shows_nothing(cast, sign_in):
    referral = Referral.objects.create(
        patient=cast.patients["maria"],
        referring_organization=cast.organizations["cedarvalley"],
        receiving_organization=cast.organizations["northfield"],
        referred_by=cast.users["chen"],
        specialty="Oncology consult",
    )
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert b"Maria" not in chen.get("/care/referrals/outbound/").content
    assert chen.get(f"/care/referrals/{referral.uuid}/").status_code == 404
    assert chen.get("/api/v1/referrals/?direction=outbound").json()["results"] == []
    assert chen.get(f"/api/v1/referrals/{referral.uuid}/").status_code == 404
