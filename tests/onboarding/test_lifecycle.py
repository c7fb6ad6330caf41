"""Go-live gate, suspension and offboarding of a partner."""

import datetime as dt
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, schema_exists

from portal.accounts.models import Invitation, Membership
from portal.accounts.services import invitation_accept, invitation_create
from portal.audit.models import AuditEvent
from portal.demo.cast import DEMO_PASSWORD
from portal.patients.models import CareRelationship
from tenants.models import Organization
from tenants.selectors import onboarding_missing
from tenants.services import agreement_record, organization_create
from tests.files import pdf_bytes

PASSWORD = "a-long-enough-passphrase-42"


def _new_practice():
    return organization_create(name="Birch Street Primary Care", slug="birch", kind="primary_care", npi="1234567893")


def _admin_accepts(organization, email, inviter, enroll=True):
    invitation, link = invitation_create(
        organization=organization, email=email, role="org_admin", full_name=email.split("@")[0], invited_by=inviter
    )
    user = invitation_accept(invitation=invitation, full_name="Site Admin", password=PASSWORD, accept_terms=True)
    if enroll:
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def _agreements(organization, who):
    for kind in ("data_sharing", "business_associate"):
        agreement_record(
            organization=organization,
            kind=kind,
            document=SimpleUploadedFile(f"{kind}.pdf", pdf_bytes(), content_type="application/pdf"),
            signer_name="Dana Birch",
            signed_on=dt.date(2026, 11, 1),
            recorded_by=who,
        )


def test_go_live_waits_for_agreements_and_two_enrolled_site_admins(cast, sign_in):
    nora = cast.users["network_admin"]
    client = sign_in(nora, cast.network)
    birch = _new_practice()
    url = f"/console/organizations/{birch.uuid}/go-live/"

    refused = client.post(url)
    assert "Missing: Data-sharing agreement recorded" in refused.content.decode()
    birch.refresh_from_db()
    assert birch.status == "onboarding"

    _agreements(birch, nora)
    _admin_accepts(birch, "ann@birch.example", nora)
    _admin_accepts(birch, "ben@birch.example", nora, enroll=False)  # accepted, no second factor yet
    assert onboarding_missing(birch) == ["At least 2 site admins accepted and enrolled a second factor"]
    assert "Missing: At least 2 site admins" in client.post(url).content.decode()
    birch.refresh_from_db()
    assert birch.status == "onboarding"

    from portal.accounts.models import User

    TOTPDevice.objects.create(user=User.objects.get(email="ben@birch.example"), name="phone", confirmed=True)
    assert client.post(url).status_code == 302
    birch.refresh_from_db()
    assert birch.status == "active" and birch.went_live_at is not None
    assert AuditEvent.objects.filter(data_owner=birch, detail__step="went_live", actor=nora).exists()


def test_agreements_are_recorded_through_the_console_with_file_signer_and_date(cast, sign_in):
    client = sign_in(cast.users["network_admin"], cast.network)
    birch = _new_practice()
    response = client.post(
        f"/console/organizations/{birch.uuid}/agreements/",
        {
            "kind": "business_associate",
            "document": SimpleUploadedFile("baa.pdf", pdf_bytes(), content_type="application/pdf"),
            "signer_name": "Dana Birch",
            "signer_title": "Practice manager",
            "signed_on": "2026-10-30",
        },
    )
    assert response.status_code == 302
    agreement = birch.agreements.get()
    assert agreement.kind == "business_associate" and agreement.signer_name == "Dana Birch"
    assert agreement.document.read() == pdf_bytes()
    future = client.post(
        f"/console/organizations/{birch.uuid}/agreements/",
        {
            "kind": "data_sharing",
            "document": SimpleUploadedFile("dsa.pdf", b"x"),
            "signer_name": "D",
            "signed_on": "2099-01-01",
        },
    )
    assert "cannot be in the future" in future.content.decode()
    assert birch.agreements.count() == 1


def test_suspended_organization_refuses_sign_in_and_keeps_its_data(cast, sign_in, anonymous):
    maple = cast.organizations["maple"]
    park = cast.users["park"]
    open_session = sign_in(park, maple)
    relationships = CareRelationship.objects.active().filter(organization=maple).count()
    assert relationships > 0
    console = sign_in(cast.users["network_admin"], cast.network)

    unconfirmed = console.post(f"/console/organizations/{maple.uuid}/suspend/", {"confirm": "wrong"})
    assert "exactly to confirm" in unconfirmed.content.decode()
    maple.refresh_from_db()
    assert maple.status == "active"

    assert console.post(f"/console/organizations/{maple.uuid}/suspend/", {"confirm": "maple"}).status_code == 302
    maple.refresh_from_db()
    assert maple.status == "suspended"
    assert open_session.get("/").status_code == 302  # the open session ends
    refused = anonymous(maple).post("/accounts/login/", {"username": park.email, "password": DEMO_PASSWORD})
    assert "sign-in is closed" in refused.content.decode()
    # Data and relationships stay.
    assert CareRelationship.objects.active().filter(organization=maple).count() == relationships
    assert Membership.objects.filter(organization=maple, status="active").exists()
    assert AuditEvent.objects.filter(data_owner=maple, detail__step="suspended").exists()

    assert console.post(f"/console/organizations/{maple.uuid}/reinstate/", {"confirm": "maple"}).status_code == 302
    maple.refresh_from_db()
    assert maple.status == "active"


def test_offboarding_exports_then_ends_relationships_and_accounts_and_archives_the_schema(cast, sign_in, anonymous):
    cedar = cast.organizations["cedarvalley"]
    chen = cast.users["chen"]
    console = sign_in(cast.users["network_admin"], cast.network)
    base = f"/console/organizations/{cedar.uuid}"
    with schema_context(cedar.schema_name):
        from portal.records.models import OrganizationSetting

        OrganizationSetting.objects.create(key="clinic_hours", value={"mon": "8-5"})

    # Offboarding before an export is refused and changes nothing.
    early = console.post(f"{base}/offboard/", {"confirm": "cedarvalley"})
    assert "before offboarding it" in early.content.decode()
    cedar.refresh_from_db()
    assert cedar.status == "active"

    assert console.post(f"{base}/export/", {"confirm": "cedarvalley"}).status_code == 302
    export = cedar.exports.get()
    download = console.get(f"/console/exports/{export.uuid}/")
    assert download.status_code == 200
    import io

    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["organization"]["slug"] == "cedarvalley"
    settings_rows = json.loads(archive.read("items/records.organizationsetting.json"))
    assert any(row["fields"]["key"] == "clinic_hours" for row in settings_rows)
    assert AuditEvent.objects.filter(action="export", data_owner=cedar).count() >= 2  # made and downloaded

    assert console.post(f"{base}/offboard/", {"confirm": "cedarvalley"}).status_code == 302
    cedar.refresh_from_db()
    assert cedar.status == "offboarded"
    assert not CareRelationship.objects.active().filter(organization=cedar).exists()
    assert CareRelationship.objects.filter(organization=cedar).exists()  # ended, not deleted
    assert not Membership.objects.filter(organization=cedar, status="active").exists()
    refused = anonymous(cedar).post("/accounts/login/", {"username": chen.email, "password": DEMO_PASSWORD})
    assert "sign-in is closed" in refused.content.decode()

    assert console.post(f"{base}/archive/", {"confirm": "cedarvalley"}).status_code == 302
    cedar.refresh_from_db()
    assert cedar.schema_name == "archived_org_cedarvalley"
    assert schema_exists("archived_org_cedarvalley") and not schema_exists("org_cedarvalley")
    with schema_context(cedar.schema_name):
        assert OrganizationSetting.objects.filter(key="clinic_hours").exists()  # data kept
    steps = set(AuditEvent.objects.filter(data_owner=cedar).values_list("detail__step", flat=True))
    assert {"exported", "offboarded", "schema_archived"} <= steps
    assert Organization.objects.filter(pk=cedar.pk).exists()


def test_lifecycle_steps_are_refused_to_everyone_but_network_admins(cast, sign_in, anonymous):
    maple = cast.organizations["maple"]
    url = f"/console/organizations/{maple.uuid}/suspend/"
    assert anonymous(cast.network).post(url, {"confirm": "maple"}).status_code == 302
    assert sign_in(cast.users["park"], maple).post(url, {"confirm": "maple"}).status_code == 404
    # Maple's own site admin, at Maple's address, has no console.
    assert sign_in(cast.users["maple_admin"], maple).post(url, {"confirm": "maple"}).status_code == 404
    # Another organization's site admin, at the network's address, is signed out and sent to sign in.
    assert sign_in(cast.users["northfield_admin"], cast.network).post(url, {"confirm": "maple"}).status_code == 302
    maple.refresh_from_db()
    assert maple.status == "active"
    assert not Invitation.objects.filter(organization=maple).exists()


def test_a_suspended_organization_gets_no_new_accounts(cast, sign_in):
    import pytest
    from django.core.exceptions import ValidationError

    from tenants.services import organization_suspend

    maple = cast.organizations["maple"]
    organization_suspend(organization=maple, actor=cast.users["network_admin"])
    maple.refresh_from_db()
    with pytest.raises(ValidationError, match="suspended"):
        invitation_create(organization=maple, email="new@maple.example", role="staff", invited_by=None)
    console = sign_in(cast.users["network_admin"], cast.network)
    response = console.post(
        f"/console/organizations/{maple.uuid}/site-admins/", {"email": "new@maple.example", "role": "org_admin"}
    )
    assert "no new accounts" in response.content.decode()
    assert not Invitation.objects.filter(organization=maple).exists()
