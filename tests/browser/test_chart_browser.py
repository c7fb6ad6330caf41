"""Dr. Peter Park opens Maria Alvarez's chart and a result from Northfield."""

import re

import pytest

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
    row = page.locator("#timeline li", has_text="Hemoglobin").filter(has_text="Northfield Cancer Institute").first
    row.get_by_role("link", name="Hemoglobin").click()
    assert page.get_by_role("heading", name="Hemoglobin").is_visible()
    entry = page.locator("#entry").inner_text()
    assert "Northfield Cancer Institute" in entry and "g/dL" in entry
