"""Care tasks with occurrences, hand-offs, and escalation of what is overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.care.models import CareTask, Escalation, Handoff, TaskOccurrence, TaskStatus
from portal.care.selectors import care_items_for_patient, handoff_prefill, same_test_done_elsewhere
from portal.care.services import (
    TransitionRefused,
    care_task_create,
    escalations_run,
    handoff_acknowledge,
    handoff_send,
    occurrence_link_result,
    recurrence_rule,
)
from portal.notifications.models import Notification
from tests.care.helpers import entry, maple_to_northfield


def cbc_task(cast, **kwargs):
    """Dr. Okafor (Northfield) asks Maple for a CBC twice a week for three weeks."""
    defaults = {
        "user": cast.users["okafor"],
        "organization": cast.organizations["northfield"],
        "patient": cast.patients["maria"],
        "owner_organization": cast.organizations["maple"],
        "owner_user": cast.users["park"],
        "title": "CBC with differential",
        "code": "58410-2",
        "instructions": "Draw before each visit; call if ANC < 1000",
        "recurrence": recurrence_rule(times_per_week=2, weeks=3),
        "starts_at": timezone.now() + dt.timedelta(days=1),
    }
    defaults.update(kwargs)
    return care_task_create(**defaults)


def test_twice_a_week_for_three_weeks_gives_six_occurrences_on_two_weekdays(cast):
    task = cbc_task(cast)
    dues = list(task.occurrences.values_list("due_at", flat=True))
    assert len(dues) == 6
    assert {d.weekday() for d in dues} == {0, 3}
    assert dues == sorted(dues)
    assert Notification.objects.filter(recipient=cast.users["park"], link=f"/care/tasks/{task.uuid}/").exists()


def test_a_task_needs_a_due_date_or_a_recurrence_but_not_both(cast):
    with pytest.raises(ValidationError):
        cbc_task(cast, recurrence="")
    with pytest.raises(ValidationError):
        cbc_task(cast, due_at=timezone.now())
    with pytest.raises(ValidationError):
        cbc_task(cast, recurrence="FREQ=NONSENSE")
    once = cbc_task(cast, recurrence="", due_at=timezone.now() + dt.timedelta(days=2))
    assert once.occurrences.count() == 1


def test_an_occurrence_is_done_only_when_a_published_result_is_linked_and_the_creator_is_told(cast):
    # Started yesterday: a result collected now is in the occurrence's window.
    task = cbc_task(
        cast, recurrence=recurrence_rule(times_per_week=1, weeks=1), starts_at=timezone.now() - dt.timedelta(days=1)
    )
    occurrence = task.occurrences.get()
    from portal.patients.models import NetworkPatient

    other = NetworkPatient.objects.exclude(pk=cast.patients["maria"].pk).first()
    wrong_patient = entry(other, cast.organizations["maple"])
    with pytest.raises(ValidationError):
        occurrence_link_result(
            occurrence=occurrence,
            entry=wrong_patient,
            user=cast.users["park"],
            organization=cast.organizations["maple"],
        )
    note_entry = entry(cast.patients["maria"], cast.organizations["maple"], "note")
    with pytest.raises(ValidationError):
        occurrence_link_result(
            occurrence=occurrence, entry=note_entry, user=cast.users["park"], organization=cast.organizations["maple"]
        )
    assert TaskOccurrence.objects.get(pk=occurrence.pk).done_at is None
    result = entry(cast.patients["maria"], cast.organizations["maple"])
    occurrence_link_result(
        occurrence=occurrence, entry=result, user=cast.users["park"], organization=cast.organizations["maple"]
    )
    occurrence.refresh_from_db()
    task.refresh_from_db()
    assert occurrence.result_entry == result and occurrence.done_by == cast.users["park"]
    assert task.status == TaskStatus.DONE
    assert Notification.objects.filter(recipient=cast.users["okafor"], link=f"/care/tasks/{task.uuid}/").exists()
    with pytest.raises(TransitionRefused):
        occurrence_link_result(
            occurrence=occurrence,
            entry=entry(cast.patients["maria"], cast.organizations["maple"]),
            user=cast.users["park"],
            organization=cast.organizations["maple"],
        )


def test_an_outsider_cannot_link_a_result(cast):
    task = cbc_task(cast)
    occurrence = task.occurrences.first()
    result = entry(cast.patients["maria"], cast.organizations["maple"])
    for user, org in [("chen", "cedarvalley"), ("maple_admin", "maple")]:
        with pytest.raises(TransitionRefused):
            occurrence_link_result(
                occurrence=occurrence, entry=result, user=cast.users[user], organization=cast.organizations[org]
            )
    assert TaskOccurrence.objects.get(pk=occurrence.pk).done_at is None


def test_a_test_done_recently_elsewhere_is_found_but_not_an_old_one_or_our_own(cast):
    maria = cast.patients["maria"]
    recent = entry(maria, cast.organizations["stbrendans"], days_ago=5)
    old = entry(maria, cast.organizations["lakeside"], days_ago=45)
    ours = entry(maria, cast.organizations["northfield"], days_ago=1)
    for found in (
        same_test_done_elsewhere(
            patient=maria, organization=cast.organizations["northfield"], kind="lab_result", code="58410-2"
        ),
        same_test_done_elsewhere(
            patient=maria, organization=cast.organizations["northfield"], kind="lab_result", title="cbc"
        ),
    ):
        assert recent in found and old not in found and ours not in found
        assert all(e.organization != cast.organizations["northfield"] for e in found)
    assert not same_test_done_elsewhere(
        patient=maria, organization=cast.organizations["northfield"], kind="lab_result", code="2345-7"
    )


def _cbc_draw(patient, organization, days_ago):
    """One CBC as the demo publishes it: an entry per analyte, each naming its panel."""
    return [
        entry(patient, organization, code=code, title=title, days_ago=days_ago, summary={"panel": "CBC", "value": v})
        for code, title, v in [
            ("718-7", "Hemoglobin", "11.2"),
            ("6690-2", "White blood cells", "4.1"),
            ("777-3", "Platelets", "190"),
            ("751-8", "Absolute neutrophil count", "2.2"),
        ]
    ]


def test_a_cbc_task_warns_about_a_cbc_published_per_analyte_last_week(cast):
    maria, lakeside, northfield = (
        cast.patients["maria"],
        cast.organizations["lakeside"],
        cast.organizations["northfield"],
    )
    draw = _cbc_draw(maria, lakeside, days_ago=4)
    entry(maria, lakeside, code="2951-2", title="Sodium", days_ago=4, summary={"panel": "BMP"})

    def found(**asked):
        return [
            e
            for e in same_test_done_elsewhere(patient=maria, organization=northfield, kind="lab_result", **asked)
            if e.organization == lakeside
        ]

    # The demo's task: "CBC with differential", LOINC 58410-2 (the panel's code).
    assert set(found(code="58410-2", title="CBC with differential")) == set(draw)
    assert set(found(title="cbc WITH differential")) == set(draw)  # by the panel's name, any case
    assert set(found(title="Complete blood count")) == set(draw)
    assert set(found(code="57021-8", title="Blood draw")) == set(draw)  # another CBC panel code
    assert found(code="718-7") == [draw[0]]  # one analyte by its code
    assert found(title="HEMOGLOBIN") == [draw[0]]  # or by its name
    assert [e.title for e in found(title="Basic metabolic panel")] == ["Sodium"]
    assert found(title="Lipid panel", code="57698-3") == []


def test_the_demo_cbc_task_for_maple_does_not_call_maples_own_cbc_done_elsewhere(cast, sign_in):
    """Maria's seeded record has Maple's ANC (part of a CBC) from three days ago. A CBC task
    that Maple itself is to do is not warned about Maple's own result as "done elsewhere"
    (issue 13, item 7: this used to warn)."""
    maria = cast.patients["maria"]
    client = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    response = client.post(
        "/care/tasks/new/",
        {
            "patient": str(maria.uuid),
            "owner_organization": cast.organizations["maple"].pk,
            "title": "CBC with differential",
            "code": "58410-2",
            "schedule": "weekly",
            "times_per_week": 2,
            "weeks": 3,
        },
    )
    assert response.status_code == 302
    assert CareTask.objects.filter(patient=maria, title="CBC with differential").exists()


def _survivorship(cast, **kwargs):
    plan = handoff_prefill(patient=cast.patients["maria"], organization=cast.organizations["northfield"])
    defaults = {
        "user": cast.users["okafor"],
        "organization": cast.organizations["northfield"],
        "patient": cast.patients["maria"],
        "to_organization": cast.organizations["maple"],
        "to_user": cast.users["park"],
        "kind": "survivorship",
        "treatment_summary": plan["treatment_summary"] or "R-CHOP x6, complete response",
        "items": plan["items"],
    }
    defaults.update(kwargs)
    return handoff_send(**defaults)


def test_the_survivorship_plan_is_prefilled_from_diagnoses_and_treatments(cast):
    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    entry(
        maria,
        northfield,
        "cancer_diagnosis",
        code="C83.3",
        title="Diffuse large B-cell lymphoma",
        days_ago=200,
        summary={"stage": "IIA"},
    )
    entry(maria, northfield, "treatment", code="", title="R-CHOP x6", days_ago=60, summary={"response": "complete"})
    plan = handoff_prefill(patient=maria, organization=cast.organizations["northfield"])
    assert "Diffuse large B-cell lymphoma" in plan["treatment_summary"]
    assert "R-CHOP x6" in plan["treatment_summary"] and "Stage: IIA" in plan["treatment_summary"]
    assert {item["responsible"] for item in plan["items"]} == {"oncology", "primary_care"}
    assert {item["section"] for item in plan["items"]} == {"follow_up", "surveillance", "late_effects", "symptoms"}


def test_only_the_addressed_pcp_acknowledges_a_handoff_once(cast):
    handoff = _survivorship(cast)
    assert Notification.objects.filter(recipient=cast.users["park"], link=f"/care/handoffs/{handoff.uuid}/").exists()
    for user, org in [("okafor", "northfield"), ("chen", "cedarvalley"), ("maple_admin", "maple")]:
        with pytest.raises(TransitionRefused):
            handoff_acknowledge(handoff=handoff, user=cast.users[user], organization=cast.organizations[org])
    assert Handoff.objects.get(pk=handoff.pk).acknowledged_at is None
    handoff_acknowledge(handoff=handoff, user=cast.users["park"], organization=cast.organizations["maple"])
    handoff.refresh_from_db()
    assert handoff.acknowledged_by == cast.users["park"]
    with pytest.raises(TransitionRefused):
        handoff_acknowledge(handoff=handoff, user=cast.users["park"], organization=cast.organizations["maple"])


def test_a_handoff_item_needs_who_is_responsible(cast):
    with pytest.raises(ValidationError) as error:
        _survivorship(cast, items=[{"section": "symptoms", "text": "Fever", "responsible": "nobody"}])
    assert "items" in error.value.message_dict
    assert not Handoff.objects.filter(patient=cast.patients["maria"]).exists()


def test_care_items_for_the_chart_are_empty_for_someone_who_may_not_see_the_patient(cast):
    maria = cast.patients["maria"]
    maple_to_northfield(cast)
    cbc_task(cast)
    _survivorship(cast)
    mine = care_items_for_patient(user=cast.users["park"], organization=cast.organizations["maple"], patient=maria)
    assert len(mine["referrals"]) == 1 and len(mine["tasks"]) == 1 and len(mine["handoffs"]) == 1
    chen = care_items_for_patient(
        user=cast.users["chen"], organization=cast.organizations["cedarvalley"], patient=maria
    )
    assert chen == {"referrals": [], "tasks": [], "handoffs": [], "allowed": False}


def test_escalation_run_twice_notifies_once_per_level(cast):
    task = cbc_task(cast, recurrence="", due_at=timezone.now() - dt.timedelta(days=2))
    occurrence = task.occurrences.get()
    before = Notification.objects.filter(kind="escalation").count()
    escalations_run()
    escalations_run()
    assert Escalation.objects.filter(object_type="occurrence", object_id=occurrence.pk).count() == 1
    assert list(Notification.objects.filter(kind="escalation").values_list("recipient__email", flat=True)) == [
        cast.users["park"].email
    ]
    assert Notification.objects.filter(kind="escalation").count() == before + 1
    # Two days later the navigators hear of it, once.
    later = timezone.now() + dt.timedelta(days=3)
    escalations_run(now=later)
    escalations_run(now=later)
    level2 = Notification.objects.filter(kind="escalation", urgent=True)
    assert list(level2.values_list("recipient__email", flat=True)) == [cast.users["navarro"].email]


def test_an_unreceived_referral_and_an_unacknowledged_handoff_escalate(cast):
    referral = maple_to_northfield(cast)
    handoff = _survivorship(cast)
    assert escalations_run() == 0
    escalations_run(now=timezone.now() + dt.timedelta(days=3))
    assert Escalation.objects.filter(object_type="referral", object_id=referral.pk, level=1).exists()
    assert not Escalation.objects.filter(object_type="handoff", object_id=handoff.pk).exists()
    escalations_run(now=timezone.now() + dt.timedelta(days=8))
    assert Escalation.objects.filter(object_type="handoff", object_id=handoff.pk, level=1).exists()
    assert Notification.objects.filter(
        kind="escalation", recipient=cast.users["park"], link=f"/care/handoffs/{handoff.uuid}/"
    ).exists()


def test_only_the_creating_organization_cancels_a_task_and_it_stops_escalating(cast):
    from portal.care.services import care_task_cancel

    task = cbc_task(cast, recurrence="", due_at=timezone.now() - dt.timedelta(days=5))
    with pytest.raises(TransitionRefused):
        care_task_cancel(task=task, user=cast.users["park"], organization=cast.organizations["maple"])
    assert type(task).objects.get(pk=task.pk).status == TaskStatus.OPEN
    care_task_cancel(task=task, user=cast.users["okafor"], organization=cast.organizations["northfield"])
    assert type(task).objects.get(pk=task.pk).status == TaskStatus.CANCELLED
    escalations_run()
    assert not Escalation.objects.filter(object_type="occurrence", object_id=task.occurrences.get().pk).exists()
    with pytest.raises(TransitionRefused):
        care_task_cancel(task=task, user=cast.users["okafor"], organization=cast.organizations["northfield"])
