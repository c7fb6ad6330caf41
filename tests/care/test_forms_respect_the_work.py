"""Forms that respect the work: a schedule for a repeating task, multi-line plan items, a
consult report dated today, an invitation form that clears, privacy apart from the buttons."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from django_tenants.utils import schema_context

from portal.accounts.models import Invitation
from portal.care.forms import CareTaskForm
from portal.care.models import CareTask, Handoff
from portal.patients.models import RegistryEntry
from portal.patients.selectors import visible_patients
from portal.records.models import ClinicalItem


def _form(cast, **data):
    northfield = cast.organizations["northfield"]
    maria = cast.patients["maria"]
    base = {
        "patient": str(maria.uuid),
        "owner_organization": cast.organizations["maple"].pk,
        "title": "Hemoglobin",
        "code": "718-7",
    }
    return CareTaskForm(
        {**base, **data},
        patients=visible_patients(user=cast.users["okafor"], organization=northfield),
        organization=northfield,
        patient=maria,
    )


def test_a_repeating_task_needs_its_schedule_not_a_due_date(cast):
    missing = _form(cast, schedule="weekly", times_per_week="2")
    assert not missing.is_valid() and "weeks" in missing.errors
    by_weeks = _form(cast, schedule="weekly", times_per_week="2", weeks="3", due_at="2026-01-01T09:00")
    assert by_weeks.is_valid(), by_weeks.errors
    assert by_weeks.cleaned_data["due_at"] is None  # a due date does not apply to a schedule
    until = timezone.localdate() + dt.timedelta(days=20)
    by_date = _form(cast, schedule="weekly", times_per_week="1", until=until.isoformat())
    assert by_date.is_valid(), by_date.errors
    both = _form(cast, schedule="weekly", times_per_week="1", weeks="2", until=until.isoformat())
    assert not both.is_valid() and "until" in both.errors
    backwards = _form(
        cast, schedule="weekly", times_per_week="1", starts_on=until.isoformat(), until=timezone.localdate().isoformat()
    )
    assert not backwards.is_valid() and "until" in backwards.errors


def test_a_one_off_task_needs_its_due_date_and_ignores_a_schedule(cast):
    missing = _form(cast, schedule="once", weeks="3")
    assert not missing.is_valid() and "due_at" in missing.errors
    once = _form(cast, schedule="once", due_at="2026-12-20T09:00", weeks="3", times_per_week="2")
    assert once.is_valid() and once.cleaned_data["weeks"] is None


def test_a_task_repeating_until_a_date_has_its_occurrences_up_to_that_day(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    start = timezone.localdate()
    until = start + dt.timedelta(days=13)
    response = okafor.post(
        "/care/tasks/new/",
        {
            "patient": str(cast.patients["maria"].uuid),
            "owner_organization": cast.organizations["maple"].pk,
            "title": "Hemoglobin",
            "code": "718-7",
            "schedule": "weekly",
            "starts_on": start.isoformat(),
            "times_per_week": "1",
            "until": until.isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = CareTask.objects.get(title="Hemoglobin", patient=cast.patients["maria"])
    dates = [timezone.localtime(o.due_at).date() for o in task.occurrences.order_by("due_at")]
    assert dates and all(start <= d <= until for d in dates) and len(dates) == 2
    assert "UNTIL=" in task.recurrence


def test_the_task_form_shows_the_schedule_apart_from_the_due_date_without_inline_script(cast, sign_in):
    page = sign_in(cast.users["okafor"], cast.organizations["northfield"]).get("/care/tasks/new/").content.decode()
    once = page[page.index('class="schedule-once"') : page.index('class="schedule-repeats"')]
    repeats = page[page.index('class="schedule-repeats"') :]
    assert 'name="due_at"' in once and 'name="due_at"' not in repeats
    for name in ("starts_on", "times_per_week", "weeks", "until"):
        assert f'name="{name}"' in repeats
    form = page[page.index('<form method="post" class="card task-form"') :]
    assert not re.search(r"\son\w+=", form) and "style=" not in form and "<script" not in form


def test_handoff_plan_items_are_multi_line(cast, sign_in):
    maria = cast.patients["maria"]
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get(f"/care/handoffs/new/?patient={maria.uuid}").content.decode()
    assert '<textarea class="plan-item-text"' in page and 'name="item-0-text"' in page
    response = okafor.post(
        "/care/handoffs/new/",
        {
            "patient": str(maria.uuid),
            "kind": "survivorship",
            "to_organization": cast.organizations["maple"].pk,
            "treatment_summary": "R-CHOP x6",
            "item-0-section": "follow_up",
            "item-0-text": "Oncology visit every 3 months\nthen every 6 months",
            "item-0-responsible": "oncology",
        },
    )
    assert response.status_code == 302
    handoff = Handoff.objects.get(patient=maria)
    assert handoff.items[0]["text"] == "Oncology visit every 3 months\nthen every 6 months"
    detail = okafor.get(f"/care/handoffs/{handoff.uuid}/").content.decode()
    assert "Oncology visit every 3 months<br>then every 6 months" in detail


def test_the_consult_reports_date_starts_as_today(cast, sign_in):
    maria = cast.patients["maria"]
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get(f"/records/new/{maria.uuid}/consult_note/").content.decode()
    assert f'value="{timezone.localdate().isoformat()}"' in page
    diagnosis = okafor.get(f"/records/new/{maria.uuid}/cancer_diagnosis/").content.decode()
    assert f'value="{timezone.localdate().isoformat()}"' not in diagnosis  # a diagnosis has its own date


def test_the_invitation_form_clears_after_sending(cast, sign_in):
    maple = cast.organizations["maple"]
    admin = sign_in(cast.users["maple_admin"], maple)
    response = admin.post(
        "/admin/users/invite/",
        {"email": "nia.nurse@maple.example", "full_name": "Nia Nurse", "role": "nurse_navigator"},
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert response.status_code == 200 and text.startswith('<section class="card" id="invite-panel">')
    assert "Invitation sent to nia.nurse@maple.example" in text
    form = text[text.index("<form") :]
    assert "nia.nurse@maple.example" not in form and "Nia Nurse" not in form  # an empty form for the next person
    assert Invitation.objects.filter(organization=maple, email="nia.nurse@maple.example").exists()
    assert "onfocus" not in text


def test_privacy_is_a_choice_apart_from_the_buttons(cast, sign_in):
    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    okafor = sign_in(cast.users["okafor"], northfield)
    url = f"/records/new/{maria.uuid}/note/"
    page = okafor.get(url).content.decode()
    buttons = re.findall(r"<button[^>]*>(.*?)</button>", page, flags=re.S)
    assert not any("Private" in b for b in buttons)
    assert 'type="radio" name="sharing" value="private"' in page and "Private: never shared" in page
    note = {"effective_date": timezone.localdate().isoformat(), "note_type": "progress", "subject": "Call", "text": "x"}
    entries = RegistryEntry.objects.count()
    with schema_context(northfield.schema_name):
        items = ClinicalItem.objects.count()
    refused = okafor.post(url, {**note, "sharing": "private", "action": "publish"})
    assert refused.status_code == 400 and "A private item is never published" in refused.content.decode()
    with schema_context(northfield.schema_name):
        assert ClinicalItem.objects.count() == items
    assert RegistryEntry.objects.count() == entries
    assert okafor.post(url, {**note, "sharing": "private", "action": "draft"}).status_code == 302
    with schema_context(northfield.schema_name):
        assert ClinicalItem.objects.filter(private=True, patient=maria).count() == 1
    assert RegistryEntry.objects.count() == entries
