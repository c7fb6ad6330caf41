"""The README's partner script, over real HTTP against gunicorn: sign an assertion with a key
pair, take a token at the organization's address, read Observations with it; the same token
at another organization's address is refused."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
from jwt.algorithms import RSAAlgorithm

from portal.fhir.clients.services import api_client_register
from portal.fhir.models import ApiClient
from tests.fhir.clients import rsa_key


def _send(port, host, path, data=None, headers=None):
    """To 127.0.0.1 with the organization's Host header (as the README says for scripts)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Host": host, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_readmes_partner_script_reads_observations_over_http(committed, portal_server):
    cast = committed
    maple, maria = cast.organizations["maple"], cast.patients["maria"]
    key = rsa_key()
    jwks = {"keys": [{**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "alg": "RS384", "kid": "1"}]}
    client = api_client_register(
        organization=maple,
        name="README partner",
        jwks_text=json.dumps(jwks),
        scopes_text="system/Observation.rs system/Patient.rs",
        actor=cast.users["maple_admin"],
    )
    host = f"maple.localhost:{portal_server}"
    base = f"http://{host}/fhir/R4/"
    try:
        status, smart = _send(portal_server, host, "/fhir/R4/.well-known/smart-configuration")
        assert status == 200 and json.loads(smart)["token_endpoint"] == base + "auth/token"
        claims = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": base + "auth/token",
            "exp": int(time.time()) + 300,
            "jti": str(uuid.uuid4()),
        }
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(claims, key, algorithm="RS384", headers={"kid": "1"}),
            "scope": "system/Observation.rs system/Patient.rs",
        }
        status, body = _send(portal_server, host, "/fhir/R4/auth/token", urllib.parse.urlencode(form).encode())
        assert status == 200, body
        token = json.loads(body)["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        status, found = _send(portal_server, host, f"/fhir/R4/Observation?patient={maria.uuid}", headers=bearer)
        assert status == 200 and json.loads(found)["total"] > 0
        status, refused = _send(portal_server, host, f"/fhir/R4/Condition?patient={maria.uuid}", headers=bearer)
        assert status == 403 and json.loads(refused)["resourceType"] == "OperationOutcome"
        elsewhere = f"cedarvalley.localhost:{portal_server}"
        status, _ = _send(portal_server, elsewhere, f"/fhir/R4/Observation?patient={maria.uuid}", headers=bearer)
        assert status == 401
        # The same assertion again: its jti is spent.
        status, body = _send(portal_server, host, "/fhir/R4/auth/token", urllib.parse.urlencode(form).encode())
        assert status == 401 and json.loads(body)["error"] == "invalid_client"
    finally:
        ApiClient.objects.filter(pk=client.pk).delete()
