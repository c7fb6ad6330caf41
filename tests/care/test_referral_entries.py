"""The receiver reads what it is asked to accept: the entries a referral carries open from the
referral for its navigators and clinicians before any care relationship (only those, each
read audited); after a decline or a cancellation they no longer open. The referrer opens the
outcome from the referral once it is returned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.audit.models import AuditEvent
from portal.care.selectors import referral_entry_get_for_user
from portal.care.services import referral_create, referral_transition
from portal.patients.models import CareRelationship, NetworkPatient, RegistryEntry
from portal.records.services import item_create


def _publish(cast, org_slug, author, patient, kind, values):
    organization = cast.organizations[org_slug]
    with schema_context(organization.schema_name):
        item = item_create(
            user=cast.users[author], organization=organization, patient=patient, kind=kind, values=values, publish=True
        )
    return RegistryEntry.objects.get(organization=organization, item_uuid=item.pk)


def _maple_patient_unknown_to_northfield(cast):
    maple, northfield = cast.organizations["maple"], cast.organizations["northfield"]
    caring = CareRelationship.objects.active()
    return (
        NetworkPatient.objects.filter(pk__in=caring.filter(organization=maple).values("patient_id"))
        .exclude(pk__in=caring.filter(organization=northfield).values("patient_id"))
        .order_by("pk")
        .first()
    )


@pytest.fixture
def carried(cast):
    """Dr. Park refers a Maple patient whom Northfield does not care for, carrying one report
    of two on the record."""
    patient = _maple_patient_unknown_to_northfield(cast)
    today = timezone.localdate().isoformat()
    imaging = _publish(
        cast,
        "maple",
        "park",
        patient,
        "imaging_report",
        {"effective_date": today, "study": "CT neck", "findings": "Enlarged nodes.", "impression": "Lymphadenopathy"},
    )
    other = _publish(
        cast,
        "maple",
        "park",
        patient,
        "note",
        {"effective_date": today, "note_type": "progress", "subject": "Visit", "text": "Home situation."},
    )
    referral = referral_create(
        user=cast.users["park"],
        organization=cast.organizations["maple"],
        patient=patient,
        receiving_organization=cast.organizations["northfield"],
        specialty="Hematology consult",
        reason="Lymphadenopathy",
        attachments=[imaging],
    )
    return referral, imaging, other


def _url(referral, entry):
    return f"/care/referrals/{referral.uuid}/entries/{entry.uuid}/"


def _item_reads(**filters):
    return AuditEvent.objects.filter(action="read", object_type="item", outcome="allowed", **filters)


def test_four_actors_on_an_entry_the_referral_carries(cast, carried, sign_in, anonymous):
    referral, imaging, other = carried
    northfield = cast.organizations["northfield"]
    url = _url(referral, imaging)
    reads = _item_reads().count()

    assert anonymous(northfield).get(url).status_code == 302
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(url).status_code == 404
    assert sign_in(cast.users["northfield_admin"], northfield).get(url).status_code == 404
    assert _item_reads().count() == reads  # nothing read, nothing audited as a read
    assert not AuditEvent.objects.filter(actor=cast.users["chen"], patient=referral.patient).exists()

    okafor = sign_in(cast.users["okafor"], northfield)
    # Northfield does not care for the patient: the chart stays closed…
    assert okafor.get(f"/patients/{referral.patient.uuid}/entries/{imaging.uuid}/").status_code == 404
    # …but what the referral carries opens from the referral, and the read is audited.
    page = okafor.get(url)
    assert page.status_code == 200 and b"CT neck" in page.content and b"Lymphadenopathy" in page.content
    assert f'href="/care/referrals/{referral.uuid}/"'.encode() in page.content
    read = _item_reads(actor=cast.users["okafor"], data_owner=cast.organizations["maple"]).get()
    assert read.patient == referral.patient and read.detail == {"via": "referral", "referral": str(referral.uuid)}
    assert sign_in(cast.users["navarro"], northfield).get(url).status_code == 200

    # Another entry of the same patient, not carried by the referral: 404, nothing audited.
    before = _item_reads().count()
    assert okafor.get(_url(referral, other)).status_code == 404
    assert _item_reads().count() == before
    # The referral page links what it carries.
    assert url.encode() in okafor.get(f"/care/referrals/{referral.uuid}/").content


@pytest.mark.parametrize("ending", ["decline", "cancel"])
def test_after_a_decline_or_a_cancellation_the_carried_entries_no_longer_open(cast, carried, sign_in, ending):
    referral, imaging, _ = carried
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    okafor = sign_in(cast.users["okafor"], northfield)
    assert okafor.get(_url(referral, imaging)).status_code == 200
    if ending == "decline":
        for action, extra in (("receive", {}), ("decline", {"reason": "Not our field"})):
            referral = referral_transition(
                referral=referral, action=action, user=cast.users["navarro"], organization=northfield, **extra
            )
    else:
        referral = referral_transition(
            referral=referral,
            action="request_cancel",
            reason="Seen elsewhere",
            user=cast.users["park"],
            organization=maple,
        )
        referral = referral_transition(
            referral=referral, action="confirm_cancel", user=cast.users["navarro"], organization=northfield
        )
    before = _item_reads().count()
    assert okafor.get(_url(referral, imaging)).status_code == 404
    assert _item_reads().count() == before
    page = okafor.get(f"/care/referrals/{referral.uuid}/").content.decode()
    assert _url(referral, imaging) not in page and 'id="attachments-closed"' in page


def test_the_referrer_opens_the_returned_outcome_from_the_referral(cast, carried, sign_in):
    referral, imaging, _ = carried
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    for action, extra in (
        ("receive", {}),
        ("accept", {}),
        ("schedule", {"appointment_at": timezone.now() - dt.timedelta(hours=2)}),
    ):
        referral = referral_transition(
            referral=referral, action=action, user=cast.users["navarro"], organization=northfield, **extra
        )
    report = _publish(
        cast,
        "northfield",
        "okafor",
        referral.patient,
        "consult_note",
        {
            "effective_date": timezone.localdate().isoformat(),
            "note_type": "consult",
            "subject": "Hematology consult report",
            "text": "Excisional biopsy advised.",
        },
    )
    park = sign_in(cast.users["park"], maple)
    with pytest.raises(Http404):  # not yet returned
        referral_entry_get_for_user(
            user=cast.users["park"], organization=maple, referral_uuid=referral.uuid, entry_uuid=report.uuid
        )
    assert park.get(_url(referral, report)).status_code == 404
    referral_transition(
        referral=referral, action="complete", outcome_entry=report, user=cast.users["okafor"], organization=northfield
    )
    page = park.get(_url(referral, report))
    assert page.status_code == 200 and b"Excisional biopsy advised." in page.content
    assert _item_reads(actor=cast.users["park"], data_owner=northfield, object_id=str(report.item_uuid)).exists()
    assert _url(referral, report).encode() in park.get(f"/care/referrals/{referral.uuid}/").content
    # The referrer opens the outcome only, not the receiver's other entries through the referral.
    assert park.get(_url(referral, imaging)).status_code == 404
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(_url(referral, report)).status_code == 404
