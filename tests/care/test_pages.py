"""The care pages: the four actors, the actions as forms, and no N+1 on lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.care.models import CareTask, Handoff, Referral, ReferralState
from portal.care.services import care_task_create, handoff_send, recurrence_rule
from portal.notifications.models import Notification
from tests.care.helpers import advance, current_occurrence, entry, maple_to_northfield


def _task(cast):
    return care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        owner_organization=cast.organizations["maple"],
        title="CBC",
        code="58410-2",
        recurrence=recurrence_rule(times_per_week=2, weeks=3),
        starts_at=timezone.now() - dt.timedelta(days=8),
    )


def _handoff(cast):
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


def test_referral_detail_four_actors(cast, sign_in, anonymous):
    referral = maple_to_northfield(cast)
    url = f"/care/referrals/{referral.uuid}/"
    northfield = cast.organizations["northfield"]
    assert anonymous(northfield).get(url).status_code == 302
    assert sign_in(cast.users["chen"], cast.organizations["cedarvalley"]).get(url).status_code == 404
    assert sign_in(cast.users["northfield_admin"], northfield).get(url).status_code == 404
    response = sign_in(cast.users["navarro"], northfield).get(url)
    assert response.status_code == 200
    assert b"Maria Alvarez" in response.content and b"Mark received" in response.content
    assert AuditEvent.objects.filter(
        object_type="referral", object_id=str(referral.uuid), patient=referral.patient
    ).exists()


def test_referral_action_four_actors_and_nothing_changes_on_refusal(cast, sign_in, anonymous):
    referral = maple_to_northfield(cast)
    url = f"/care/referrals/{referral.uuid}/act/"
    northfield = cast.organizations["northfield"]
    notes_before = Notification.objects.count()
    for client in (
        anonymous(northfield),
        sign_in(cast.users["chen"], cast.organizations["cedarvalley"]),
        sign_in(cast.users["northfield_admin"], northfield),
    ):
        response = client.post(url, {"action": "receive"})
        assert response.status_code in (302, 404)
        assert Referral.objects.get(pk=referral.pk).state == ReferralState.REQUESTED
    # The referrer is the wrong side for "receive".
    sign_in(cast.users["park"], cast.organizations["maple"]).post(url, {"action": "receive"})
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.REQUESTED
    assert Notification.objects.count() == notes_before
    response = sign_in(cast.users["navarro"], northfield).post(url, {"action": "receive"})
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.RECEIVED


def test_declining_without_a_reason_shows_the_error(cast, sign_in):
    referral = advance(cast, maple_to_northfield(cast), "received")
    client = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    response = client.post(f"/care/referrals/{referral.uuid}/act/", {"action": "decline", "reason": ""})
    assert response.status_code == 400
    assert b"Give a reason for declining." in response.content
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.RECEIVED


def test_closing_with_the_consult_report_through_the_page(cast, sign_in):
    referral = advance(cast, maple_to_northfield(cast), "scheduled")
    report = entry(referral.patient, cast.organizations["northfield"], "consult_note", code="", title="Consult report")
    client = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = client.get(f"/care/referrals/{referral.uuid}/")
    assert b"Consult report" in page.content and b"Return outcome" in page.content
    client.post(
        f"/care/referrals/{referral.uuid}/act/",
        {"action": "complete", "outcome_entry": str(report.uuid), "reason": "Seen earlier than booked"},
    )
    referral.refresh_from_db()
    assert referral.state == ReferralState.COMPLETED and referral.outcome_entry == report


def test_new_referral_form_creates_and_shows_errors(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    maria = cast.patients["maria"]
    assert client.get("/care/referrals/new/").status_code == 200
    response = client.post("/care/referrals/new/", {"patient": str(maria.uuid), "specialty": ""})
    assert response.status_code == 200 and b"field-error" in response.content
    assert not Referral.objects.filter(patient=maria).exists()
    response = client.post(
        "/care/referrals/new/",
        {
            "patient": str(maria.uuid),
            "receiving_organization": cast.organizations["northfield"].pk,
            "specialty": "Hematology consult",
            "priority": "urgent",
            "checklist": ["pathology", "insurance"],
        },
    )
    referral = Referral.objects.get(patient=maria)
    assert response.status_code == 302 and response["Location"].endswith(f"/care/referrals/{referral.uuid}/")
    assert referral.checklist == {"pathology": True, "imaging": False, "insurance": True}


def test_cedar_valley_cannot_pick_maria_in_the_referral_form(cast, sign_in):
    client = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    response = client.post(
        "/care/referrals/new/",
        {
            "patient": str(cast.patients["maria"].uuid),
            "receiving_organization": cast.organizations["northfield"].pk,
            "specialty": "Oncology",
            "priority": "routine",
        },
    )
    assert response.status_code == 200 and b"Maria" not in response.content
    assert not Referral.objects.filter(patient=cast.patients["maria"]).exists()


def _query_count(client, path):
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.accounts.middleware import SEEN_SESSION_KEY

    # Sessions live in PostgreSQL: the first request of a fresh session writes it once, and a
    # session in use is renewed once a minute (a loaded machine may cross that minute). Count
    # each page in the steady state: after one request, with a session just seen.
    assert client.get(path).status_code == 200
    session = client.session
    session[SEEN_SESSION_KEY] = int(time.time())
    session.save()
    with CaptureQueriesContext(connection) as context:
        assert client.get(path).status_code == 200
    # The page's own queries: a SET search_path is sent only when the connection's schema changes.
    return sum(not query["sql"].startswith("SET search_path") for query in context.captured_queries)


def test_list_pages_do_not_grow_queries_with_rows(cast, sign_in):
    nina = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    maple_to_northfield(cast)
    _task(cast)
    _handoff(cast)
    pages = [(nina, "/care/"), (park, "/care/referrals/outbound/"), (park, "/care/tasks/"), (park, "/care/handoffs/")]
    before = [_query_count(client, path) for client, path in pages]
    for _ in range(4):
        advance(cast, maple_to_northfield(cast), "received")
        _task(cast)
        _handoff(cast)
    assert [_query_count(client, path) for client, path in pages] == before


def test_queue_groups_inbound_referrals_by_state_without_n_plus_one(cast, sign_in, django_assert_max_num_queries):
    for _ in range(4):
        maple_to_northfield(cast)
    advance(cast, maple_to_northfield(cast), "received")
    client = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    with django_assert_max_num_queries(14):
        response = client.get("/care/")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.count("Maria Alvarez") == 5
    assert 'id="state-requested"' in text and 'id="state-received"' in text
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    with django_assert_max_num_queries(14):
        assert park.get("/care/referrals/outbound/").status_code == 200


def test_queue_four_actors(cast, sign_in, anonymous):
    northfield = cast.organizations["northfield"]
    maple_to_northfield(cast)
    assert anonymous(northfield).get("/care/").status_code == 302
    assert sign_in(cast.users["northfield_admin"], northfield).get("/care/").status_code == 404
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"]).get("/care/")
    assert chen.status_code == 200 and b"Maria" not in chen.content
    assert b"Maria Alvarez" in sign_in(cast.users["navarro"], northfield).get("/care/").content


def test_task_list_and_detail_and_link_result(cast, sign_in, anonymous, django_assert_max_num_queries):
    task = _task(cast)
    _task(cast)
    maple = cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    with django_assert_max_num_queries(14):
        response = park.get("/care/tasks/")
    assert response.status_code == 200 and b"overdue" in response.content
    url = f"/care/tasks/{task.uuid}/"
    assert anonymous(maple).get(url).status_code == 302
    assert sign_in(cast.users["chen"], cast.organizations["cedarvalley"]).get(url).status_code == 404
    assert sign_in(cast.users["maple_admin"], maple).get(url).status_code == 404
    result = entry(cast.patients["maria"], maple, title="CBC with differential")
    page = park.get(url)
    assert b"Link result" in page.content and b"CBC with differential" in page.content
    occurrence = current_occurrence(task)
    for client in (
        sign_in(cast.users["chen"], cast.organizations["cedarvalley"]),
        sign_in(cast.users["maple_admin"], maple),
    ):
        client.post(url, {"occurrence": occurrence.pk, "entry": str(result.uuid)})
        occurrence.refresh_from_db()
        assert occurrence.done_at is None
    response = park.post(url, {"occurrence": occurrence.pk, "entry": str(result.uuid)})
    assert response.status_code == 302
    occurrence.refresh_from_db()
    assert occurrence.result_entry == result
    assert Notification.objects.filter(recipient=cast.users["okafor"], link=url).exists()


def test_new_task_warns_about_a_test_done_recently_elsewhere(cast, sign_in):
    entry(cast.patients["maria"], cast.organizations["stbrendans"], days_ago=3)
    client = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    data = {
        "patient": str(cast.patients["maria"].uuid),
        "owner_organization": cast.organizations["maple"].pk,
        "title": "CBC",
        "code": "58410-2",
        "schedule": "weekly",
        "times_per_week": 2,
        "weeks": 3,
    }
    response = client.post("/care/tasks/new/", data)
    assert response.status_code == 200 and b"done recently elsewhere" in response.content
    assert b"St. Brendan" in response.content
    assert not CareTask.objects.filter(patient=cast.patients["maria"]).exists()
    response = client.post("/care/tasks/new/", {**data, "confirm_duplicate": "1"})
    assert response.status_code == 302
    assert CareTask.objects.get(patient=cast.patients["maria"]).occurrences.count() == 6


def test_handoff_form_is_prefilled_and_the_pcp_acknowledges(cast, sign_in):
    maria = cast.patients["maria"]
    entry(maria, cast.organizations["northfield"], "treatment", code="", title="R-CHOP x6", days_ago=30)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    form = okafor.get(f"/care/handoffs/new/?patient={maria.uuid}")
    assert form.status_code == 200 and b"R-CHOP x6" in form.content
    response = okafor.post(
        "/care/handoffs/new/",
        {
            "patient": str(maria.uuid),
            "kind": "survivorship",
            "to_organization": cast.organizations["maple"].pk,
            "treatment_summary": "R-CHOP x6, complete response",
            "item-0-section": "surveillance",
            "item-0-text": "CBC every 3 months",
            "item-0-responsible": "primary_care",
        },
    )
    assert response.status_code == 302
    handoff = Handoff.objects.get(patient=maria)
    assert handoff.to_user == cast.users["park"]
    url = f"/care/handoffs/{handoff.uuid}/"
    assert sign_in(cast.users["chen"], cast.organizations["cedarvalley"]).post(url).status_code == 404
    okafor.post(url)  # the sender cannot acknowledge
    assert Handoff.objects.get(pk=handoff.pk).acknowledged_at is None
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert b"Acknowledge hand-off" in park.get(url).content
    park.post(url)
    assert Handoff.objects.get(pk=handoff.pk).acknowledged_by == cast.users["park"]


def test_chen_cannot_open_a_handoff_form_for_maria(cast, sign_in):
    client = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert client.get(f"/care/handoffs/new/?patient={cast.patients['maria'].uuid}").status_code == 404
    assert client.get("/care/handoffs/new/?patient=not-a-uuid").status_code == 404


def test_scorecard_shows_measures_charts_and_exports_csv(cast, sign_in, anonymous, django_assert_max_num_queries):
    advance(cast, maple_to_northfield(cast), "completed")
    advance(cast, maple_to_northfield(cast), "declined")
    maple_to_northfield(cast)
    _task(cast)
    _handoff(cast)
    northfield = cast.organizations["northfield"]
    assert anonymous(northfield).get("/care/scorecard/").status_code == 302
    admin = sign_in(cast.users["northfield_admin"], northfield)
    with django_assert_max_num_queries(14):
        response = admin.get("/care/scorecard/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in text and "Referral turnaround by step" in text and "33%" in text
    csv_response = admin.get("/care/scorecard/?scope=network&format=csv")
    assert csv_response["Content-Type"] == "text/csv"
    body = csv_response.content.decode()
    assert "referral_count,3" in body and "closed_with_outcome,1" in body
    assert "received Northfield Cancer Institute,3" in body
    assert "By receiving organization" in admin.get("/care/scorecard/?scope=network").content.decode()
    old = admin.get("/care/scorecard/?start=2020-01-01&end=2020-02-01&format=csv").content.decode()
    assert "referral_count,0" in old


@pytest.mark.parametrize("path", ["/care/tasks/", "/care/handoffs/", "/care/referrals/outbound/"])
def test_lists_refuse_anonymous_and_roleless(cast, sign_in, anonymous, path):
    maple = cast.organizations["maple"]
    assert anonymous(maple).get(path).status_code == 302
    assert sign_in(cast.users["maple_admin"], maple).get(path).status_code == 404
    assert sign_in(cast.users["park"], maple).get(path).status_code == 200


def test_new_referral_attaches_entries_of_the_record(cast, sign_in):
    maria = cast.patients["maria"]
    pathology = entry(maria, cast.organizations["stbrendans"], "pathology_report", code="", title="Lymph node biopsy")
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    form = client.get(f"/care/referrals/new/?patient={maria.uuid}")
    assert b"Lymph node biopsy" in form.content
    client.post(
        "/care/referrals/new/",
        {
            "patient": str(maria.uuid),
            "receiving_organization": cast.organizations["northfield"].pk,
            "specialty": "Hematology consult",
            "priority": "routine",
            "attachments": [str(pathology.uuid)],
        },
    )
    referral = Referral.objects.get(patient=maria)
    assert list(referral.attachments.all()) == [pathology]
    nina = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    assert b"Lymph node biopsy" in nina.get(f"/care/referrals/{referral.uuid}/").content


def test_patient_care_partial_renders_the_items_for_the_chart(cast):
    from django.template.loader import render_to_string

    from portal.care.selectors import care_items_for_patient

    maple_to_northfield(cast)
    _handoff(cast)
    care = care_items_for_patient(
        user=cast.users["park"], organization=cast.organizations["maple"], patient=cast.patients["maria"]
    )
    html = render_to_string("care/partials/patient_care.html", {"items": care})
    assert "Hematology/oncology consult" in html and "Survivorship care plan" in html and "Requested" in html


def test_the_creator_cancels_a_task_from_its_page_and_the_owner_cannot(cast, sign_in):
    task = _task(cast)
    url = f"/care/tasks/{task.uuid}/"
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert b"Cancel this task" not in park.get(url).content
    park.post(url, {"cancel_task": "1"})
    assert CareTask.objects.get(pk=task.pk).status == "open"
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    assert b"Cancel this task" in okafor.get(url).content
    okafor.post(url, {"cancel_task": "1"})
    assert CareTask.objects.get(pk=task.pk).status == "cancelled"


def test_the_queue_refreshes_its_groups_through_htmx(cast, sign_in):
    maple_to_northfield(cast)
    client = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    full = client.get("/care/").content.decode()
    assert 'hx-trigger="every 60s"' in full
    partial = client.get("/care/", HTTP_HX_REQUEST="true").content.decode()
    assert "Maria Alvarez" in partial and "<html" not in partial and 'id="state-requested"' in partial


def test_an_escalated_task_says_so_on_its_page(cast, sign_in):
    from portal.care.services import escalations_run

    task = _task(cast)
    escalations_run()
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/care/tasks/{task.uuid}/")
    assert b"care task result missing" in page.content and b"escalated to the navigators" in page.content


def test_scorecard_measures_message_response_time_by_the_replying_organization(cast):
    from portal.care.scorecard import scorecard
    from portal.messaging.models import Message, Thread

    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    start = timezone.now() - dt.timedelta(days=2)
    thread = Thread.objects.create(
        subject="CBC results", created_by=cast.users["park"], organization=maple, last_message_at=start
    )
    for hours, user, org in [(0, "park", maple), (1, "park", maple), (3, "navarro", northfield), (9, "park", maple)]:
        message = Message.objects.create(
            thread=thread, sender=cast.users[user], sender_organization=org, body="synthetic"
        )
        Message.objects.filter(pk=message.pk).update(created_at=start + dt.timedelta(hours=hours))
    today = timezone.localdate()
    card = scorecard(organization=northfield, start=today - dt.timedelta(days=5), end=today)
    assert card["message_replies"] == 1 and card["median_message_response_hours"] == 3.0
    network = scorecard(organization=None, start=today - dt.timedelta(days=5), end=today)
    assert network["message_replies"] == 2 and network["median_message_response_hours"] == 4.5


def test_the_chart_shows_the_patients_referrals_tasks_and_handoffs(cast, sign_in):
    maple_to_northfield(cast)
    _task(cast)
    _handoff(cast)
    chart = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/patients/{cast.patients['maria'].uuid}/")
    text = chart.content.decode()
    assert chart.status_code == 200
    assert "Referrals, tasks and hand-offs" in text
    assert "Hematology/oncology consult" in text and "Survivorship care plan" in text and ">CBC</a>" in text
    assert f"/care/handoffs/new/?patient={cast.patients['maria'].uuid}" in text


def test_the_handoff_page_shows_the_treatment_summary_as_labelled_fields(cast, sign_in):
    from portal.care.selectors import handoff_prefill

    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    entry(
        maria,
        northfield,
        "cancer_diagnosis",
        code="C83.3",
        title="Diffuse large B-cell lymphoma",
        days_ago=100,
        summary={
            "role": "primary",
            "stage": "IIA",
            "tnm": "T2 N1 M0",
            "staging_date": "2026-08-20",
            "ecog": 1,
            "disease_status": "no_evidence",
            "markers": "",
        },
    )
    plan = handoff_prefill(patient=maria, organization=cast.organizations["northfield"])
    assert "Stage: IIA; TNM: T2 N1 M0" in plan["treatment_summary"]
    handoff = handoff_send(
        user=cast.users["okafor"],
        organization=northfield,
        patient=maria,
        to_organization=cast.organizations["maple"],
        kind="survivorship",
        treatment_summary=plan["treatment_summary"]
        + "\nDiagnosis (Jan 2025): Older plan — tnm: T1 N0 M0; staging date: 2025-01-02",
        items=plan["items"],
    )
    text = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/care/handoffs/{handoff.uuid}/").content
    text = text.decode()
    assert "Diffuse large B-cell lymphoma</h3>" in text
    for label, value in [
        ("Stage", "IIA"),
        ("TNM", "T2 N1 M0"),
        ("ECOG", "1"),
        ("Disease status", "No evidence of disease"),
        ("Staged", "2026-08-20"),
        ("Primary or secondary", "Primary"),
        ("TNM", "T1 N0 M0"),  # the older plan's raw field names read the same way
        ("Staged", "2025-01-02"),
    ]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in text
    assert "tnm:" not in text and "staging date:" not in text and "ecog:" not in text
    block = text[text.index("Diffuse large B-cell lymphoma</h3>") :]
    assert "<dt>Markers</dt>" not in block[: block.index("</dl>")]  # empty fields are left out


def test_occurrences_say_upcoming_due_today_or_overdue(cast, sign_in):
    from portal.care.models import TaskOccurrence

    now = timezone.localtime()
    task = care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=cast.patients["maria"],
        owner_organization=cast.organizations["maple"],
        title="CBC",
        due_at=now - dt.timedelta(days=2),
    )
    TaskOccurrence.objects.create(task=task, due_at=now + dt.timedelta(weeks=3))
    later_today = now.replace(hour=23, minute=59, second=0)
    if later_today > now + dt.timedelta(seconds=30):
        TaskOccurrence.objects.create(task=task, due_at=later_today)
    text = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/care/tasks/{task.uuid}/").content.decode()
    table = text[text.index("<h2>Occurrences</h2>") :]
    assert ">Overdue</span>" in table and ">Upcoming</span>" in table
    assert ">Due</span>" not in table
    if later_today > now + dt.timedelta(seconds=30):
        assert ">Due today</span>" in table


def test_the_referrers_cancellation_is_a_secondary_step_behind_a_disclosure(cast, sign_in):
    referral = maple_to_northfield(cast)
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/care/referrals/{referral.uuid}/")
    text = page.content.decode()
    steps = text[text.index('id="h-actions"') : text.index('id="h-notes"')]
    assert "Waiting for Northfield Cancer Institute to receive the referral." in steps
    assert "<details" in steps and "Cancel this referral" in steps
    assert '<button class="button button-small" type="submit">Request cancellation</button>' in steps
    assert "button-danger" not in steps and "button-primary" not in steps
    # The receiver's own steps keep their weight.
    nina = sign_in(cast.users["navarro"], cast.organizations["northfield"]).get(f"/care/referrals/{referral.uuid}/")
    assert b'button-primary" type="submit">Mark received</button>' in nina.content


def test_referral_history_reads_in_the_past_tense(cast, sign_in):
    referral = advance(cast, maple_to_northfield(cast), "declined")
    text = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/care/referrals/{referral.uuid}/")
    history = text.content.decode().split('id="h-history"')[1]
    park, nina = cast.users["park"].display_name, cast.users["navarro"].display_name
    assert f"<strong>Requested</strong> by {park}" in history
    assert f"<strong>Marked received</strong> by {nina}" in history
    assert f"<strong>Declined</strong> by {nina}" in history
    assert "<strong>Request</strong>" not in history and "<strong>Receive</strong>" not in history
    api = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/api/v1/referrals/{referral.uuid}/").json()
    assert [e["label"] for e in api["events"]] == ["Requested", "Marked received", "Declined"]
