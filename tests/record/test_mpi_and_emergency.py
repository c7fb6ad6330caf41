"""The master patient index, break-the-glass, and search."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from portal.audit.models import AuditEvent
from portal.notifications.models import Notification
from portal.patients.models import MatchStatus, NetworkPatient, PatientIdentifier, PatientMatchCandidate
from portal.patients.selectors import patient_search, user_can_view_patient
from portal.patients.services import emergency_access_request, patient_match_decide, patient_register


def _register(cast, slug, mrn, given, family, born=dt.date(1961, 4, 12), sex="female"):
    return patient_register(
        organization=cast.organizations[slug],
        mrn=mrn,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex=sex,
        registered_by=cast.users["chen"],
    )


def _chen_opens_maria_in_an_emergency(cast, reason):
    return emergency_access_request(
        user=cast.users["chen"],
        organization=cast.organizations["cedarvalley"],
        given_name="Maria",
        family_name="Alvarez",
        date_of_birth=dt.date(1961, 4, 12),
        reason=reason,
    )


def test_registering_the_same_person_elsewhere_links_to_the_network_patient(cast):
    registration = _register(cast, "cedarvalley", "CVC-9001", " maría ", "ALVAREZ")
    assert registration.outcome == "linked"
    assert registration.patient == cast.patients["maria"]
    assert NetworkPatient.objects.filter(date_of_birth=dt.date(1961, 4, 12)).count() == 1


def test_a_probable_match_is_queued_never_merged_silently(cast):
    registration = _register(cast, "cedarvalley", "CVC-9002", "Mariah", "Alvarez")
    assert registration.outcome == "queued"
    assert registration.patient != cast.patients["maria"]
    match = PatientMatchCandidate.objects.get(patient=registration.patient)
    assert match.candidate == cast.patients["maria"] and match.status == MatchStatus.PENDING


def test_confirming_a_match_merges_records_and_rejecting_keeps_them_apart(cast):
    queued = _register(cast, "cedarvalley", "CVC-9003", "Mariah", "Alvarez").candidate
    patient_match_decide(
        match=queued, user=cast.users["navarro"], same_person=True, organization=cast.organizations["northfield"]
    )
    assert (
        PatientIdentifier.objects.get(organization=cast.organizations["cedarvalley"], mrn="CVC-9003").patient
        == cast.patients["maria"]
    )
    with pytest.raises(ValidationError):
        patient_match_decide(
            match=queued, user=cast.users["navarro"], same_person=False, organization=cast.organizations["northfield"]
        )


def test_rejecting_a_match_keeps_two_patients(cast):
    queued = _register(cast, "lakeside", "LOA-9004", "Marla", "Alvarez").candidate
    patient_match_decide(
        match=queued,
        user=cast.users["northfield_admin"],
        same_person=False,
        organization=cast.organizations["northfield"],
    )
    assert PatientIdentifier.objects.get(mrn="LOA-9004").patient != cast.patients["maria"]


def test_a_different_person_is_registered_as_new(cast):
    registration = _register(cast, "cedarvalley", "CVC-9005", "Quentin", "Oduya", born=dt.date(1975, 2, 2), sex="male")
    assert registration.outcome == "new"


def test_a_duplicate_mrn_is_refused_and_nothing_is_written(cast):
    before = NetworkPatient.objects.count()
    with pytest.raises(ValidationError, match="already registered"):
        _register(cast, "maple", "MFM-55871", "Someone", "Else", born=dt.date(1980, 1, 1))
    assert NetworkPatient.objects.count() == before


def test_registering_through_the_page_shows_errors_and_links(cast, sign_in):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    bad = chen.post(
        "/patients/register/",
        {"given_name": "", "family_name": "X", "date_of_birth": "2999-01-01", "sex": "female", "mrn": "A"},
    )
    assert bad.status_code == 200 and "This field is required" in bad.content.decode()
    ok = chen.post(
        "/patients/register/",
        {
            "given_name": "Maria",
            "family_name": "Alvarez",
            "date_of_birth": "1961-04-12",
            "sex": "female",
            "mrn": "CVC-1",
        },
    )
    assert ok.status_code == 302
    assert user_can_view_patient(
        user=cast.users["chen"], organization=cast.organizations["cedarvalley"], patient=cast.patients["maria"]
    )


def test_break_the_glass_opens_flagged_time_boxed_access_and_tells_the_admins(cast):
    chen, cedar, maria = cast.users["chen"], cast.organizations["cedarvalley"], cast.patients["maria"]
    assert not user_can_view_patient(user=chen, organization=cedar, patient=maria)
    with pytest.raises(ValidationError):
        emergency_access_request(
            user=chen,
            organization=cedar,
            given_name="Maria",
            family_name="Alvarez",
            date_of_birth=dt.date(1961, 4, 12),
            reason="need",
        )
    grant = _chen_opens_maria_in_an_emergency(cast, "Unresponsive in our urgent care, on chemo")
    assert user_can_view_patient(user=chen, organization=cedar, patient=maria)
    assert (grant.expires_at - grant.starts_at) == dt.timedelta(hours=4)
    assert AuditEvent.objects.filter(action="break_glass", emergency=True, patient=maria, actor=chen).exists()
    told = set(Notification.objects.filter(kind="emergency_access").values_list("recipient__email", flat=True))
    assert {"grace.whitfield@northfield.example", "dana.moss@maple.example"} <= told
    assert not Notification.objects.filter(kind="emergency_access", title__icontains="Alvarez").exists()


def test_break_the_glass_chart_reads_are_flagged(cast, sign_in):
    chen, cedar = cast.users["chen"], cast.organizations["cedarvalley"]
    _chen_opens_maria_in_an_emergency(cast, "Seen in urgent care with fever")
    page = sign_in(chen, cedar).get(f"/patients/{cast.patients['maria'].uuid}/")
    assert page.status_code == 200 and "Emergency access" in page.content.decode()
    assert AuditEvent.objects.filter(action="read", actor=chen, emergency=True).exists()


@pytest.mark.parametrize(
    "query", ["Maria Alvarez", "alvarez", "Alvarex", "Marai Alvarez", "1961-04-12", "04/12/1961", "mfm-55871"]
)
def test_search_is_tolerant_of_typos_and_finds_by_birth_date_and_mrn(cast, query):
    results = patient_search(user=cast.users["park"], organization=cast.organizations["maple"], query=query)
    assert cast.patients["maria"] in results


def test_search_finds_nothing_outside_relationships(cast):
    assert (
        patient_search(user=cast.users["chen"], organization=cast.organizations["cedarvalley"], query="Alvarez") == []
    )


def test_after_a_confirmed_merge_search_finds_the_patient_by_the_network_name(cast):
    chen, cedar = cast.users["chen"], cast.organizations["cedarvalley"]
    queued = _register(cast, "cedarvalley", "CVC-9004", "Mariah", "Alvarez").candidate
    assert cast.patients["maria"] not in patient_search(user=chen, organization=cedar, query="Maria Alvarez")
    patient_match_decide(
        match=queued, user=cast.users["navarro"], same_person=True, organization=cast.organizations["northfield"]
    )
    assert cast.patients["maria"] in patient_search(user=chen, organization=cedar, query="Maria Alvarez")


def test_a_patient_opened_by_emergency_access_is_found_by_name_only_while_it_lasts(cast):
    chen, cedar, maria = cast.users["chen"], cast.organizations["cedarvalley"], cast.patients["maria"]
    assert patient_search(user=chen, organization=cedar, query="Alvarex") == []
    grant = _chen_opens_maria_in_an_emergency(cast, "Seen in urgent care with fever")
    assert patient_search(user=chen, organization=cedar, query="Alvarex") == [maria]
    grant.expires_at = grant.starts_at
    grant.save(update_fields=["expires_at"])
    assert patient_search(user=chen, organization=cedar, query="Alvarex") == []
