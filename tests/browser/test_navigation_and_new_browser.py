"""Every menu item leads somewhere for a clinician and a site admin; "new since you
looked" clears when Dr. Park opens Maria Alvarez's chart, and what is new comes first."""

import re

import pytest

from portal.patients.models import PatientView
from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser

SHOTS = "test-artifacts/screenshots"


def _click_through_the_menu(page, who):
    menu = page.get_by_role("navigation", name="Main")
    labels = [label.strip() for label in menu.get_by_role("link").all_inner_texts()]
    for label in labels:
        with page.expect_navigation() as navigation:
            page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
        response = navigation.value
        assert response is not None and response.status == 200, (who, label)
        assert page.locator("h1").first.is_visible()
        assert not page.get_by_text(re.compile("^(40[34]|500) ·")).is_visible(), (who, label)
        current = page.get_by_role("navigation", name="Main").locator("[aria-current=page]")
        assert current.inner_text().strip() == label
        page.screenshot(path=f"{SHOTS}/menu_{who}_{re.sub(r'[^a-z]+', '_', label.lower()).strip('_')}.png")
    return labels


def test_a_clinician_and_a_site_admin_click_through_their_menus(portal_server, page, browser):
    browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
    assert _click_through_the_menu(page, "clinician") == [
        "Home",
        "Patients",
        "Messages",
        "Referrals & tasks",
        "Tumor boards",
    ]

    admin_context = browser.new_context(viewport={"width": 1180, "height": 820})
    admin_page = admin_context.new_page()
    admin_page.set_default_timeout(15000)
    try:
        browser_sign_in(admin_page, portal_server, "maple", "dana.moss@maple.example")
        assert _click_through_the_menu(admin_page, "site_admin") == ["Home", "Users", "Access log", "Scorecard"]
        tiles = admin_page.goto(org_url(portal_server, "maple", "/"))
        assert tiles is not None and tiles.status == 200
        assert admin_page.locator("a.tile[href='/messages/'], a.tile[href='/care/']").count() == 0
    finally:
        admin_context.close()


def test_new_since_you_looked_clears_when_park_opens_marias_chart(committed, portal_server, page):
    cast = committed
    park, maria = cast.users["park"], cast.patients["maria"]
    PatientView.objects.filter(user=park, patient=maria).delete()  # as if never opened
    try:
        browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
        page.goto(org_url(portal_server, "maple", "/patients/?show=all"))
        row = page.locator("#patients tbody tr", has_text="Alvarez, Maria")
        assert re.fullmatch(r"\d+ new", row.locator("td").nth(3).inner_text().strip())
        page.screenshot(path=f"{SHOTS}/my_patients_before_opening.png", full_page=True)

        row.get_by_role("link", name=re.compile("Alvarez, Maria")).click()
        page.get_by_role("heading", name="Alvarez, Maria").wait_for()
        page.go_back()
        page.reload()
        row = page.locator("#patients tbody tr", has_text="Alvarez, Maria")
        assert row.locator("td").nth(3).inner_text().strip() == "nothing new"
        # Patients with something new first; then by their latest entry.
        counts = [cell.strip() for cell in page.locator("#patients tbody tr td:nth-child(4)").all_inner_texts()]
        has_new = [cell != "nothing new" for cell in counts]
        assert has_new == sorted(has_new, reverse=True)
        page.screenshot(path=f"{SHOTS}/my_patients_after_opening.png", full_page=True)
    finally:
        PatientView.objects.filter(user=park, patient=maria).delete()
