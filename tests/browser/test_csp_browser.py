"""The Content-Security-Policy in a real browser: the pages that no other browser test opens
load without a violation (the shared ``page`` fixture fails a test on any), and the policy
does refuse an injected inline script and style."""

from __future__ import annotations

import pytest

from tests.conftest import CSP_VIOLATIONS, browser_sign_in, org_url

pytestmark = pytest.mark.browser

CLINICIAN_PAGES = [
    "/",
    "/patients/",
    "/care/",
    "/care/referrals/outbound/",
    "/care/tasks/",
    "/care/handoffs/",
    "/care/scorecard/",
    "/care/scorecard/?scope=network",
    "/notifications/",
    "/notifications/preferences/",
    "/api/v1/docs/",
]
ADMIN_PAGES = ["/admin/users/", "/admin/users/invite/", "/admin/users/import/", "/audit/", "/notifications/deliveries/"]


def _visit(page, port: str, slug: str, paths: list[str]) -> None:
    for path in paths:
        response = page.goto(org_url(port, slug, path))
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "_") or "home"
        page.screenshot(path=f"test-artifacts/screenshots/csp_{slug}_{name}.png", full_page=True)


def test_clinicians_pages_and_the_api_docs_load_without_a_violation(portal_server, page):
    browser_sign_in(page, portal_server, "northfield", "olivia.okafor@northfield.example")
    _visit(page, portal_server, "northfield", CLINICIAN_PAGES)
    # Swagger UI has drawn the operations from the schema (its start-up script ran).
    page.goto(org_url(portal_server, "northfield", "/api/v1/docs/"))
    page.get_by_text("/api/v1/patients/search/").first.wait_for()


def test_site_admins_pages_load_without_a_violation(portal_server, page):
    browser_sign_in(page, portal_server, "maple", "dana.moss@maple.example")
    _visit(page, portal_server, "maple", ADMIN_PAGES)


def test_the_policy_refuses_an_injected_inline_script_and_style(portal_server, page):
    browser_sign_in(page, portal_server, "maple", "peter.park@maple.example")
    page.goto(org_url(portal_server, "maple", "/patients/"))
    ran = page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
            const style = document.createElement("style");
            style.textContent = "body { background: rgb(255, 0, 0) }";
            document.head.appendChild(style);
            return Boolean(window.injected);
        }"""
    )
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.wait_for_timeout(300)
    refused = [v for v in CSP_VIOLATIONS if "Content Security Policy" in v]
    assert ran is False and background != "rgb(255, 0, 0)"
    assert any("inline script" in v for v in refused) and any("inline style" in v for v in refused), refused
    CSP_VIOLATIONS.clear()  # the violations this test caused on purpose
