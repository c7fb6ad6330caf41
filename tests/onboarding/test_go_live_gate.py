"""The console's go-live button follows the checklist; the demo network passes its own gate."""

import re

from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Membership
from portal.audit.models import AuditEvent
from tenants import demo
from tenants.models import Organization
from tenants.selectors import onboarding_missing
from tests.onboarding.test_lifecycle import _admin_accepts, _agreements, _new_practice


def _go_live_control(page: str) -> str:
    match = re.search(r'<(a|button)[^>]*id="go-live"[^>]*>', page)
    assert match, "the organization page shows a Bring live control while onboarding"
    return match.group(0)


def test_bring_live_is_disabled_with_what_is_missing_until_the_checklist_is_complete(cast, sign_in):
    nora = cast.users["network_admin"]
    console = sign_in(nora, cast.network)
    birch = _new_practice()
    page_url = f"/console/organizations/{birch.uuid}/"

    page = console.get(page_url).content.decode()
    control = _go_live_control(page)
    assert control.startswith("<button") and "disabled" in control and "href" not in control
    reason = re.search(r'<p[^>]*id="go-live-reason"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "Data-sharing agreement recorded" in reason and "Business associate agreement recorded" in reason
    assert "At least 2 site admins" in reason
    step = console.get(f"{page_url}go-live/").content.decode()
    assert re.search(r'<button[^>]*id="step-submit"[^>]*disabled', step)

    _agreements(birch, nora)
    _admin_accepts(birch, "ann@birch.example", nora)
    page = console.get(page_url).content.decode()
    assert "disabled" in _go_live_control(page)
    reason = re.search(r'<p[^>]*id="go-live-reason"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "agreement" not in reason and "At least 2 site admins" in reason

    _admin_accepts(birch, "ben@birch.example", nora)
    page = console.get(page_url).content.decode()
    control = _go_live_control(page)
    assert control.startswith("<a") and f'href="/console/organizations/{birch.uuid}/go-live/"' in control
    assert "disabled" not in control and 'id="go-live-reason"' not in page
    step = console.get(f"{page_url}go-live/").content.decode()
    assert not re.search(r'<button[^>]*id="step-submit"[^>]*disabled', step)


def test_the_server_still_refuses_going_live_with_the_button_bypassed(cast, sign_in):
    console = sign_in(cast.users["network_admin"], cast.network)
    birch = _new_practice()
    before = AuditEvent.objects.filter(data_owner=birch).count()
    refused = console.post(f"/console/organizations/{birch.uuid}/go-live/")
    assert refused.status_code == 200 and "Missing: Data-sharing agreement recorded" in refused.content.decode()
    birch.refresh_from_db()
    assert birch.status == "onboarding" and birch.went_live_at is None
    assert AuditEvent.objects.filter(data_owner=birch).count() == before


def test_every_seeded_organization_passes_the_go_live_checklist(cast, sign_in):
    demo.seed(cast)  # the demo's agreements (the test session seeds people and patients only)
    for slug, organization in cast.organizations.items():
        organization.refresh_from_db()
        assert organization.status == "active", slug
        assert onboarding_missing(organization) == [], slug
        ready = Membership.objects.filter(
            organization=organization, is_site_admin=True, status="active", user__totpdevice__confirmed=True
        ).distinct()
        assert ready.count() >= 2, slug

    page = sign_in(cast.users["network_admin"], cast.network).get("/console/").content.decode()
    for organization in cast.organizations.values():
        row = re.search(
            rf"<tr>\s*<td><a[^>]*>{re.escape(organization.name)}</a>.*?</tr>", page.replace("&#x27;", "'"), re.S
        )
        assert row, organization.name
        assert "4 of 4" in row.group(0), organization.name


def test_a_seeded_organization_drops_below_the_gate_when_a_site_admin_loses_the_second_factor(cast):
    maple = Organization.objects.get(slug="maple")
    demo.seed(cast)
    assert onboarding_missing(maple) == []
    TOTPDevice.objects.filter(user=cast.users["maple_admin2"]).delete()
    assert onboarding_missing(maple) == ["At least 2 site admins accepted and enrolled a second factor"]
