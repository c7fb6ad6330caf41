"""The API's docs page loads only our own static files, and the schema has no warnings."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', html)


def test_the_docs_page_references_no_other_host_and_its_assets_are_served(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    response = park.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "jsdelivr" not in html and "cdn" not in html.lower() and "unpkg" not in html
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), "an absolute address"
    references = _references(html)
    scripts = [r for r in references if r.endswith(".js")]
    assert any("swagger-ui-bundle" in r for r in scripts) and any(r.endswith(".css") for r in references)
    for reference in references:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc and reference.startswith("/"), reference
        asset = park.get(reference)
        assert asset.status_code == 200, reference
        if reference.startswith("/static/"):
            body = b"".join(asset.streaming_content) if asset.streaming else asset.content
            assert body, reference
    # The start-up script is served apart (no inline script under the CSP) and points at our schema.
    start_up = [r for r in references if r.startswith("/api/v1/docs/?script")]
    assert start_up and "/api/v1/schema/" in park.get(start_up[0]).content.decode()
    schema = park.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"openapi:" in schema.content


def test_generating_the_schema_gives_no_warning_and_no_error(capsys, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "Error" not in captured.err, captured.err
    text = out.read_text()
    # The write endpoints now say what they take.
    for operation in ("threads_create", "threads_archive", "notifications_read_create", "referrals_transition"):
        assert f"operationId: {operation}" in text


@pytest.mark.parametrize(
    "path, method, fields",
    [
        ("/api/v1/notifications/read/", "post", {"ids", "all"}),
        ("/api/v1/threads/{thread_uuid}/participants/", "post", {"organization", "user_id"}),
        ("/api/v1/referrals/{referral_uuid}/transition/", "post", {"action", "reason", "note"}),
        ("/api/v1/care-tasks/", "post", {"patient", "owner_organization", "title"}),
    ],
)
def test_write_endpoints_declare_their_request_body(path, method, fields):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert fields <= set(component["properties"])
    assert "ErrorOut" in str(schema["paths"][path][method]["responses"].get("400", ""))
