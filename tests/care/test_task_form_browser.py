"""In a real browser: choosing the patient on the new-task form reloads "Done by" with the
organizations that care for that patient only."""

from __future__ import annotations

import pytest

from tests.care.test_referral_browser import sign_in_through_the_form
from tests.conftest import org_url

pytestmark = pytest.mark.browser


def test_choosing_maria_offers_only_the_organizations_caring_for_her(portal_server, committed, page):
    cast = committed
    maria = cast.patients["maria"]
    sign_in_through_the_form(page, portal_server, "northfield", cast.users["okafor"].email)
    page.goto(org_url(portal_server, "northfield", "/care/tasks/new/"))
    owner = page.get_by_label("Done by")
    assert owner.locator("option").all_inner_texts() == ["Choose the patient first"]
    page.get_by_label("Patient").select_option(str(maria.uuid))
    # A locator wait, not wait_for_function: a string evaluated in the page is refused by the CSP.
    page.locator("#id_owner_organization option").nth(1).wait_for(state="attached", timeout=10_000)
    offered = page.get_by_label("Done by").locator("option").all_inner_texts()
    assert "Maple Family Medicine" in offered and "Northfield Cancer Institute" in offered
    assert not [name for name in offered if "Cedar Valley" in name or "Lakeside" in name]
