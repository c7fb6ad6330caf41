"""Nora Quinn onboards a new practice; its first site admin accepts and enrolls TOTP."""

import base64

import pytest
from django_otp.oath import TOTP

from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def _code_for(secret_text: str) -> str:
    secret = secret_text.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key, step=30, t0=0, digits=6).token():06d}"


def test_network_admin_creates_a_practice_and_its_site_admin_joins_with_totp(committed, portal_server, page, browser):
    from portal.accounts.models import Membership
    from tenants.models import Organization

    port = portal_server
    browser_sign_in(page, port, None, "nora.quinn@network.example")
    assert page.get_by_role("heading", name="Partner organizations").is_visible()

    page.get_by_role("link", name="Add a partner").click()
    page.get_by_label("Organization name").fill("Willow Creek Family Practice")
    page.get_by_label("Kind").select_option("primary_care")
    page.get_by_label("Address").fill("willow")
    page.get_by_label("City").fill("Willow Creek")
    page.get_by_label("Organization NPI").fill("1234567890")  # wrong check digit
    page.get_by_role("button", name="Create organization").click()
    assert page.get_by_text("not a valid NPI").is_visible()
    page.get_by_label("Organization NPI").fill("1234567893")
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Willow Creek Family Practice").is_visible()
    assert page.locator("#org-status").inner_text() == "Onboarding"
    assert page.locator("#checklist li[data-key=site_admins] .badge").inner_text() == "missing"

    page.get_by_role("link", name="Invite a site admin").click()
    page.get_by_label("Site admin's email").fill("wendy.ward@willow.example")
    page.get_by_label("Full name").fill("Wendy Ward")
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator("#invitation-link").inner_text()
    assert link.startswith(org_url(port, "willow", "/accounts/invitation/"))

    # Wendy, in her own browser, at the practice's address.
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    wendy = context.new_page()
    try:
        wendy.goto(link)
        assert wendy.get_by_role("heading", name="Join Willow Creek Family Practice").is_visible()
        wendy.get_by_label("Password", exact=True).fill("willow-creek-admin-2026")
        wendy.get_by_label("Password again").fill("willow-creek-admin-2026")
        wendy.get_by_label("I have read and accept the terms of use").check()
        wendy.get_by_role("button", name="Accept invitation").click()
        wendy.wait_for_load_state("networkidle")
        # A site admin sees nothing before enrolling a second factor.
        assert "/accounts/second-factor/setup/" in wendy.url
        assert wendy.get_by_role("heading", name="Set up your second factor").is_visible()
        assert wendy.locator(".qr svg").count() == 1
        wendy.get_by_label("6-digit code").fill(_code_for(wendy.locator("#totp-secret").inner_text()))
        wendy.get_by_role("button", name="Confirm and continue").click()
        wendy.wait_for_load_state("networkidle")
        assert wendy.url == org_url(port, "willow", "/")
        assert wendy.get_by_role("heading", name="Good to see you, Wendy").is_visible()
        wendy.screenshot(path="test-artifacts/screenshots/onboarding_site_admin_home.png", full_page=True)
    finally:
        context.close()

    willow = Organization.objects.get(slug="willow")
    membership = Membership.objects.get(organization=willow, user__email="wendy.ward@willow.example")
    assert membership.is_site_admin and membership.status == "active"
    page.goto(org_url(port, None, f"/console/organizations/{willow.uuid}/"))
    assert "1 of 2 ready" in page.locator("#checklist li[data-key=site_admins]").inner_text()
    assert page.locator("#org-status").inner_text() == "Onboarding"  # one admin is not enough to go live
