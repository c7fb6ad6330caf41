"""API clients of /fhir/R4/ (SMART Backend Services): registered by a site admin, a token for
a signed assertion, bearer reads that the scopes narrow and the organization's access rule
bounds, refusals in RFC 6749's words, and every read in the access log under the client."""

import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.fhir.models import AccessToken, ApiClient, AssertionUse
from portal.patients.models import RegistryEntry
from portal.patients.services import emergency_access_request
from tests.conftest import host_of
from tests.fhir.clients import (
    access_token,
    assertion,
    ec_key,
    jwks_of,
    register,
    rsa_key,
    token_request,
    token_url,
)
from tests.fhir.helpers import fhir_json, resources_of


def _bearer(organization, token):
    return Client(HTTP_HOST=host_of(organization), HTTP_AUTHORIZATION=f"Bearer {token}")


def _client_reads(client):
    return AuditEvent.objects.filter(object_type="fhir", detail__client=f"client:{client.client_id}")


def test_a_site_admin_registers_a_client_whose_token_reads_observations_and_not_conditions(cast, sign_in):
    maple, maria, admin = cast.organizations["maple"], cast.patients["maria"], cast.users["maple_admin"]
    page = sign_in(admin, maple)
    assert b"No API clients yet." in page.get("/admin/api-clients/").content
    form = {"name": "Maple EHR sync", "scopes": "system/Observation.rs", "jwks": json.dumps(jwks_of(rsa_key()))}
    answered = page.post("/admin/api-clients/register/", form, HTTP_HX_REQUEST="true")
    assert answered.status_code == 200
    client = ApiClient.objects.get(organization=maple, name="Maple EHR sync")
    assert client.client_id.encode() in answered.content and b"<html" not in answered.content
    listed = page.get("/admin/api-clients/").content.decode()
    assert "Maple EHR sync" in listed and client.client_id in listed and "system/Observation.rs" in listed

    http = Client(HTTP_HOST=host_of(maple))
    issued = token_request(http, assertion(client.client_id, rsa_key(), token_url(maple)), "system/Observation.rs")
    assert issued.status_code == 200, issued.content
    body = issued.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300 and body["scope"] == "system/Observation.rs"
    assert issued["Cache-Control"].startswith("no-store") or "no-store" in issued["Cache-Control"]
    # Stored as its hash only.
    stored = AccessToken.objects.get(client=client)
    assert stored.token_hash != body["access_token"] and len(stored.token_hash) == 64
    assert stored.expires_at - stored.issued_at == dt.timedelta(minutes=5)

    bearer = _bearer(maple, body["access_token"])
    found = fhir_json(bearer.get(f"/fhir/R4/Observation?patient={maria.uuid}&_count=500"))
    observations = resources_of(found, "Observation")
    lab = RegistryEntry.objects.filter(patient=maria, kind="lab_result").first()
    assert observations and str(lab.uuid) in {r["id"] for r in observations}
    assert fhir_json(bearer.get(f"/fhir/R4/Observation/{lab.uuid}"))["id"] == str(lab.uuid)
    # Another type: refused from the type alone, before any lookup (403, not a patient's 404).
    diagnosis = RegistryEntry.objects.filter(patient=maria, kind="cancer_diagnosis").first()
    for path in (
        f"/fhir/R4/Condition/{diagnosis.uuid}",
        f"/fhir/R4/Condition?patient={maria.uuid}",
        f"/fhir/R4/Condition/{diagnosis.uuid}/_history",
        f"/fhir/R4/Patient/{maria.uuid}",
        f"/fhir/R4/MedicationStatement?patient={maria.uuid}",
        "/fhir/R4/Condition/00000000-0000-0000-0000-000000000000",
    ):
        refused = fhir_json(bearer.get(path), 403)
        assert refused["issue"][0]["code"] == "forbidden", path
    # $everything: the Observations only; an explicit _type outside the scopes is refused.
    everything = resources_of(fhir_json(bearer.get(f"/fhir/R4/Patient/{maria.uuid}/$everything")))
    assert everything and {r["resourceType"] for r in everything} == {"Observation"}
    assert fhir_json(bearer.get(f"/fhir/R4/Patient/{maria.uuid}/$everything?_type=Condition"), 403)
    # Included Provenances are left out: the scopes do not read them.
    included = fhir_json(
        bearer.get(f"/fhir/R4/Observation?patient={maria.uuid}&_revinclude=Provenance:target&_count=5")
    )
    assert {r["resourceType"] for r in resources_of(included)} == {"Observation"}
    # AuditEvents are for site admins: never a client's.
    assert fhir_json(bearer.get("/fhir/R4/AuditEvent"), 404)

    # Every read is audited under the client's name, and the access log shows it.
    events = _client_reads(client)
    assert events.exists() and all(e.actor is None and client.client_id in e.actor_label for e in events)
    assert all(e.patient == maria for e in events)
    log = page.get("/audit/").content.decode()
    assert f"API client Maple EHR sync ({client.client_id})" in log


def test_scopes_of_both_syntaxes_parse_alike_and_bad_ones_are_named():
    import pytest

    from portal.fhir.scopes import ScopeError, ScopeSet, parse_scope

    assert parse_scope("system/Observation.read") == parse_scope("system/Observation.rs")
    assert parse_scope("system/*.write").letters == "cud" and parse_scope("system/*.*").letters == "cruds"
    assert parse_scope("system/*.cruds").resource_type == "*"
    scopes = ScopeSet.of("system/Observation.rs system/Patient.r")
    assert scopes.allows("Observation", "search") and scopes.allows("Patient", "read")
    assert not scopes.allows("Patient", "search") and not scopes.allows("Condition", "read")
    assert not scopes.allows("Observation", "create")
    assert ScopeSet.of("system/*.c").allows("Condition", "create")
    for bad in (
        "patient/Observation.read",
        "user/*.read",
        "system/Observation.sr",
        "system/Observation.rr",
        "system/Observation.x",
        "system/observation.read",
        "system/Observation.rs?category=laboratory",
        "openid",
    ):
        with pytest.raises(ScopeError):
            parse_scope(bad)


def test_token_refusals_speak_rfc_6749(cast):
    maple, admin = cast.organizations["maple"], cast.users["maple_admin"]
    client = register(maple, admin, "system/*.read")
    http = Client(HTTP_HOST=host_of(maple))
    url = token_url(maple)

    def refused(signed, scope="system/*.read", status=401, error="invalid_client", **extra):
        answered = token_request(http, signed, scope, **extra)
        assert answered.status_code == status, answered.content
        assert answered["Content-Type"] == "application/json"
        body = answered.json()
        assert body["error"] == error and body["error_description"], body
        if status == 401:
            assert 'error="invalid_client"' in answered["WWW-Authenticate"]
        return body

    refused(assertion(client.client_id, rsa_key(), "http://elsewhere.example/token"))  # wrong audience
    refused(assertion(client.client_id, rsa_key(), url, lifetime=-120))  # expired
    refused(assertion(client.client_id, rsa_key(), url, lifetime=900))  # exp more than 5 minutes ahead
    refused(assertion("no-such-client", rsa_key(), url))  # unknown client
    refused(assertion(client.client_id, rsa_key("other"), url))  # signed with a key not registered
    refused(assertion(client.client_id, rsa_key(), url, claims={"sub": "someone-else"}))
    refused(assertion(client.client_id, rsa_key(), url, kid="unknown-kid"))
    refused("not-a-jwt")
    # Replayed jti: the first use works, the second is refused.
    signed = assertion(client.client_id, rsa_key(), url, jti="once-only")
    assert token_request(http, signed, "system/*.read").status_code == 200
    assert "used already" in refused(signed)["error_description"]
    assert AssertionUse.objects.filter(client=client, jti="once-only").count() == 1
    # Scopes beyond the registration, or not scopes at all.
    refused(assertion(client.client_id, rsa_key(), url), scope="system/*.cruds", status=400, error="invalid_scope")
    refused(assertion(client.client_id, rsa_key(), url), scope="patient/*.read", status=400, error="invalid_scope")
    refused(assertion(client.client_id, rsa_key(), url), scope="", status=400, error="invalid_request")
    refused(
        assertion(client.client_id, rsa_key(), url),
        status=400,
        error="unsupported_grant_type",
        grant_type="password",
    )
    # A narrower scope than the registration is granted as asked (v1 asked, v2 registered alike).
    narrower = token_request(http, assertion(client.client_id, rsa_key(), url), "system/Observation.read")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "system/Observation.read"
    # Not a form: refused as such.
    as_json = http.post("/fhir/R4/auth/token", {"grant_type": "client_credentials"}, content_type="application/json")
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    assert http.get("/fhir/R4/auth/token").status_code == 405
    # A revoked client: refused at the token endpoint, and its tokens stop working at once.
    token = access_token(http, maple, client, "system/*.read")
    maria = cast.patients["maria"]
    assert _bearer(maple, token).get(f"/fhir/R4/Patient/{maria.uuid}").status_code == 200
    from portal.fhir.clients.services import api_client_revoke

    api_client_revoke(client=client, actor=admin)
    refused(assertion(client.client_id, rsa_key(), url))
    gone = _bearer(maple, token).get(f"/fhir/R4/Patient/{maria.uuid}")
    assert gone.status_code == 401 and 'error="invalid_token"' in gone["WWW-Authenticate"]
    # The refusals of a known client are in its organization's log.
    assert AuditEvent.objects.filter(object_type="fhir_token", outcome="denied", data_owner=maple).exists()


def test_an_es384_key_works_too(cast):
    cedar, admin = cast.organizations["cedarvalley"], cast.users["cedarvalley_admin"]
    client = register(cedar, admin, "system/*.rs", private=ec_key())
    token = access_token(Client(HTTP_HOST=host_of(cedar)), cedar, client, "system/Patient.rs", private=ec_key())
    assert fhir_json(_bearer(cedar, token).get("/fhir/R4/Patient?birthdate=1961-04-12"))["resourceType"] == "Bundle"


def test_a_token_works_only_at_the_organization_that_issued_it(cast):
    northfield, maria = cast.organizations["northfield"], cast.patients["maria"]
    client = register(northfield, cast.users["northfield_admin"], "system/*.read")
    token = access_token(Client(HTTP_HOST=host_of(northfield)), northfield, client, "system/*.read")
    assert fhir_json(_bearer(northfield, token).get(f"/fhir/R4/Patient/{maria.uuid}"))["id"] == str(maria.uuid)
    for elsewhere in (cast.organizations["cedarvalley"], cast.organizations["maple"]):
        answered = _bearer(elsewhere, token).get(f"/fhir/R4/Patient/{maria.uuid}")
        assert fhir_json(answered, 401)["issue"][0]["code"] == "login"
        assert fhir_json(_bearer(elsewhere, token).get("/fhir/R4/Observation?patient=x"), 401)
    # Nor can Northfield's assertion get a token at Cedar Valley's address.
    cedar = cast.organizations["cedarvalley"]
    answered = token_request(
        Client(HTTP_HOST=host_of(cedar)), assertion(client.client_id, rsa_key(), token_url(cedar)), "system/*.read"
    )
    assert answered.status_code == 401 and answered.json()["error"] == "invalid_client"
    # An unknown or malformed token is the same 401.
    assert _bearer(northfield, "made-up").get(f"/fhir/R4/Patient/{maria.uuid}").status_code == 401
    expired = AccessToken.objects.get(client=client)
    expired.expires_at = timezone.now() - dt.timedelta(seconds=1)
    expired.save(update_fields=["expires_at"])
    assert _bearer(northfield, token).get(f"/fhir/R4/Patient/{maria.uuid}").status_code == 401


def test_cedar_valleys_client_never_sees_maria_even_under_its_clinicians_emergency_access(cast):
    cedar, maria = cast.organizations["cedarvalley"], cast.patients["maria"]
    # Dr. Chen's own break-the-glass grant is hers, not her organization's.
    emergency_access_request(
        user=cast.users["chen"],
        organization=cedar,
        given_name="Maria",
        family_name="Alvarez",
        date_of_birth=dt.date(1961, 4, 12),
        reason="Unconscious in our clinic, oncology history unknown",
    )
    client = register(cedar, cast.users["cedarvalley_admin"], "system/*.read")
    bearer = _bearer(cedar, access_token(Client(HTTP_HOST=host_of(cedar)), cedar, client, "system/*.read"))
    lab = RegistryEntry.objects.filter(patient=maria, kind="lab_result").first()
    for path in (
        f"/fhir/R4/Patient/{maria.uuid}",
        f"/fhir/R4/Patient/{maria.uuid}/$everything",
        f"/fhir/R4/Observation?patient={maria.uuid}",
        f"/fhir/R4/Observation/{lab.uuid}",
        f"/fhir/R4/Provenance/{lab.uuid}-provenance",
        f"/fhir/R4/CareTeam/{maria.uuid}-careteam",
    ):
        assert fhir_json(bearer.get(path), 404)["issue"][0]["code"] == "not-found", path
    for query in ("birthdate=1961-04-12", "identifier=NCI-100234", f"_id={maria.uuid}"):
        assert fhir_json(bearer.get(f"/fhir/R4/Patient?{query}"))["total"] == 0, query
    assert not _client_reads(client).filter(outcome="allowed").exists()
    # Its refusals are in Cedar Valley's log under the client's name.
    denied = AuditEvent.objects.filter(
        outcome="denied", acting_organization=cedar, actor_label__contains=client.client_id
    )
    assert denied.count() >= 5


def test_a_client_sees_what_its_organizations_relationships_open_and_no_care_objects(cast, sign_in):
    maple, maria = cast.organizations["maple"], cast.patients["maria"]
    client = register(maple, cast.users["maple_admin"], "system/*.read")
    bearer = _bearer(maple, access_token(Client(HTTP_HOST=host_of(maple)), maple, client, "system/*.read"))
    resources = resources_of(fhir_json(bearer.get(f"/fhir/R4/Patient/{maria.uuid}/$everything")))
    ids = {r["id"] for r in resources}
    # Maple shares Maria's record: both organizations' entries, as Dr. Park sees them.
    assert {str(e.uuid) for e in RegistryEntry.objects.filter(patient=maria)} <= ids
    park = resources_of(fhir_json(sign_in(cast.users["park"], maple).get(f"/fhir/R4/Patient/{maria.uuid}/$everything")))
    assert ids <= {r["id"] for r in park} | {r["id"] for r in resources if r["resourceType"] == "Bundle"}
    # Referrals, care tasks, hand-offs and messages are one person's work: not a client's.
    assert not {"ServiceRequest", "Task", "CarePlan", "Communication"} & {r["resourceType"] for r in resources}
    # A POST search works with the bearer token alone (no CSRF token: no session).
    answered = bearer.post("/fhir/R4/Observation/_search", {"patient": str(maria.uuid)})
    assert fhir_json(answered)["total"] > 0


def test_the_endpoint_advertises_its_token_url(anonymous, cast):
    maple = cast.organizations["maple"]
    http = anonymous(maple)
    smart = http.get("/fhir/R4/.well-known/smart-configuration").json()
    assert smart["token_endpoint"] == token_url(maple)
    assert "private_key_jwt" in smart["token_endpoint_auth_methods_supported"]
    assert set(smart["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
    statement = fhir_json(http.get("/fhir/R4/metadata"))
    security = statement["rest"][0]["security"]
    uris = security["extension"][0]
    assert uris["url"].endswith("oauth-uris") and uris["extension"][0]["valueUri"] == token_url(maple)
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"


def test_the_registration_page_refuses_bad_input_in_place_and_is_for_site_admins_only(cast, sign_in):
    maple, cedar = cast.organizations["maple"], cast.organizations["cedarvalley"]
    page = sign_in(cast.users["maple_admin"], maple)
    from jwt.algorithms import RSAAlgorithm

    private_jwk = RSAAlgorithm.to_jwk(rsa_key(), as_dict=True)
    cases = [
        ({"name": "x", "scopes": "system/*.read", "jwks": json.dumps({"keys": [private_jwk]})}, "private key"),
        ({"name": "x", "scopes": "system/*.read", "jwks": "not json"}, "not JSON"),
        ({"name": "x", "scopes": "patient/*.read", "jwks": json.dumps(jwks_of(rsa_key()))}, "system scopes only"),
        ({"name": "", "scopes": "system/*.read", "jwks": json.dumps(jwks_of(rsa_key()))}, "required"),
    ]
    for form, message in cases:
        answered = page.post("/admin/api-clients/register/", form, HTTP_HX_REQUEST="true")
        assert answered.status_code == 400 and message in answered.content.decode(), message
        assert b"<html" not in answered.content and b'id="register-panel"' in answered.content
    assert not ApiClient.objects.exists()
    client = register(maple, cast.users["maple_admin"], "system/*.read")
    # Not a site admin, or another organization's: the same 404, nothing changed.
    park = sign_in(cast.users["park"], maple)
    assert park.get("/admin/api-clients/").status_code == 404
    assert park.post(f"/admin/api-clients/{client.uuid}/revoke/").status_code == 404
    holt = sign_in(cast.users["cedarvalley_admin"], cedar)
    assert holt.post(f"/admin/api-clients/{client.uuid}/revoke/").status_code == 404
    assert client.client_id not in holt.get("/admin/api-clients/").content.decode()
    client.refresh_from_db()
    assert client.is_active
    # The organization's own admin revokes it.
    answered = page.post(f"/admin/api-clients/{client.uuid}/revoke/")
    assert answered.status_code == 302
    client.refresh_from_db()
    assert not client.is_active
    assert AuditEvent.objects.filter(object_type="api_client", action="revoke", data_owner=maple).exists()
