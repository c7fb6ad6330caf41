"""Dr. Carla Chen registers Maria Alvarez at Cedar Valley: she sees her own entries only
until Nina Navarro at Northfield confirms Cedar Valley's request (issue #12)."""

import pytest

from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def _clean_up(cast):
    from portal.notifications.models import Notification
    from portal.patients.access import chart_permission_sync
    from portal.patients.models import AccessRequest, CareRelationship, PatientIdentifier, PatientView

    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    AccessRequest.objects.filter(patient=maria, organization=cedar).delete()
    CareRelationship.objects.filter(patient=maria, organization=cedar).delete()
    PatientIdentifier.objects.filter(patient=maria, organization=cedar).delete()
    PatientView.objects.filter(patient=maria, user=cast.users["chen"]).delete()
    Notification.objects.filter(kind__in=["access_request", "denied_reads"]).delete()
    chart_permission_sync(organization=cedar, patient=maria)


def test_registering_opens_own_entries_and_a_confirmed_request_opens_the_record(
    committed, portal_server, browser, page
):
    cast = committed
    _clean_up(cast)
    try:
        browser_sign_in(page, portal_server, "cedarvalley", "carla.chen@cedarvalley.example")
        page.goto(org_url(portal_server, "cedarvalley", "/patients/register/"))
        page.get_by_label("Given name").fill("Maria")
        page.get_by_label("Family name").fill("Alvarez")
        page.get_by_label("Date of birth").fill("1961-04-12")
        page.get_by_label("Sex").select_option("female")
        page.get_by_label("Medical record number here").fill("CVC-BROWSER-1")
        page.get_by_role("button", name="Register").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("heading", name="Alvarez, Maria").is_visible()
        assert "Registered under MRN CVC-BROWSER-1" in page.content()
        banner = page.locator("#own-entries-only")
        assert banner.is_visible()
        assert "Invasive ductal carcinoma" not in page.content()
        page.screenshot(path="test-artifacts/screenshots/registered_own_entries_only.png", full_page=True)

        page.get_by_role("link", name="Ask to see the shared record").click()
        page.get_by_label("Why your organization needs the shared record").fill(
            "She moved her primary care to Cedar Valley this month."
        )
        page.get_by_role("button", name="Send the request").click()
        page.wait_for_load_state("networkidle")
        assert "Your request was sent" in page.content()

        nina_context = browser.new_context(viewport={"width": 1180, "height": 820})
        nina = nina_context.new_page()
        try:
            browser_sign_in(nina, portal_server, "northfield", "nina.navarro@northfield.example")
            nina.goto(org_url(portal_server, "northfield", "/patients/access-requests/"))
            request = nina.locator("article", has_text="Cedar Valley Clinic")
            assert "moved her primary care" in request.inner_text()
            nina.screenshot(path="test-artifacts/screenshots/access_request_to_decide.png", full_page=True)
            request.get_by_role("button", name="Confirm: they care for this patient").click()
            nina.wait_for_load_state("networkidle")
            assert "Access confirmed." in nina.content()
        finally:
            nina_context.close()

        page.reload()
        page.wait_for_load_state("networkidle")
        assert not page.locator("#own-entries-only").count()
        assert "Invasive ductal carcinoma of left breast" in page.locator("#oncology-summary").inner_text()
    finally:
        _clean_up(cast)
