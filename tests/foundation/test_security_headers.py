"""Headers a security review expects: a Content-Security-Policy with no inline script or
style, nosniff, a referrer policy, no framing, and ``Cache-Control: no-store`` on every
answer that is not a static file — the chart, entries, the API, the sign-in gate's
redirects and the API's errors included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from portal.accounts.models import User
from portal.demo.cast import DEMO_PASSWORD

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response, *, where: str) -> None:
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"], where
    assert policy["script-src"] == ["'self'"], where
    assert policy["style-src"] == ["'self'"], where
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["form-action"] == ["'self'"], where
    assert "unsafe-inline" not in response["Content-Security-Policy"], where
    assert "unsafe-eval" not in response["Content-Security-Policy"], where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Frame-Options"] == "DENY", where
    assert "no-store" in response["Cache-Control"], where


def test_the_chart_entries_and_the_apis_patient_and_entry_answers_are_never_stored(cast, sign_in):
    from portal.patients.models import RegistryEntry

    maria = cast.patients["maria"]
    entry = RegistryEntry.objects.filter(patient=maria, organization=cast.organizations["northfield"]).first()
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    for path in (
        f"/patients/{maria.uuid}/",
        f"/patients/{maria.uuid}/entries/{entry.uuid}/",
        f"/api/v1/patients/{maria.uuid}/",
        f"/api/v1/patients/{maria.uuid}/entries/",
        f"/api/v1/patients/{maria.uuid}/entries/{entry.uuid}/",
        "/api/v1/care-tasks/",
        "/patients/",
        "/messages/",
        "/",
    ):
        response = park.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response, where=path)
    search = park.post("/api/v1/patients/search/", {"q": "alvarez"}, content_type="application/json")
    assert search.status_code == 200 and "no-store" in search["Cache-Control"]


def test_api_errors_and_not_found_pages_carry_the_headers(cast, sign_in, anonymous):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    for response, where in (
        (park.get("/api/v1/no-such-route/"), "API 404"),
        (park.get("/api/v1/care-tasks/", {"limit": "-1"}), "API 400"),
        (anonymous(cast.organizations["maple"]).get("/api/v1/care-tasks/"), "API anonymous"),
        (park.get("/no-such-page/"), "page 404"),
    ):
        assert response.status_code >= 400, where
        assert_security_headers(response, where=where)


def test_the_sign_in_gates_redirects_carry_the_security_headers(cast, anonymous):
    maple = cast.organizations["maple"]
    client = anonymous(maple)
    to_login = client.get("/patients/")
    assert to_login.status_code == 302 and "/accounts/login/" in to_login["Location"]
    assert_security_headers(to_login, where="redirect to sign-in")

    signed_in = client.post("/accounts/login/", {"username": "peter.park@maple.example", "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302
    assert_security_headers(signed_in, where="sign-in answer")
    to_second_factor = client.get("/patients/")
    assert to_second_factor.status_code == 302 and "/accounts/second-factor/" in to_second_factor["Location"]
    assert_security_headers(to_second_factor, where="redirect to the second factor")

    User.objects.filter(pk=cast.users["park"].pk).update(terms_accepted_version="")
    to_terms = client.get("/patients/")
    assert to_terms.status_code == 302 and "/accounts/terms/" in to_terms["Location"]
    assert_security_headers(to_terms, where="redirect to the terms")
    login_page = client.get("/accounts/login/")
    assert_security_headers(login_page, where="sign-in page")


def test_static_files_keep_their_own_caching_and_no_store(cast, anonymous):
    response = anonymous(cast.organizations["maple"]).get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_only_the_api_docs_page_widens_the_policy_and_only_for_data_images(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    docs = park.get("/api/v1/docs/")
    assert docs.status_code == 200
    policy = _policy(docs)
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    html = docs.content.decode()
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    script = park.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "/api/v1/schema/" in script.content.decode()
    assert _policy(park.get("/"))["img-src"] == ["'self'"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "an inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an inline event handler"),
    (re.compile(r"\shx-on", re.IGNORECASE), "an hx-on handler (htmx evaluates it as script)"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
]


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")), ids=lambda t: t
)
def test_no_template_holds_inline_script_or_style(template):
    text = (TEMPLATES / template).read_text()
    for pattern, what in INLINE:
        match = pattern.search(text)
        assert match is None, f"{template} has {what}: {match.group(0) if match else ''}"


def test_the_pages_that_draw_charts_render_no_style_attribute(cast, sign_in):
    from portal.records.demo import seed_maria  # noqa: F401  (Maria's results are seeded for the session)

    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    for client, path in (
        (park, f"/patients/{maria.uuid}/"),
        (okafor, "/care/scorecard/"),
        (okafor, "/care/scorecard/?scope=network"),
    ):
        html = park.get(path).content.decode() if client is park else client.get(path).content.decode()
        assert "<svg" in html or "scorecard" in path, path
        for pattern, what in INLINE:
            assert not pattern.search(html), f"{path} renders {what}"
