"""No back door to a patient: registering, match review, referrals, tasks and messages of
an unrelated clinic grant it nothing of what other organizations share (issue #12)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.audit.models import AuditEvent
from portal.notifications.models import Notification
from portal.patients.models import (
    AccessRequest,
    CareRelationship,
    MatchStatus,
    PatientMatchCandidate,
    RegistryEntry,
)
from portal.patients.selectors import record_shared_with, user_can_view_patient
from portal.patients.services import access_request_create, access_request_decide, patient_match_decide

MARIA = {"given_name": "Maria", "family_name": "Alvarez", "date_of_birth": "1961-04-12", "sex": "female"}


def _markers(cast):
    """What only Northfield's and Maple's entries about Maria would put on a page."""
    entries = RegistryEntry.objects.filter(patient=cast.patients["maria"]).exclude(
        organization=cast.organizations["cedarvalley"]
    )
    markers = {str(entry.uuid) for entry in entries}
    markers |= {entry.title for entry in entries if len(entry.title) >= 12}
    assert len(markers) > 10
    return markers


def _leaks(content, markers):
    return sorted(marker for marker in markers if marker in content)


def _chen_registers_maria(cast, sign_in, mrn="CVC-4242"):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    response = chen.post("/patients/register/", {**MARIA, "mrn": mrn}, follow=True)
    assert response.status_code == 200
    return chen, response


def test_registering_a_known_patient_opens_only_the_registering_organizations_entries(cast, sign_in):
    markers = _markers(cast)
    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    chen, response = _chen_registers_maria(cast, sign_in)
    page = response.content.decode()
    assert not _leaks(page, markers)
    assert "Ask to see the shared record" in page
    # The chart opens (her own standing), with nothing of Northfield's or Maple's.
    assert user_can_view_patient(user=cast.users["chen"], organization=cedar, patient=maria)
    assert not record_shared_with(user=cast.users["chen"], organization=cedar, patient=maria)
    api = chen.get(f"/api/v1/patients/{maria.uuid}/").json()
    assert api["record_shared"] is False and api["diagnoses"] == [] and api["treatments"] == []
    assert chen.get(f"/api/v1/patients/{maria.uuid}/entries/").json() == []
    northfield_entry = RegistryEntry.objects.filter(
        patient=maria, organization=cast.organizations["northfield"]
    ).first()
    assert chen.get(f"/patients/{maria.uuid}/entries/{northfield_entry.uuid}/").status_code == 404
    assert chen.get(f"/api/v1/patients/{maria.uuid}/entries/{northfield_entry.uuid}/").status_code == 404
    relationship = CareRelationship.objects.get(patient=maria, organization=cedar)
    assert relationship.kind == "registered" and relationship.shares_record is False
    # The grant names whose data it opens: Cedar Valley's own, in no one else's access log.
    grants = AuditEvent.objects.filter(action="grant", object_id=str(relationship.pk))
    assert {event.data_owner for event in grants} == {cedar}
    # Nobody else's data was read.
    assert not AuditEvent.objects.filter(
        action="read",
        outcome="allowed",
        actor=cast.users["chen"],
        data_owner__in=[cast.organizations["northfield"], cast.organizations["maple"]],
    ).exists()


def test_the_registration_answer_reads_the_same_whether_the_person_was_known(cast, sign_in):
    _, known = _chen_registers_maria(cast, sign_in, mrn="CVC-1")
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    unknown = chen.post(
        "/patients/register/",
        {"given_name": "Quentin", "family_name": "Oduya", "date_of_birth": "1975-02-02", "sex": "male", "mrn": "CVC-2"},
        follow=True,
    )
    probable = chen.post(
        "/patients/register/",
        {
            "given_name": "Mariah",
            "family_name": "Alvarez",
            "date_of_birth": "1961-04-12",
            "sex": "female",
            "mrn": "CVC-3",
        },
        follow=True,
    )

    def note(response, mrn):
        [message] = [str(m) for m in response.context["messages"]]
        return message.replace(mrn, "MRN")

    assert note(known, "CVC-1") == note(unknown, "CVC-2") == note(probable, "CVC-3")


def test_an_access_request_is_answered_by_an_organization_that_shares_the_record(cast, sign_in, anonymous):
    markers = _markers(cast)
    maria, cedar, northfield = (
        cast.patients["maria"],
        cast.organizations["cedarvalley"],
        cast.organizations["northfield"],
    )
    chen, _ = _chen_registers_maria(cast, sign_in)
    sent = chen.post(f"/patients/{maria.uuid}/access-request/", {"reason": "She is now our patient for primary care."})
    assert sent.status_code == 302
    request = AccessRequest.objects.get(patient=maria, organization=cedar)
    # Northfield's and Maple's navigators and site admins are told, without the patient's name.
    told = Notification.objects.filter(kind="access_request")
    assert {n.recipient.email for n in told} >= {"nina.navarro@northfield.example", "dana.moss@maple.example"}
    assert not told.filter(title__icontains="Alvarez").exists()
    # Anonymous, Cedar Valley itself and a clinician of Northfield (not a navigator) cannot answer.
    anonymous_answer = anonymous(northfield).post(
        f"/patients/access-requests/{request.uuid}/decide/", {"decision": "confirm"}
    )
    assert anonymous_answer.status_code == 302 and "/accounts/login/" in anonymous_answer["Location"]
    assert chen.post(f"/patients/access-requests/{request.uuid}/decide/", {"decision": "confirm"}).status_code == 404
    cedar_admin = sign_in(cast.users["cedarvalley_admin"], cedar)
    assert (
        cedar_admin.post(f"/patients/access-requests/{request.uuid}/decide/", {"decision": "confirm"}).status_code
        == 404
    )
    okafor = sign_in(cast.users["okafor"], northfield)
    assert okafor.post(f"/patients/access-requests/{request.uuid}/decide/", {"decision": "confirm"}).status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"
    assert not _leaks(chen.get(f"/patients/{maria.uuid}/").content.decode(), markers)
    # Nina Navarro sees who asked and why, and confirms.
    nina = sign_in(cast.users["navarro"], northfield)
    queue = nina.get("/patients/access-requests/").content.decode()
    assert "Cedar Valley Clinic" in queue and "now our patient for primary care" in queue
    assert nina.post(f"/patients/access-requests/{request.uuid}/decide/", {"decision": "confirm"}).status_code == 302
    request.refresh_from_db()
    assert request.status == "confirmed" and request.decided_by == cast.users["navarro"]
    assert request.relationship.shares_record and request.relationship.granted_by == cast.users["navarro"]
    # Now Chen sees what Northfield and Maple share, and the grant is in their access logs.
    chart = chen.get(f"/patients/{maria.uuid}/").content.decode()
    assert _leaks(chart, markers)
    owners = set(
        AuditEvent.objects.filter(action="grant", object_id=str(request.relationship.pk)).values_list(
            "data_owner__slug", flat=True
        )
    )
    assert {"northfield", "maple", "cedarvalley"} <= owners
    assert Notification.objects.filter(recipient=cast.users["chen"], kind="access_request").exists()


def test_declining_an_access_request_needs_a_reason_and_opens_nothing(cast, sign_in):
    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    chen, _ = _chen_registers_maria(cast, sign_in)
    request = access_request_create(
        user=cast.users["chen"], organization=cedar, patient=maria, reason="She transferred her primary care to us."
    )
    with pytest.raises(ValidationError):
        access_request_decide(
            access_request=request,
            user=cast.users["navarro"],
            organization=cast.organizations["northfield"],
            confirm=False,
        )
    access_request_decide(
        access_request=request,
        user=cast.users["navarro"],
        organization=cast.organizations["northfield"],
        confirm=False,
        reason="We have no record of a transfer; call our navigator.",
    )
    request.refresh_from_db()
    assert request.status == "declined" and "no record of a transfer" in request.decline_reason
    assert not record_shared_with(user=cast.users["chen"], organization=cedar, patient=maria)
    assert "no record of a transfer" in chen.get("/patients/access-requests/").content.decode()


def test_an_organization_that_only_registered_cannot_confirm_anyone(cast, sign_in):
    """Lakeside registers Maria too: it sees its own entries only and may not open the record
    to Cedar Valley, however it asks."""
    maria = cast.patients["maria"]
    _chen_registers_maria(cast, sign_in)
    lakeside = sign_in(cast.users["ortega"], cast.organizations["lakeside"])
    lakeside.post("/patients/register/", {**MARIA, "mrn": "LOA-77"})
    request = access_request_create(
        user=cast.users["chen"],
        organization=cast.organizations["cedarvalley"],
        patient=maria,
        reason="She is now our patient for primary care.",
    )
    with pytest.raises(PermissionDenied):
        access_request_decide(
            access_request=request,
            user=cast.users["lakeside_admin"],
            organization=cast.organizations["lakeside"],
            confirm=True,
        )
    admin = sign_in(cast.users["lakeside_admin"], cast.organizations["lakeside"])
    assert "Cedar Valley" not in admin.get("/patients/access-requests/").content.decode()


def test_match_review_never_shows_the_candidate_to_the_registering_organization(cast, sign_in):
    markers = _markers(cast)
    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    chen = sign_in(cast.users["chen"], cedar)
    chen.post(
        "/patients/register/",
        {
            "given_name": "Mariah",
            "family_name": "Alvarez",
            "date_of_birth": "1961-04-12",
            "sex": "female",
            "mrn": "CVC-88",
        },
    )
    match = PatientMatchCandidate.objects.get(organization=cedar, candidate=maria)
    cedar_admin = sign_in(cast.users["cedarvalley_admin"], cedar)
    queue = cedar_admin.get("/patients/matches/").content.decode()
    assert "Mariah" in queue and "CVC-88" in queue and "Waiting for review" in queue  # its own side
    assert "NCI-100234" not in queue and "MFM-55871" not in queue and "Maria," not in queue
    assert str(maria.uuid) not in queue
    # Deciding is not Cedar Valley's: 404, nothing changed.
    assert cedar_admin.post(f"/patients/matches/{match.pk}/decide/", {"decision": "same"}).status_code == 404
    match.refresh_from_db()
    assert match.status == MatchStatus.PENDING
    with pytest.raises(PermissionDenied):
        patient_match_decide(match=match, user=cast.users["cedarvalley_admin"], same_person=True, organization=cedar)
    # Northfield's navigator, who sees Maria already, decides.
    nina = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    assert "Mariah" in nina.get("/patients/matches/").content.decode()
    assert nina.post(f"/patients/matches/{match.pk}/decide/", {"decision": "same"}).status_code == 302
    match.refresh_from_db()
    assert match.status == MatchStatus.CONFIRMED
    # "Same" gives Cedar Valley the standing of a registration on Maria: its own entries only.
    assert user_can_view_patient(user=cast.users["chen"], organization=cedar, patient=maria)
    assert not record_shared_with(user=cast.users["chen"], organization=cedar, patient=maria)
    assert not _leaks(chen.get(f"/patients/{maria.uuid}/").content.decode(), markers)
    assert "Linked to a patient known on the network" in cedar_admin.get("/patients/matches/").content.decode()


def test_a_referral_from_an_organization_that_only_registered_opens_nothing_more(cast, sign_in):
    from portal.care.services import referral_create, referral_transition

    markers = _markers(cast)
    maria, cedar, lakeside = cast.patients["maria"], cast.organizations["cedarvalley"], cast.organizations["lakeside"]
    _chen_registers_maria(cast, sign_in)
    referral = referral_create(
        user=cast.users["chen"],
        organization=cedar,
        patient=maria,
        receiving_organization=lakeside,
        specialty="Medical oncology",
        reason="Second opinion",
        priority="routine",
        checklist={},
    )
    for action in ("receive", "accept"):
        referral_transition(referral=referral, action=action, user=cast.users["ortega"], organization=lakeside)
    relationship = CareRelationship.objects.get(patient=maria, organization=lakeside, kind="referral")
    assert relationship.shares_record is False
    ortega = sign_in(cast.users["ortega"], lakeside)
    assert not _leaks(ortega.get(f"/patients/{maria.uuid}/").content.decode(), markers)
    # Chen gained nothing either.
    assert not record_shared_with(user=cast.users["chen"], organization=cedar, patient=maria)


def test_a_referral_from_a_sharing_organization_shares_the_record(cast):
    from portal.care.services import referral_create, referral_transition

    maria, maple, lakeside = cast.patients["maria"], cast.organizations["maple"], cast.organizations["lakeside"]
    referral = referral_create(
        user=cast.users["park"],
        organization=maple,
        patient=maria,
        receiving_organization=lakeside,
        specialty="Medical oncology",
        reason="Second opinion",
        priority="routine",
        checklist={},
    )
    for action in ("receive", "accept"):
        referral_transition(referral=referral, action=action, user=cast.users["ortega"], organization=lakeside)
    assert record_shared_with(user=cast.users["ortega"], organization=lakeside, patient=maria)


def test_tasks_and_messages_of_a_registering_clinic_reach_no_shared_entry(cast, sign_in):
    from portal.messaging.services import Recipient, thread_start

    markers = _markers(cast)
    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    chen, _ = _chen_registers_maria(cast, sign_in)
    northfield_entry = RegistryEntry.objects.filter(
        patient=maria, organization=cast.organizations["northfield"]
    ).first()
    # A message pointing at Northfield's entry: the same answer as an entry that does not exist.
    with pytest.raises(ValidationError, match="not on the shared record"):
        thread_start(
            sender=cast.users["chen"],
            organization=cedar,
            subject="About her",
            body="Hello",
            recipients=[Recipient(organization=cast.organizations["northfield"], user=cast.users["okafor"])],
            patient=maria,
            entries=[northfield_entry],
        )
    # The compose form and the new-task form offer nothing of Northfield's or Maple's.
    for path in (
        f"/messages/new/?patient={maria.uuid}",
        f"/care/referrals/new/?patient={maria.uuid}",
        f"/care/tasks/new/?patient={maria.uuid}",
        f"/care/handoffs/new/?patient={maria.uuid}",
        "/",
        "/patients/",
    ):
        response = chen.get(path)
        assert response.status_code == 200, path
        assert not _leaks(response.content.decode(), markers), path


def test_repeated_refusals_are_audited_and_told_to_the_site_admins_once(cast, sign_in):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    maria = cast.patients["maria"]
    for _ in range(7):
        assert chen.get(f"/patients/{maria.uuid}/").status_code == 404
    denied = AuditEvent.objects.filter(actor=cast.users["chen"], outcome="denied", action="read")
    assert denied.count() == 7
    event = denied.first()
    assert event.object_type == "patients:chart" and event.ip_address
    alerts = Notification.objects.filter(kind="denied_reads")
    assert {n.recipient.email for n in alerts} == {
        "ivan.holt@cedarvalley.example",
        "miriam.ashford@cedarvalley.example",
    }
    assert not alerts.filter(title__icontains="Alvarez").exists()
    # The access log of Cedar Valley filters the refused requests.
    admin = sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"])
    log = admin.get("/audit/?denied=on").content.decode()
    assert "Refused: a patient&#x27;s chart" in log or "Refused: a patient's chart" in log


def test_hand_offs_role_changes_and_pools_give_a_registering_clinic_nothing(cast, sign_in):
    """The other self-service paths: a hand-off it sends, a role it gives itself, a care-team
    pool it writes to. Cedar Valley still sees its own entries only."""
    from portal.accounts.models import Membership
    from portal.accounts.roles import Role
    from portal.accounts.services import membership_set_role
    from portal.care.services import handoff_send
    from portal.messaging.services import Recipient, thread_start

    markers = _markers(cast)
    maria, cedar, maple = cast.patients["maria"], cast.organizations["cedarvalley"], cast.organizations["maple"]
    chen_user = cast.users["chen"]
    chen, _ = _chen_registers_maria(cast, sign_in)
    handoff_send(
        user=chen_user,
        organization=cedar,
        patient=maria,
        to_organization=maple,
        kind="survivorship",
        treatment_summary="Seen at Cedar Valley.",
        items=[{"section": "symptoms", "text": "Follow-up visit", "responsible": "oncology"}],
        to_user=cast.users["park"],
    )
    thread_start(
        sender=chen_user,
        organization=cedar,
        subject="Your patient",
        body="Could you share her oncology summary?",
        recipients=[Recipient(organization=cast.organizations["northfield"], user=None)],
        patient=maria,
    )
    membership = Membership.objects.get(user=chen_user, organization=cedar)
    membership_set_role(
        membership=membership, role=Role.NURSE_NAVIGATOR, is_site_admin=True, actor=cast.users["cedarvalley_admin"]
    )
    assert not record_shared_with(user=chen_user, organization=cedar, patient=maria)
    assert not CareRelationship.objects.filter(patient=maria, organization=cedar, shares_record=True).exists()
    for path in (f"/patients/{maria.uuid}/", "/patients/access-requests/", "/patients/matches/", "/messages/"):
        response = chen.get(path)
        assert response.status_code == 200, path
        assert not _leaks(response.content.decode(), markers), path


def test_a_patient_object_answered_for_one_person_is_asked_again_for_another(cast, sign_in):
    """What a user sees is kept on the patient object per (user, organization): passing the
    same object on to a call for someone else never lends them the first one's access."""
    from portal.patients.selectors import patient_get_for_user, visible_entries

    maria, maple, cedar = cast.patients["maria"], cast.organizations["maple"], cast.organizations["cedarvalley"]
    _chen_registers_maria(cast, sign_in)
    seen_by_park = patient_get_for_user(user=cast.users["park"], organization=maple, patient_uuid=maria.uuid)
    assert record_shared_with(user=cast.users["park"], organization=maple, patient=seen_by_park)
    assert not record_shared_with(user=cast.users["chen"], organization=cedar, patient=seen_by_park)
    chen_sees = visible_entries(user=cast.users["chen"], organization=cedar, patient=seen_by_park)
    assert not chen_sees.exclude(organization=cedar).exists()
