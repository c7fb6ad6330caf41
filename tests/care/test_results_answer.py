"""A care-task occurrence is done only by a result that answers it: the task's patient, the
test the task asks for (the panel, or every analyte it needs), collected in the occurrence's
window, and closing no other occurrence. The service, the API and the page agree."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.care import demo
from portal.care.models import CareTask, OccurrenceResult, TaskOccurrence, TaskStatus
from portal.care.panels import ANALYTES, PANELS, analytes_asked
from portal.care.results import windows
from portal.care.services import care_task_create, occurrence_link_result
from portal.notifications.models import Notification
from portal.patients.models import NetworkPatient, RegistryEntry

CBC_ANALYTES = {
    "wbc": ("White blood cells", "6690-2"),
    "hgb": ("Hemoglobin", "718-7"),
    "plt": ("Platelets", "777-3"),
    "anc": ("Absolute neutrophil count", "751-8"),
}


def _lab(patient, organization, title, code, at, panel="CBC"):
    return RegistryEntry.objects.create(
        patient=patient,
        organization=organization,
        kind="lab_result",
        code=code,
        title=title,
        effective_at=at,
        summary={"panel": panel, "value": "1", "unit": "10^3/uL"},
        item_uuid=uuid.uuid4(),
    )


def cbc(patient, organization, *, at, analytes=("wbc", "hgb", "plt", "anc")):
    """A CBC published per analyte, all collected at ``at``; returns its entries."""
    return [_lab(patient, organization, *CBC_ANALYTES[key], at) for key in analytes]


def post_chemo_cbc(cast):
    """Dr. Okafor asks Maple for a CBC with ANC every three days, the first due four days ago:
    occurrences due 4 days ago, 1 day ago and in 2 days. Windows (with a day's grace):
    [-4d, -3d], [-4d, 0d], [-1d, +3d]."""
    start = timezone.now() - dt.timedelta(days=4)
    task = care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        owner_organization=cast.organizations["maple"],
        owner_user=cast.users["park"],
        title="CBC with differential",
        code="58410-2",
        instructions="Call oncology the same day if ANC < 1000.",
        recurrence="FREQ=DAILY;INTERVAL=3;COUNT=3",
        starts_at=start,
    )
    return task, list(task.occurrences.order_by("due_at")), start


def _ago(days):
    return timezone.now() - dt.timedelta(days=days)


def _state():
    return (
        list(TaskOccurrence.objects.values_list("pk", "done_at", "result_entry_id").order_by("pk")),
        OccurrenceResult.objects.count(),
        Notification.objects.count(),
        list(CareTask.objects.values_list("pk", "status").order_by("pk")),
    )


def _link(cast, occurrence, entry):
    return occurrence_link_result(
        occurrence=occurrence, entry=entry, user=cast.users["park"], organization=cast.organizations["maple"]
    )


# --- What a task asks for ---------------------------------------------------------------


def test_a_cbc_asks_for_white_cells_hemoglobin_platelets_and_the_differential_it_names():
    assert analytes_asked(code="58410-2", title="CBC", instructions="") == ["wbc", "hgb", "plt"]
    assert analytes_asked(code="", title="CBC with differential", instructions="call if ANC < 1000") == [
        "wbc",
        "hgb",
        "plt",
        "neutrophils",
    ]
    assert analytes_asked(code="58410-2", title="CBC with diff", instructions="") == [
        "wbc",
        "hgb",
        "plt",
        "neutrophils",
    ]
    assert analytes_asked(title="CBC", instructions="watch lymphocytes and neutrophils")[3:] == [
        "neutrophils",
        "lymphocytes",
    ]
    assert analytes_asked(code="51990-0", title="BMP") == list(PANELS["BMP"].required)
    assert analytes_asked(code="751-8", title="ANC") == ["neutrophils"]
    assert analytes_asked(code="4548-4", title="Hemoglobin A1c") == []


def test_every_panel_and_analyte_code_is_a_loinc_code():
    from portal.records.kinds import loinc_is_valid

    codes = {c for a in ANALYTES.values() for c in a.codes} | {c for p in PANELS.values() for c in p.codes}
    assert codes and all(loinc_is_valid(code) for code in codes)
    assert all(key in ANALYTES for p in PANELS.values() for key in p.analytes)


def test_the_task_keeps_what_it_asks_for_and_where_its_first_window_opens(cast):
    task, occurrences, start = post_chemo_cbc(cast)
    assert task.analytes == ["wbc", "hgb", "plt", "neutrophils"]
    assert dt.timedelta(0) <= start - task.starts_at < dt.timedelta(seconds=1)  # the rule keeps whole seconds
    spans = windows(task, occurrences)
    first, second, third = (spans[o.pk] for o in occurrences)
    assert first.start == task.starts_at and first.end == occurrences[0].due_at + dt.timedelta(days=1)
    assert second.start == occurrences[0].due_at and third.start == occurrences[1].due_at


# --- The service -------------------------------------------------------------------------


def test_the_service_refuses_every_result_that_does_not_answer_the_occurrence(cast):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task, (first, second, third), _ = post_chemo_cbc(cast)
    other_patient = NetworkPatient.objects.exclude(pk=maria.pk).first()
    cases = [
        # Another analyte (HbA1c) entirely.
        (second, _lab(maria, maple, "Hemoglobin A1c", "4548-4", _ago(2), panel=""), "not a CBC"),
        # One analyte of the panel: the neutrophil count alone.
        (second, cbc(maria, maple, at=_ago(2), analytes=("anc",))[0], "has only Absolute neutrophil count"),
        # The panel without the differential the task names.
        (second, cbc(maria, maple, at=_ago(2.5), analytes=("wbc", "hgb", "plt"))[0], "missing: absolute neutrophil"),
        # Collected before the occurrence's window (from the previous due time).
        (second, cbc(maria, maple, at=_ago(4.5))[0], "before this occurrence's window"),
        # Collected after the grace period of the first occurrence.
        (first, cbc(maria, maple, at=_ago(2.2))[0], "after this occurrence's grace period"),
        # Another patient's complete CBC in the window.
        (second, cbc(other_patient, maple, at=_ago(2))[0], "this task's patient"),
    ]
    before = _state()
    for occurrence, entry, message in cases:
        with pytest.raises(ValidationError) as refused:
            _link(cast, occurrence, entry)
        assert message in " ".join(refused.value.message_dict["entry"]), refused.value.message_dict
        assert _state() == before


def test_a_complete_cbc_in_the_window_closes_one_occurrence_only(cast):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task, (first, second, third), _ = post_chemo_cbc(cast)
    entries = cbc(maria, maple, at=_ago(0.5))  # in the windows of the second and third occurrences
    _link(cast, second, entries[2])  # any entry of the result names it
    second.refresh_from_db()
    assert second.done_at is not None and second.result_entry == entries[0]  # white cells first
    assert set(second.result_entries.all()) == set(entries)
    assert Notification.objects.filter(recipient=cast.users["okafor"], link=f"/care/tasks/{task.uuid}/").exists()

    before = _state()
    with pytest.raises(ValidationError) as refused:
        _link(cast, third, entries[1])
    assert "already closes another occurrence" in refused.value.messages[0]
    assert _state() == before
    # The database says the same, whatever writes the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        OccurrenceResult.objects.create(occurrence=third, entry=entries[3])
    assert TaskOccurrence.objects.get(pk=third.pk).done_at is None


def test_the_panels_own_entry_answers_and_the_task_is_done_when_every_occurrence_is(cast):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task = care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=maria,
        owner_organization=maple,
        title="Basic metabolic panel",
        code="51990-0",
        due_at=timezone.now() + dt.timedelta(hours=2),
        starts_at=_ago(1),
    )
    panel = _lab(maria, maple, "Basic metabolic panel", "51990-0", _ago(0.2), panel="BMP")
    _link(cast, task.occurrences.get(), panel)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


# --- The API --------------------------------------------------------------------------------


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_api_refuses_what_the_page_does_not_offer_with_the_reason(cast, sign_in):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task, (first, second, third), _ = post_chemo_cbc(cast)
    park = sign_in(cast.users["park"], maple)
    url = f"/api/v1/care-tasks/{task.uuid}/link-result/"
    used = cbc(maria, maple, at=_ago(0.5))
    assert _post(park, url, {"occurrence": third.pk, "entry": str(used[0].uuid)}).status_code == 200
    other_patient = NetworkPatient.objects.exclude(pk=maria.pk).first()
    cases = [
        (second, _lab(maria, maple, "Hemoglobin A1c", "4548-4", _ago(2), panel="")),
        (second, cbc(maria, maple, at=_ago(2), analytes=("anc",))[0]),
        (second, cbc(maria, maple, at=_ago(4.5))[0]),
        (first, cbc(maria, maple, at=_ago(2.2))[0]),
        (second, used[1]),
    ]
    before = _state()
    for occurrence, entry in cases:
        response = _post(park, url, {"occurrence": occurrence.pk, "entry": str(entry.uuid)})
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["detail"] and body["errors"]["entry"], body
    # Another patient's result is not on this patient's record at all.
    elsewhere = cbc(other_patient, maple, at=_ago(2))[0]
    response = _post(park, url, {"occurrence": second.pk, "entry": str(elsewhere.uuid)})
    assert response.status_code == 400 and "entry" in response.json()["errors"]
    assert _state() == before
    shown = park.get("/api/v1/care-tasks/").json()["results"][0]
    assert shown["analytes"] == ["wbc", "hgb", "plt", "neutrophils"]
    done = next(o for o in shown["occurrences"] if o["id"] == third.pk)
    assert set(done["result_entries"]) == {str(e.uuid) for e in used}
    assert done["window_start"] and done["window_end"]


# --- The page -------------------------------------------------------------------------------


def test_the_form_offers_only_results_that_answer_and_chooses_none(cast, sign_in):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    task, (first, second, third), _ = post_chemo_cbc(cast)
    valid = cbc(maria, northfield, at=_ago(0.5))
    too_early = cbc(maria, maple, at=_ago(6))
    lone_anc = cbc(maria, maple, at=_ago(0.7), analytes=("anc",))
    _lab(maria, maple, "Hemoglobin A1c", "4548-4", _ago(0.4), panel="")
    response = sign_in(cast.users["park"], maple).get(f"/care/tasks/{task.uuid}/")
    assert response.status_code == 200
    forms = {form.choice.occurrence.pk: form for form in response.context["link_forms"]}
    assert set(forms) == {first.pk, second.pk, third.pk}  # every window has opened
    for occurrence in (second, third):
        form = forms[occurrence.pk]
        values = [value for value, _ in form.fields["entry"].choices]
        assert values == ["", str(valid[0].uuid)]  # only the result that answers, after "Choose…"
        assert form["entry"].value() in (None, "")
    assert [value for value, _ in forms[first.pk].fields["entry"].choices] == [""]
    html = response.content.decode()
    assert not re.search(r'<option value="[0-9a-f-]{36}"[^>]*selected', html)
    for entry in (*too_early, *lone_anc):
        assert str(entry.uuid) not in html
    second_form = html[html.index(f'id="h-link-{second.pk}"') :]
    second_form = second_form[: second_form.index("</form>")]
    assert "Not offered:" in second_form
    assert "collected before this occurrence&#x27;s window (from" in second_form
    assert re.search(r"\d+ results? without everything the task asks for \(a CBC with white blood cells", second_form)
    assert re.search(r"\d+ results? of another test", second_form)


def test_the_page_shows_the_services_reason_when_a_result_is_refused(cast, sign_in):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task, (first, second, third), _ = post_chemo_cbc(cast)
    lone_anc = cbc(maria, maple, at=_ago(2), analytes=("anc",))[0]
    response = sign_in(cast.users["park"], maple).post(
        f"/care/tasks/{task.uuid}/", {"occurrence": second.pk, "entry": str(lone_anc.uuid)}
    )
    assert response.status_code == 400
    assert "This result has only Absolute neutrophil count" in response.content.decode()
    assert TaskOccurrence.objects.get(pk=second.pk).done_at is None


# --- The demo -------------------------------------------------------------------------------


def test_parks_demo_cbc_occurrences_cannot_be_closed_with_the_lone_neutrophil_count(cast, sign_in):
    demo.seed(cast)
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    task = CareTask.objects.get(patient=maria, owner_organization=maple, title="CBC with differential")
    anc = RegistryEntry.objects.filter(patient=maria, organization=maple, code="751-8").first()
    assert anc is not None
    before = _state()
    for occurrence in task.occurrences.all():
        with pytest.raises(ValidationError):
            _link(cast, occurrence, anc)
    assert _state() == before
    page = sign_in(cast.users["park"], maple).get(f"/care/tasks/{task.uuid}/")
    assert str(anc.uuid) not in page.content.decode()
    assert all(not form.choice.offered or anc not in form.choice.offered for form in page.context["link_forms"])
