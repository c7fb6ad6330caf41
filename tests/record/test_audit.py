"""Every read leaves an audit row; the database refuses to change or remove one."""

import pytest
from django.db import DatabaseError, transaction

from portal.audit.models import AuditEvent


def test_opening_the_chart_records_a_read_for_each_organization_whose_data_was_shown(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = AuditEvent.objects.count()
    park.get(f"/patients/{cast.patients['maria'].uuid}/")
    events = AuditEvent.objects.order_by("-pk")[: AuditEvent.objects.count() - before]
    owners = {event.data_owner.slug for event in events if event.action == "read"}
    assert owners == {"northfield", "maple"}
    assert all(event.actor == cast.users["park"] and event.patient == cast.patients["maria"] for event in events)


@pytest.mark.parametrize("api", [False, True])
def test_opening_an_item_records_who_what_whose_and_from_where(cast, sign_in, maria_entry, api):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    prefix = "/api/v1" if api else ""
    response = park.get(
        f"{prefix}/patients/{cast.patients['maria'].uuid}/entries/{maria_entry.uuid}/", REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action="read", object_type="item").latest("pk")
    assert event.actor == cast.users["park"]
    assert event.acting_organization == cast.organizations["maple"]
    assert event.data_owner == cast.organizations["northfield"]
    assert event.patient == cast.patients["maria"]
    assert event.ip_address == "10.1.2.3"
    assert event.outcome == "allowed"


def test_the_database_refuses_to_update_or_delete_audit_events(cast):
    event = AuditEvent.objects.create(action="read", actor_label="x@example.org")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk, actor_label="x@example.org").exists()


def test_northfields_admin_sees_who_looked_at_its_data(cast, sign_in, maria_entry):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    park.get(f"/patients/{cast.patients['maria'].uuid}/entries/{maria_entry.uuid}/")
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    page = admin.get("/audit/").content.decode()
    assert "Peter Park" in page and "Maple Family Medicine" in page
    report = admin.get(f"/audit/patients/{cast.patients['maria'].uuid}/")
    assert report.status_code == 200 and "Peter Park" in report.content.decode()


def test_the_access_log_is_for_site_admins_only(cast, sign_in, anonymous):
    assert sign_in(cast.users["okafor"], cast.organizations["northfield"]).get("/audit/").status_code == 404
    assert anonymous(cast.organizations["northfield"]).get("/audit/").status_code == 302
    chen_admin = sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"])
    assert chen_admin.get(f"/audit/patients/{cast.patients['maria'].uuid}/").status_code == 404
