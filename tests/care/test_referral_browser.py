"""In a real browser: Dr. Park refers Maria Alvarez from Maple to Northfield; Nina Navarro
receives, accepts and schedules it; the consult report closes it; Dr. Park sees it closed."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from portal.care.models import Referral, ReferralState
from portal.notifications.models import Notification
from portal.patients.models import CareRelationship, RegistryEntry
from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def sign_in_through_the_form(page, port, slug, email):
    """The shared helper, and if an earlier test just used this person's codes (a code is
    accepted once), the next 30-second window's code, entered in the same real form."""
    import time

    from portal.accounts.demo import demo_totp_code

    browser_sign_in(page, port, slug, email)
    for _ in range(3):
        if "/accounts/second-factor/" not in page.url:
            return
        time.sleep(30.5 - time.time() % 30)
        for steps_ahead in (1, 0):
            page.get_by_label("6-digit code").fill(demo_totp_code(steps_ahead=steps_ahead))
            page.get_by_role("button", name="Verify").click()
            page.wait_for_load_state("networkidle")
            if "/accounts/second-factor/" not in page.url:
                return
            time.sleep(1.1)
    raise AssertionError("could not pass the second factor")


def test_referral_from_maple_accepted_by_nina_and_closed_with_the_consult_report(portal_server, committed, page):
    cast = committed
    port = portal_server
    maria = cast.patients["maria"]
    northfield = cast.organizations["northfield"]
    specialty = f"Lymphoma consult {uuid.uuid4().hex[:6]}"
    report = None
    try:
        sign_in_through_the_form(page, port, "maple", cast.users["park"].email)
        page.goto(org_url(port, "maple", f"/care/referrals/new/?patient={maria.uuid}"))
        page.get_by_label("Refer to").select_option(label="Northfield Cancer Institute")
        page.get_by_label("Referred for").fill(specialty)
        page.get_by_label("Clinical question").fill("Cervical lymphadenopathy, night sweats")
        page.get_by_label("Pathology report").check()
        page.get_by_role("button", name="Send referral").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Referral sent.").is_visible()
        referral = Referral.objects.get(specialty=specialty)
        assert referral.state == ReferralState.REQUESTED

        sign_in_through_the_form(page, port, "northfield", cast.users["navarro"].email)
        page.goto(org_url(port, "northfield", "/care/"))
        page.get_by_role("link", name="Maria Alvarez").first.click()
        page.goto(org_url(port, "northfield", f"/care/referrals/{referral.uuid}/"))
        page.get_by_role("button", name="Mark received").click()
        page.get_by_role("button", name="Accept").click()
        page.get_by_label("Appointment").fill("2030-01-15T10:30")
        page.get_by_role("button", name="Schedule").click()
        page.wait_for_load_state("networkidle")
        referral.refresh_from_db()
        assert referral.state == ReferralState.SCHEDULED and referral.relationship_id is not None

        # Dr. Okafor's consult report is published on the shared record.
        report = RegistryEntry.objects.create(
            patient=maria,
            organization=northfield,
            kind="consult_note",
            title="Hematology consult report",
            effective_at=timezone.now(),
            item_uuid=uuid.uuid4(),
        )
        page.reload()
        page.get_by_label("Consult report on the shared record").select_option(str(report.uuid))
        # The appointment (2030) is still to come: closing before it takes a reason.
        page.get_by_label("why close before it?", exact=False).fill("Seen at an earlier slot")
        page.get_by_role("button", name="Return outcome").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Closed with outcome").first.is_visible()
        referral.refresh_from_db()
        assert referral.state == ReferralState.COMPLETED and referral.outcome_entry_id == report.pk

        # Dr. Park's session at Maple's address is still open.
        page.goto(org_url(port, "maple", "/care/referrals/outbound/"))
        row = page.get_by_role("row").filter(has_text=specialty)
        assert "Closed with outcome" in row.inner_text()
    finally:
        for referral in Referral.objects.filter(specialty=specialty):
            Notification.objects.filter(link=f"/care/referrals/{referral.uuid}/").delete()
            relationship_id = referral.relationship_id
            referral.delete()
            CareRelationship.objects.filter(pk=relationship_id).delete()
        if report is not None:
            RegistryEntry.objects.filter(pk=report.pk).delete()
