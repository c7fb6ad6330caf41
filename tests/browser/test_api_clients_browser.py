"""A site admin registers an API client of the FHIR endpoint: a refused key shows its reason
in place, a registered client shows its id, the list shows it and revokes it."""

import json

import pytest
from jwt.algorithms import RSAAlgorithm

from portal.fhir.models import ApiClient
from tests.conftest import browser_sign_in, org_url
from tests.fhir.clients import jwks_of, rsa_key

pytestmark = pytest.mark.browser

NAME = "Maple EHR nightly sync (browser)"


def test_a_site_admin_registers_and_revokes_an_api_client(committed, portal_server, page):
    cast = committed
    maple = cast.organizations["maple"]
    try:
        browser_sign_in(page, portal_server, "maple", "dana.moss@maple.example")
        page.goto(org_url(portal_server, "maple", "/admin/users/"))
        page.get_by_role("link", name="API clients").click()
        page.get_by_role("link", name="Register a client").click()
        page.get_by_label("Name").fill(NAME)
        page.get_by_label("Scopes").fill("system/Observation.rs system/Patient.read")
        # A private key pasted by mistake: refused by the server, the reason under the field.
        page.get_by_label("Public keys (JWKS)").fill(
            json.dumps({"keys": [RSAAlgorithm.to_jwk(rsa_key(), as_dict=True)]})
        )
        page.get_by_role("button", name="Register").click()
        refusal = page.locator("#register-panel .field-error")
        refusal.wait_for()
        assert "holds a private key" in refusal.inner_text()
        assert page.get_by_label("Name").input_value() == NAME  # kept
        assert not ApiClient.objects.filter(name=NAME).exists()
        page.screenshot(path="test-artifacts/screenshots/api_client_refused_key.png", full_page=True)

        page.get_by_label("Public keys (JWKS)").fill(json.dumps(jwks_of(rsa_key())))
        page.get_by_role("button", name="Register").click()
        page.locator("#client-id").wait_for()
        client = ApiClient.objects.get(name=NAME, organization=maple)
        assert page.locator("#client-id").inner_text() == client.client_id
        page.screenshot(path="test-artifacts/screenshots/api_client_registered.png", full_page=True)

        page.get_by_role("link", name="Back to the list of clients").click()
        row = page.locator(f"#client-{client.uuid}")
        assert client.client_id in row.inner_text() and "active" in row.inner_text()
        row.get_by_role("button", name="Revoke").click()
        page.locator(f"#client-{client.uuid}", has_text="revoked").wait_for()
        client.refresh_from_db()
        assert client.revoked_at is not None
        page.screenshot(path="test-artifacts/screenshots/api_clients_list.png", full_page=True)
    finally:
        ApiClient.objects.filter(name=NAME).delete()
