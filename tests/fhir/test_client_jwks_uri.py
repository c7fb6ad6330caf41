"""API clients whose keys are published at a URL (``jwks_uri``): fetched from a real HTTP
server on the loopback, kept in Redis as long as the server allows, fetched again once when a
new key (a rotation) signs, and every failure a 401 ``invalid_client`` saying why."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from portal.audit.models import AuditEvent
from portal.fhir.clients.services import api_client_register
from portal.fhir.models import ApiClient
from tests.conftest import host_of
from tests.fhir.clients import assertion, jwks_of, register, rsa_key, token_request, token_url


@dataclass
class KeyServer:
    """A JWKS server in a thread: what it serves can change while it runs."""

    body: bytes = b""
    status: int = 200
    cache_control: str = "max-age=3600"
    delay: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0
    port: int = 0
    server: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    def serve(self, jwks: dict[str, Any]) -> None:
        self.body, self.status = json.dumps(jwks).encode(), 200


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    state = KeyServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            state.hits += 1
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            if state.cache_control:
                self.send_header("Cache-Control", state.cache_control)
            for name, value in state.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port, state.server = server.server_address[1], server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _token(organization, client, private, kid):
    http = Client(HTTP_HOST=host_of(organization))
    signed = assertion(client.client_id, private, token_url(organization), kid=kid)
    return token_request(http, signed, "system/*.read")


def test_keys_by_url_are_fetched_cached_and_refetched_once_for_a_new_kid(cast, key_server):
    maple, admin = cast.organizations["maple"], cast.users["maple_admin"]
    first, second = rsa_key("jwks-uri-1"), rsa_key("jwks-uri-2")
    key_server.serve(jwks_of(first, kid="k1"))
    client = register(maple, admin, "system/*.read", jwks_uri=key_server.url)
    assert client.jwks == {} and client.jwks_uri == key_server.url
    assert key_server.hits == 1  # read once at registration, to refuse a URL that serves nothing usable
    assert _token(maple, client, first, "k1").status_code == 200
    assert _token(maple, client, first, "k1").status_code == 200
    assert key_server.hits == 2  # once for the first token, then from the cache
    # The partner rotates: it publishes the new key (and drops the old one) and signs with it.
    key_server.serve(jwks_of(second, kid="k2"))
    assert _token(maple, client, second, "k2").status_code == 200
    assert key_server.hits == 3
    assert _token(maple, client, second, "k2").status_code == 200
    assert key_server.hits == 3
    # The old key is gone from the set: refused after one more fetch.
    refused = _token(maple, client, first, "k1")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert "kid" in refused.json()["error_description"] and key_server.hits == 4
    # A key nobody published does not make the server hammer the URL: one fetch per request.
    forged = _token(maple, client, rsa_key("jwks-uri-forged"), "k2")
    assert forged.status_code == 401 and "signature" in forged.json()["error_description"]
    assert key_server.hits == 4


def test_a_short_max_age_or_no_store_is_honoured(cast, key_server):
    maple, admin = cast.organizations["maple"], cast.users["maple_admin"]
    private = rsa_key("jwks-uri-1")
    key_server.serve(jwks_of(private, kid="k1"))
    key_server.cache_control = "no-store"
    client = register(maple, admin, "system/*.read", jwks_uri=key_server.url)
    for _ in range(2):
        assert _token(maple, client, private, "k1").status_code == 200
    assert key_server.hits == 3
    key_server.cache_control = "public, max-age=1"
    assert _token(maple, client, private, "k1").status_code == 200
    assert _token(maple, client, private, "k1").status_code == 200
    assert key_server.hits == 4
    time.sleep(1.2)
    assert _token(maple, client, private, "k1").status_code == 200
    assert key_server.hits == 5


def test_a_key_server_that_is_down_slow_or_wrong_is_a_401_saying_why(cast, key_server, settings):
    maple, admin = cast.organizations["maple"], cast.users["maple_admin"]
    private = rsa_key("jwks-uri-1")
    key_server.serve(jwks_of(private, kid="k1"))
    key_server.cache_control = "no-store"
    client = register(maple, admin, "system/*.read", jwks_uri=key_server.url)
    refusals = AuditEvent.objects.filter(object_type="fhir_token", outcome="denied", object_id=str(client.uuid))
    cases = []
    key_server.status, key_server.body = 500, b"oops"
    cases.append(("HTTP 500", _token(maple, client, private, "k1")))
    key_server.status, key_server.body = 200, b"<html>not json</html>"
    cases.append(("usable key set", _token(maple, client, private, "k1")))
    key_server.serve({"keys": [{**jwks_of(private, kid="k1")["keys"][0], "d": "private"}]})
    cases.append(("private key", _token(maple, client, private, "k1")))
    settings.FHIR_JWKS_TIMEOUT_SECONDS = 1
    key_server.serve(jwks_of(private, kid="k1"))
    key_server.delay = 2.5
    started = time.monotonic()
    cases.append(("could not be reached", _token(maple, client, private, "k1")))
    assert time.monotonic() - started < 2.4
    key_server.delay = 0
    key_server.server.shutdown()
    key_server.server.server_close()
    cases.append(("could not be reached", _token(maple, client, private, "k1")))
    for expected, answered in cases:
        assert answered.status_code == 401, (expected, answered.content)
        body = answered.json()
        assert body["error"] == "invalid_client" and expected in body["error_description"], (expected, body)
        assert answered["WWW-Authenticate"].startswith("Bearer")
    assert refusals.count() == len(cases)


def test_registering_a_key_url_needs_https_and_a_usable_key_set(cast, key_server):
    maple, admin = cast.organizations["maple"], cast.users["maple_admin"]
    before = ApiClient.objects.count()
    for uri, problem in (
        ("http://keys.partner.example/jwks.json", "https://"),
        ("ftp://127.0.0.1/jwks.json", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://127.0.0.2/jwks.json", "not on a public address"),
        ("https://10.1.2.3/jwks.json", "not on a public address"),
        ("https://[::1]/jwks.json", "not on a public address"),
        ("https://169.254.169.254/latest/meta-data", "not on a public address"),
        (key_server.url, "usable key set"),  # serves nothing yet
    ):
        with pytest.raises(ValidationError) as refused:
            api_client_register(
                organization=maple, name="Partner", jwks_uri=uri, scopes_text="system/*.read", actor=admin
            )
        assert problem in str(refused.value.message_dict["jwks_uri"]), (uri, refused.value.message_dict)
    key_server.serve(jwks_of(rsa_key(), kid="k1"))
    with pytest.raises(ValidationError) as both:
        api_client_register(
            organization=maple,
            name="Partner",
            jwks_uri=key_server.url,
            jwks_text=json.dumps(jwks_of(rsa_key())),
            scopes_text="system/*.read",
            actor=admin,
        )
    assert "not both" in str(both.value)
    assert ApiClient.objects.count() == before


def test_the_admin_page_registers_a_client_by_its_key_url(cast, sign_in, key_server):
    maple = cast.organizations["maple"]
    key_server.serve(jwks_of(rsa_key(), kid="k1"))
    page = sign_in(cast.users["maple_admin"], maple)
    form = {"name": "Partner by URL", "scopes": "system/*.read", "jwks_uri": key_server.url}
    answered = page.post("/admin/api-clients/register/", form, HTTP_HX_REQUEST="true")
    assert answered.status_code == 200, answered.content
    client = ApiClient.objects.get(organization=maple, name="Partner by URL")
    assert client.jwks_uri == key_server.url
    assert key_server.url in page.get("/admin/api-clients/").content.decode()
    key_server.status, key_server.extra_headers = 302, {"Location": "http://127.0.0.1:9/elsewhere"}
    redirected = page.post("/admin/api-clients/register/", {**form, "name": "Moved"}, HTTP_HX_REQUEST="true")
    assert redirected.status_code == 400 and b"redirect" in redirected.content
    key_server.extra_headers = {}
    key_server.status = 404
    refused = page.post("/admin/api-clients/register/", {**form, "name": "Broken"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and b"HTTP 404" in refused.content
    assert not ApiClient.objects.filter(name="Broken").exists()
