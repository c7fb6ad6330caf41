"""A site admin's access log: plain language, filters, pages and an audited CSV export."""

import csv
import datetime as dt
import io
import re
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import Membership
from portal.audit.labels import OBJECT_NOUNS, event_label
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.selectors import access_log
from portal.audit.services import audit_record


def _event(cast, actor="park", action="read", object_type="item", patient="maria", owner="northfield", **extra):
    return audit_record(
        action=action,
        actor=cast.users[actor],
        organization=cast.organizations["maple"],
        object_type=object_type,
        object_id=uuid.uuid4().hex,
        patient=cast.patients[patient] if patient else None,
        data_owner=cast.organizations[owner],
        **extra,
    )


def _aged(event, days):
    """A copy of the event as if it had happened `days` ago (an insert: the log stays append-only)."""
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column not in {"id", "uuid", "occurred_at"}]
    names = ", ".join(f'"{c}"' for c in columns)
    object_id = uuid.uuid4().hex
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{AuditEvent._meta.db_table}" ("uuid", "occurred_at", {names}) '
            f"SELECT gen_random_uuid(), %s, {names.replace(chr(34) + 'object_id' + chr(34), '%s')} "
            f'FROM "{AuditEvent._meta.db_table}" WHERE id = %s',
            [timezone.now() - dt.timedelta(days=days), object_id, event.pk],
        )
    return AuditEvent.objects.get(object_id=object_id)


def _admin(cast):
    return Membership.objects.get(user=cast.users["northfield_admin"], organization=cast.organizations["northfield"])


def _ids(queryset, mine):
    return {event.object_id for event in queryset} & {event.object_id for event in mine}


def test_the_log_says_what_happened_in_plain_language(cast, sign_in):
    _event(cast, object_type="care_task")
    _event(cast, actor="okafor", action="create", object_type="item")
    page = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"]).get("/audit/").content.decode()
    assert "Opened a care task" in page and "Created a record item" in page
    assert "Read care_task" not in page and "Create item" not in page


def test_every_action_and_object_type_has_a_label_without_internal_names(cast):
    for action in AuditAction.values:
        for object_type in ["", *OBJECT_NOUNS]:
            label = event_label(AuditEvent(action=action, object_type=object_type, detail={}))
            assert label and "_" not in label and label[0].isupper(), (action, object_type, label)
    went_live = AuditEvent(action="admin", object_type="organization", detail={"step": "went_live"})
    assert event_label(went_live) == "Brought the organization live"


def test_filters_by_person_action_and_date_range(cast):
    today = timezone.localdate()
    park_read = _event(cast)
    okafor_create = _event(cast, actor="okafor", action="create")
    old = _aged(_event(cast, actor="okafor", action="create"), days=60)
    mine = [park_read, okafor_create, old]
    membership = _admin(cast)

    assert _ids(access_log(membership=membership), mine) == {e.object_id for e in mine}
    assert _ids(access_log(membership=membership, person="Peter Park"), mine) == {park_read.object_id}
    assert _ids(access_log(membership=membership, person="olivia.okafor@"), mine) == {
        okafor_create.object_id,
        old.object_id,
    }
    assert _ids(access_log(membership=membership, action="create"), mine) == {okafor_create.object_id, old.object_id}
    recent = access_log(membership=membership, start=today - dt.timedelta(days=7), end=today)
    assert _ids(recent, mine) == {park_read.object_id, okafor_create.object_id}
    assert _ids(access_log(membership=membership, end=today - dt.timedelta(days=30)), mine) == {old.object_id}
    assert _ids(access_log(membership=membership, start=today + dt.timedelta(days=1)), mine) == set()


def test_the_page_applies_the_filters_from_the_address(cast, sign_in):
    _event(cast, object_type="message_thread")
    _event(cast, actor="okafor", action="create", object_type="message_thread")
    client = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    page = client.get("/audit/", {"person": "park", "action": "read"}).content.decode()
    assert "Opened a message thread" in page and "Created a message thread" not in page
    assert 'value="park"' in page  # the form keeps what was asked
    bad = client.get("/audit/", {"start": "2026-12-01", "end": "2026-01-01"})
    assert bad.status_code == 200 and "The end date is before the start date." in bad.content.decode()


def test_pages_keep_the_filters_and_the_query_count_stays_bounded(cast, sign_in):
    client = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    _event(cast, actor="navarro", action="export", object_type="scorecard")
    client.get("/audit/")  # warm the per-process caches (routing, content types)
    with CaptureQueriesContext(connection) as few:
        client.get("/audit/", {"action": "export"})
    for _ in range(120):
        _event(cast, actor="navarro", action="export", object_type="scorecard")
    with CaptureQueriesContext(connection) as many:
        first = client.get("/audit/", {"action": "export"}).content.decode()
    assert len(many) == len(few)
    older = re.search(r'href="(\?[^"]*page=2[^"]*)"[^>]*>Older', first)
    assert older and "action=export" in older.group(1)
    second = client.get("/audit/" + older.group(1).replace("&amp;", "&"))
    assert "page 2 of" in second.content.decode()


def test_the_access_log_page_reads_at_most_a_dozen_queries(cast, sign_in, django_assert_max_num_queries):
    client = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    for _ in range(60):
        _event(cast)
    client.get("/audit/")
    with django_assert_max_num_queries(12):
        assert client.get("/audit/", {"person": "park", "start": "2026-01-01", "page": "2"}).status_code == 200


def test_the_csv_export_holds_the_filtered_events_and_is_audited(cast, sign_in, django_assert_max_num_queries):
    _event(cast, actor="park", object_type="chart")
    _event(cast, actor="okafor", object_type="chart")
    client = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    with django_assert_max_num_queries(14):
        response = client.get("/audit/export/", {"person": "park", "action": "read"})
        body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and "Alvarez" not in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and all(row["email"] == "peter.park@maple.example" for row in rows)
    assert any(row["what"] == "Opened a patient's chart" and row["patient"] == "Alvarez, Maria" for row in rows)

    export = AuditEvent.objects.filter(action="export", object_type="access_log").latest("pk")
    assert export.actor == cast.users["northfield_admin"]
    assert export.data_owner == cast.organizations["northfield"]
    assert export.detail["filters"] == {"person": "park", "action": "read"}
    assert export.detail["rows"] == len(rows)
    page = client.get("/audit/", {"action": "export"}).content.decode()
    assert "Exported the access log" in page


def test_export_cells_never_start_a_spreadsheet_formula(cast, sign_in):
    from portal.audit.views import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("-1") == "'-1" and _cell("Peter Park") == "Peter Park"


def test_a_patients_report_is_filtered_by_its_uuid_and_exports_only_that_patient(cast, sign_in):
    maria = cast.patients["maria"]
    _event(cast, object_type="chart")
    _event(cast, object_type="chart", patient=None)
    client = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    report = client.get(f"/audit/patients/{maria.uuid}/").content.decode()
    links = re.findall(r'href="([^"]*)"', report)
    assert f"/audit/patients/{maria.uuid}/export/" in " ".join(links)
    assert not any("Alvarez" in link or "Maria" in link for link in links)
    body = b"".join(client.get(f"/audit/patients/{maria.uuid}/export/").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and {row["patient_id"] for row in rows} == {str(maria.uuid)}
    export = AuditEvent.objects.filter(action="export", object_type="access_log").latest("pk")
    assert export.patient == maria


def test_the_export_is_refused_to_the_other_three_actors_and_records_nothing(cast, sign_in, anonymous):
    northfield, maria = cast.organizations["northfield"], cast.patients["maria"]
    before = AuditEvent.objects.filter(action="export", object_type="access_log").count()
    assert anonymous(northfield).get("/audit/export/").status_code == 302
    assert sign_in(cast.users["okafor"], northfield).get("/audit/export/").status_code == 404
    cedar_admin = sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"])
    assert cedar_admin.get(f"/audit/patients/{maria.uuid}/export/").status_code == 404
    # At its own address, another organization's admin exports only its own organization's events.
    own = b"".join(cedar_admin.get("/audit/export/").streaming_content).decode()
    assert "Northfield Cancer Institute" not in {row["whose_data"] for row in csv.DictReader(io.StringIO(own))}
    assert AuditEvent.objects.filter(action="export", object_type="access_log").count() == before + 1


def test_the_emergency_link_of_the_notification_still_shows_emergency_access_only(cast, sign_in):
    flagged = _event(cast, actor="chen", object_type="chart", emergency=True)
    plain = _event(cast, actor="chen", object_type="referral")
    membership = _admin(cast)
    assert _ids(access_log(membership=membership, emergency_only=True), [flagged, plain]) == {flagged.object_id}
    client = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    page = client.get("/audit/?emergency=1").content.decode()
    assert "checked" in re.search(r'<input[^>]*name="emergency"[^>]*>', page).group(0)
    assert "Opened a patient&#x27;s chart" in page and "Opened a referral" not in page
