"""A referral closes only with its own outcome (a consult report about the referred patient,
published by the receiver after accepting, not another referral's), not before its
appointment without a reason; and the receiver can write that report from the referral
and come back to it."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.care.models import Referral, ReferralEvent, ReferralState
from portal.care.services import referral_transition
from portal.notifications.models import Notification
from portal.patients.models import EntryStatus, RegistryEntry
from tests.care.helpers import advance, entry, maple_to_northfield


def _scheduled(cast, days_ahead=3):
    referral = advance(cast, maple_to_northfield(cast), "accepted")
    return referral_transition(
        referral=referral,
        action="schedule",
        appointment_at=timezone.now() + dt.timedelta(days=days_ahead),
        user=cast.users["navarro"],
        organization=cast.organizations["northfield"],
    )


def _report(cast, referral, **extra):
    return entry(referral.patient, cast.organizations["northfield"], "consult_note", code="", title="Consult", **extra)


def _state(referral):
    row = Referral.objects.get(pk=referral.pk)
    return (row.state, row.outcome_entry_id, row.closed_at, ReferralEvent.objects.count(), Notification.objects.count())


def _close(cast, referral, outcome, reason="Seen earlier"):
    return referral_transition(
        referral=referral,
        action="complete",
        outcome_entry=outcome,
        reason=reason,
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
    )


def _refusals(cast, referral):
    """Reports that may not close ``referral``, each with the field the refusal names."""
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    from portal.patients.models import NetworkPatient

    other_patient = NetworkPatient.objects.exclude(pk=referral.patient_id).first()
    earlier = _report(cast, referral, published_at=referral.accepted_at - dt.timedelta(hours=1))
    withdrawn = _report(cast, referral, status=EntryStatus.WITHDRAWN)
    other = advance(cast, maple_to_northfield(cast), "completed")  # closed with its own report
    return [
        ("none", None),
        ("a lab result", entry(referral.patient, northfield, "lab_result")),
        ("the referrer's consult report", entry(referral.patient, maple, "consult_note", code="")),
        ("another patient's report", entry(other_patient, northfield, "consult_note", code="")),
        ("a report published before the referral was accepted", earlier),
        ("a withdrawn report", withdrawn),
        ("another referral's outcome", other.outcome_entry),
    ]


def test_the_service_refuses_any_outcome_but_the_referrals_own(cast):
    referral = _scheduled(cast)
    for label, outcome in _refusals(cast, referral):
        before = _state(referral)
        with pytest.raises(ValidationError) as refused:
            _close(cast, referral, outcome)
        assert "outcome_entry" in refused.value.message_dict, label
        assert _state(referral) == before, label
    # Another referral's report is refused by the database too.
    taken = Referral.objects.exclude(outcome_entry=None).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(outcome_entry=taken.outcome_entry)


def test_closing_before_the_appointment_needs_a_reason_kept_in_the_history(cast, sign_in):
    referral = _scheduled(cast)
    report = _report(cast, referral)
    before = _state(referral)
    with pytest.raises(ValidationError) as refused:
        _close(cast, referral, report, reason="  ")
    assert "reason" in refused.value.message_dict
    assert _state(referral) == before
    _close(cast, referral, report, reason="Patient seen at the walk-in clinic")
    referral.refresh_from_db()
    assert referral.state == ReferralState.COMPLETED and referral.outcome_entry == report
    event = referral.events.get(action="complete")
    assert "Closed before the appointment" in event.note and "walk-in clinic" in event.note
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get(f"/care/referrals/{referral.uuid}/")
    history = page.content.decode()
    assert "Closed before the appointment" in history[history.index('id="h-history"') :]


def test_after_the_appointment_no_reason_is_needed(cast):
    referral = _scheduled(cast)
    Referral.objects.filter(pk=referral.pk).update(appointment_at=timezone.now() - dt.timedelta(hours=1))
    referral.refresh_from_db()
    _close(cast, referral, _report(cast, referral), reason="")
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.COMPLETED


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_api_refuses_each_wrong_outcome_with_400(cast, sign_in):
    referral = _scheduled(cast)
    nina = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    url = f"/api/v1/referrals/{referral.uuid}/transition/"
    for label, outcome in _refusals(cast, referral):
        if outcome is None or outcome.patient_id != referral.patient_id:
            continue  # not on this patient's record: the API says so before the service
        before = _state(referral)
        response = _post(nina, url, {"action": "complete", "outcome_entry": str(outcome.uuid), "reason": "Early"})
        assert response.status_code == 400, label
        assert "outcome_entry" in response.json()["errors"], label
        assert _state(referral) == before, label
    report = _report(cast, referral)
    early = _post(nina, url, {"action": "complete", "outcome_entry": str(report.uuid)})
    assert early.status_code == 400 and "reason" in early.json()["errors"]
    assert _state(referral)[0] == ReferralState.SCHEDULED


def test_return_outcome_offers_only_this_referrals_reports_and_chooses_none(cast, sign_in):
    referral = _scheduled(cast)
    earlier = _report(cast, referral, published_at=referral.accepted_at - dt.timedelta(hours=1))
    other = advance(cast, maple_to_northfield(cast), "completed")
    mine = _report(cast, referral)
    page = sign_in(cast.users["okafor"], cast.organizations["northfield"]).get(f"/care/referrals/{referral.uuid}/")
    html = page.content.decode()
    assert [e.pk for e in page.context["consult_reports"]] == [mine.pk]
    assert str(mine.uuid) in html and str(earlier.uuid) not in html and str(other.outcome_entry.uuid) not in html
    select = html[html.index('id="outcome-entry"') : html.index("</select>", html.index('id="outcome-entry"'))]
    assert "selected" not in select and '<option value="">Choose the consult report' in select
    assert 'id="reason-complete"' in html  # the appointment is still to come


def test_with_no_report_the_page_leads_to_writing_one_and_back(cast, sign_in):
    referral = _scheduled(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    detail = f"/care/referrals/{referral.uuid}/"
    page = okafor.get(detail)
    assert page.context["consult_reports"] == []
    link = page.context["write_report_url"]
    assert f'href="{link.replace("&", "&amp;")}"' in page.content.decode()
    parsed = urlparse(link)
    assert parsed.path == f"/records/new/{referral.patient.uuid}/consult_note/"
    assert parse_qs(parsed.query) == {"referral": [str(referral.uuid)], "next": [detail]}
    assert "lymphadenopathy" not in link.lower()  # no clinical text in the address

    form = okafor.get(link)
    assert form.status_code == 200
    html = form.content.decode()
    assert "Persistent lymphadenopathy" in html and 'id="answering"' in html
    published = okafor.post(
        link,
        {
            "effective_date": timezone.localdate().isoformat(),
            "note_type": "consult",
            "subject": "Hematology consult",
            "text": "Question: persistent lymphadenopathy. Excisional biopsy: DLBCL. Plan R-CHOP.",
            "action": "publish",
        },
    )
    assert published.status_code == 302 and published["Location"] == detail
    report = RegistryEntry.objects.get(patient=referral.patient, kind="consult_note", title="Hematology consult")
    back = okafor.get(detail)
    assert [e.pk for e in back.context["consult_reports"]] == [report.pk]
    done = okafor.post(
        f"/care/referrals/{referral.uuid}/act/",
        {"action": "complete", "outcome_entry": str(report.uuid), "reason": "Seen the same day as the biopsy"},
    )
    assert done.status_code == 302
    referral.refresh_from_db()
    assert referral.state == ReferralState.COMPLETED and referral.outcome_entry == report


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_the_return_address_is_a_local_path_only(cast, sign_in, target):
    referral = _scheduled(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    url = f"/records/new/{referral.patient.uuid}/consult_note/"
    response = okafor.post(
        url + "?" + f"referral={referral.uuid}&next={target}",
        {
            "effective_date": timezone.localdate().isoformat(),
            "note_type": "consult",
            "subject": "Consult",
            "text": "Seen.",
            "action": "publish",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{referral.patient.uuid}/"


def test_only_the_receiver_gets_the_referrals_question_prefilled(cast, sign_in):
    referral = _scheduled(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    form = park.get(f"/records/new/{referral.patient.uuid}/consult_note/?referral={referral.uuid}")
    assert form.status_code == 200
    assert "Persistent lymphadenopathy" not in form.content.decode()
