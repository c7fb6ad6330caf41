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


def _token(port, host, client, key, *, kid, scope):
    """An access token from the token endpoint over HTTP for a JWT assertion signed with
    ``key``, and the form that asked for it (to send it again)."""
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": f"http://{host}/fhir/R4/auth/token",
        "exp": int(time.time()) + 300,
        "jti": str(uuid.uuid4()),
    }
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": jwt.encode(claims, key, algorithm="RS384", headers={"kid": kid}),
        "scope": scope,
    }
    status, body = _send(port, host, "/fhir/R4/auth/token", urllib.parse.urlencode(form).encode())
    assert status == 200, body
    return json.loads(body)["access_token"], form


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
        token, form = _token(portal_server, host, client, key, kid="1", scope="system/Observation.rs system/Patient.rs")
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


def test_a_partner_with_keys_at_a_url_imports_a_lab_result_over_http(committed, portal_server):
    """The whole path over real HTTP: the portal (gunicorn) fetches the partner's key set from
    the partner's own server, issues a token, and the partner's transaction Bundle becomes a
    lab result of Maple, written for Dr. Park and naming the client."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from django_tenants.utils import schema_context

    from portal.fhir import codes as c
    from portal.patients.models import RegistryEntry
    from portal.records.models import ClinicalItem, ImportedResource
    from tests.fhir.clients import jwks_of

    cast = committed
    maple, maria, park = cast.organizations["maple"], cast.patients["maria"], cast.users["park"]
    key = rsa_key("http-import")
    served = json.dumps(jwks_of(key, kid="partner-1")).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(served)))
            self.end_headers()
            self.wfile.write(served)

        def log_message(self, format, *args):  # noqa: A002
            return

    keys = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=keys.serve_forever, daemon=True).start()
    client = api_client_register(
        organization=maple,
        name="HTTP lab feed",
        jwks_uri=f"http://127.0.0.1:{keys.server_address[1]}/jwks.json",
        scopes_text="system/Observation.cu",
        actor=cast.users["maple_admin"],
        import_as=park,
    )
    host = f"maple.localhost:{portal_server}"
    lab_id = None
    try:
        token, _ = _token(portal_server, host, client, key, kid="partner-1", scope="system/Observation.cu")
        lab = {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": c.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [{"system": c.LOINC, "code": "718-7", "display": "Hemoglobin"}]},
            "subject": {"reference": f"Patient/{maria.uuid}"},
            "effectiveDateTime": "2026-11-21",
            "valueQuantity": {"value": 12.4, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
        }
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "meta": {"tag": [{"system": c.OUR_SYSTEM + "import", "code": "publish"}]},
            "entry": [{"resource": lab, "request": {"method": "POST", "url": "Observation"}}],
        }
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        status, body = _send(portal_server, host, "/fhir/R4/", json.dumps(bundle).encode(), headers)
        assert status == 200, body
        location = json.loads(body)["entry"][0]["response"]["location"]
        lab_id = location.split("/")[1]
        with schema_context(maple.schema_name):
            item = ClinicalItem.objects.get(pk=lab_id)
            assert item.author == park and item.via_client_id == client.client_id
        # A Condition is outside its scopes: refused, nothing written.
        bundle["entry"][0] = {
            "resource": {"resourceType": "Condition", "code": {"text": "x"}, "subject": lab["subject"]},
            "request": {"method": "POST", "url": "Condition"},
        }
        status, body = _send(portal_server, host, "/fhir/R4/", json.dumps(bundle).encode(), headers)
        assert status == 403 and json.loads(body)["issue"][0]["code"] == "forbidden"
    finally:
        keys.shutdown()
        keys.server_close()
        if lab_id is not None:
            with schema_context(maple.schema_name):
                ImportedResource.objects.filter(item_id=lab_id).delete()
                RegistryEntry.objects.filter(uuid=lab_id).delete()
                ClinicalItem.objects.filter(pk=lab_id).delete()
        ApiClient.objects.filter(pk=client.pk).delete()
