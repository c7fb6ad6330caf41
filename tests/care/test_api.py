"""The care API under /api/v1/: same rules as the pages, 4xx with useful bodies."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from portal.care.models import CareTask, Handoff, Referral, ReferralState
from tests.care.helpers import advance, entry, maple_to_northfield


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_referral_create_and_list_through_the_api(cast, sign_in, anonymous):
    maple, northfield = cast.organizations["maple"], cast.organizations["northfield"]
    maria = cast.patients["maria"]
    body = {
        "patient": str(maria.uuid),
        "receiving_organization": str(northfield.uuid),
        "specialty": "Hematology consult",
        "checklist": ["pathology"],
    }
    assert _post(anonymous(maple), "/api/v1/referrals/", body).status_code == 403
    assert _post(sign_in(cast.users["maple_admin"], maple), "/api/v1/referrals/", body).status_code == 404
    chen = _post(sign_in(cast.users["chen"], cast.organizations["cedarvalley"]), "/api/v1/referrals/", body)
    assert chen.status_code == 400 and "patient" in chen.json()["errors"]
    assert not Referral.objects.filter(patient=maria).exists()
    park = sign_in(cast.users["park"], maple)
    bad = _post(park, "/api/v1/referrals/", {**body, "checklist": ["tarot"], "specialty": ""})
    assert bad.status_code == 400 and {"checklist", "specialty"} <= set(bad.json()["errors"])
    created = _post(park, "/api/v1/referrals/", body)
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "requested"
    nina = sign_in(cast.users["navarro"], northfield)
    listed = nina.get("/api/v1/referrals/").json()
    assert [r["uuid"] for r in listed["results"]] == [created.json()["uuid"]]
    assert park.get("/api/v1/referrals/").json()["results"] == []
    assert len(park.get("/api/v1/referrals/?direction=outbound").json()["results"]) == 1


def test_referral_transitions_through_the_api(cast, sign_in):
    referral = maple_to_northfield(cast)
    url = f"/api/v1/referrals/{referral.uuid}/transition/"
    nina = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    wrong_side = _post(park, url, {"action": "receive"})
    assert wrong_side.status_code == 409 and "receiving organization" in wrong_side.json()["detail"]
    out_of_order = _post(nina, url, {"action": "accept"})
    assert out_of_order.status_code == 409
    assert _post(nina, url, {"action": "teleport"}).status_code == 400
    assert _post(nina, url, {"action": "receive"}).json()["state"] == "received"
    no_reason = _post(nina, url, {"action": "decline"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.RECEIVED
    assert _post(nina, url, {"action": "accept"}).json()["state"] == "accepted"
    when = (timezone.now() + dt.timedelta(days=4)).isoformat()
    assert _post(nina, url, {"action": "schedule", "appointment_at": when}).json()["state"] == "scheduled"
    report = entry(referral.patient, cast.organizations["northfield"], "consult_note", code="", title="Consult")
    # The appointment is still to come: closing before it needs the receiver's reason.
    early = _post(nina, url, {"action": "complete", "outcome_entry": str(report.uuid)})
    assert early.status_code == 400 and "reason" in early.json()["errors"]
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.SCHEDULED
    done = _post(nina, url, {"action": "complete", "outcome_entry": str(report.uuid), "reason": "Seen early"})
    assert done.json()["state"] == "completed" and done.json()["outcome_entry"] == str(report.uuid)
    detail = park.get(f"/api/v1/referrals/{referral.uuid}/").json()
    assert [e["action"] for e in detail["events"]] == ["request", "receive", "accept", "schedule", "complete"]
    assert detail["allowed_actions"] == []
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(f"/api/v1/referrals/{referral.uuid}/").status_code == 404
    assert _post(chen, url, {"action": "receive"}).status_code == 404


def test_tasks_through_the_api_with_recent_test_warning_and_result_link(cast, sign_in):
    maria = cast.patients["maria"]
    entry(maria, cast.organizations["stbrendans"], days_ago=2)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    body = {
        "patient": str(maria.uuid),
        "owner_organization": str(cast.organizations["maple"].uuid),
        "title": "CBC",
        "code": "58410-2",
        "recurrence": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6",
    }
    both = _post(okafor, "/api/v1/care-tasks/", {**body, "due_at": timezone.now().isoformat()})
    assert both.status_code == 400 and "due_at" in both.json()["errors"]
    created = _post(okafor, "/api/v1/care-tasks/", body)
    assert created.status_code == 201, created.content
    assert len(created.json()["occurrences"]) == 6
    assert created.json()["warnings"][0]["organization"] == "stbrendans"
    task = CareTask.objects.get(uuid=created.json()["uuid"])
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    result = entry(maria, cast.organizations["maple"])
    occurrence = task.occurrences.first()
    url = f"/api/v1/care-tasks/{task.uuid}/link-result/"
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert _post(chen, url, {"occurrence": occurrence.pk, "entry": str(result.uuid)}).status_code == 404
    linked = _post(park, url, {"occurrence": occurrence.pk, "entry": str(result.uuid)})
    assert linked.status_code == 200
    assert linked.json()["occurrences"][0]["result_entry"] == str(result.uuid)
    again = _post(park, url, {"occurrence": occurrence.pk, "entry": str(result.uuid)})
    assert again.status_code == 409
    assert len(park.get("/api/v1/care-tasks/").json()["results"]) == 1


def test_handoffs_through_the_api(cast, sign_in):
    maria = cast.patients["maria"]
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    body = {
        "patient": str(maria.uuid),
        "to_organization": str(cast.organizations["maple"].uuid),
        "treatment_summary": "R-CHOP x6",
        "items": [{"section": "symptoms", "text": "Fever", "responsible": "nobody"}],
    }
    bad = _post(okafor, "/api/v1/handoffs/", body)
    assert bad.status_code == 400 and "items" in bad.json()["errors"]
    body["items"][0]["responsible"] = "oncology"
    created = _post(okafor, "/api/v1/handoffs/", body)
    assert created.status_code == 201 and created.json()["to_user"] == cast.users["park"].email
    url = f"/api/v1/handoffs/{created.json()['uuid']}/acknowledge/"
    assert _post(okafor, url, {}).status_code == 409
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert _post(park, url, {}).json()["acknowledged_at"] is not None
    assert Handoff.objects.get(uuid=created.json()["uuid"]).acknowledged_by == cast.users["park"]


def test_api_lists_are_empty_for_a_member_without_a_clinical_role(cast, sign_in):
    advance(cast, maple_to_northfield(cast), "received")
    admin = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    for path in ("/api/v1/referrals/", "/api/v1/care-tasks/", "/api/v1/handoffs/"):
        response = admin.get(path)
        assert response.status_code == 200 and response.json()["results"] == []
