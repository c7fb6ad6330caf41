"""Dr. Peter Park opens Maria Alvarez's chart and a result from Northfield."""

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from portal.patients.models import RegistryEntry
from tests.conftest import browser_sign_in, org_url

pytestmark = pytest.mark.browser


def test_park_opens_marias_chart_and_a_northfield_result(portal_server, page):
    browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
    page.goto(org_url(portal_server, "maple", "/patients/"))
    page.get_by_role("link", name=re.compile("Alvarez, Maria")).click()
    assert page.get_by_role("heading", name="Alvarez, Maria").is_visible()
    summary = page.locator("#oncology-summary")
    assert "Invasive ductal carcinoma of left breast" in summary.inner_text()
    assert "IIB" in summary.inner_text()
    tests_done = page.locator("#tests-done")
    assert "Northfield Cancer Institute" in tests_done.inner_text()
    anc = tests_done.locator(".test-row", has_text="Absolute neutrophil count")
    assert anc.count() == 1 and "3 results" in anc.inner_text()
    assert "rising" in (anc.get_by_role("img").get_attribute("aria-label") or "")
    chart_url = page.url

    # On a tablet: the whole navigation shows (no sideways scroll), and allergies, medications
    # and the tests already done come before the long timeline.
    page.set_viewport_size({"width": 768, "height": 1024})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    for name in ("Home", "Patients", "Messages", "Referrals & tasks"):
        link = page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
        box = link.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 768 and box["height"] >= 44
    timeline_top = page.locator("#timeline").bounding_box()["y"]  # type: ignore[index]
    for card in ("#allergies", "#medications", "#tests-done"):
        assert page.locator(card).bounding_box()["y"] < timeline_top  # type: ignore[index]
    page.screenshot(path="test-artifacts/screenshots/chart_tablet_768.png", full_page=True)
    page.set_viewport_size({"width": 1180, "height": 820})
    page.goto(chart_url)
    row = page.locator("#timeline li", has_text="Hemoglobin").filter(has_text="Northfield Cancer Institute").first
    row.get_by_role("link", name="Hemoglobin").click()
    page.wait_for_url(re.compile(r"/entries/"))
    page.get_by_role("heading", name="Hemoglobin").wait_for()
    entry = page.locator("#entry").inner_text()
    assert "Northfield Cancer Institute" in entry and "g/dL" in entry


def test_show_older_entries_loads_the_next_page_in_place_by_keyboard(committed, portal_server, page):
    cast = committed
    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    made = RegistryEntry.objects.bulk_create(
        RegistryEntry(
            patient=maria,
            organization=northfield,
            kind="note",
            title=f"Old follow-up note {n:02d}",
            effective_at=timezone.now() - dt.timedelta(days=1500 + n),
            summary={},
            item_uuid=uuid.uuid4(),
        )
        for n in range(80)
    )
    try:
        browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
        page.goto(org_url(portal_server, "maple", f"/patients/{maria.uuid}/"))
        rows = page.locator("#timeline > li:not(.timeline-more)")
        assert rows.count() == 50
        button = page.get_by_role("button", name="Show older entries")
        button.focus()
        page.keyboard.press("Enter")
        rows.nth(50).wait_for()
        assert rows.count() == 100
        # The focus goes to the first row that came in, not back to the top of the page.
        focused = page.evaluate(
            "document.activeElement.closest('#timeline > li') === "
            "document.querySelectorAll('#timeline > li:not(.timeline-more)')[50]"
        )
        assert focused
        page.screenshot(path="test-artifacts/screenshots/chart_older_entries.png", full_page=True)
        # A refusal shows where the control is: here, a cursor entry that is not Maria's.
        page.evaluate(
            "document.querySelector('#timeline-more input[name=after]').value = '00000000-0000-4000-8000-000000000000'"
        )
        page.get_by_role("button", name="Show older entries").click()
        alert = page.locator("#timeline-more [data-error-region]")
        alert.wait_for(state="visible")
        assert "The server refused this" in alert.inner_text()
        assert rows.count() == 100
        page.locator("#timeline-more").scroll_into_view_if_needed()
        page.screenshot(path="test-artifacts/screenshots/chart_older_entries_refused.png")
    finally:
        RegistryEntry.objects.filter(pk__in=[entry.pk for entry in made]).delete()
