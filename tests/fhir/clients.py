"""Test keys and signed assertions for the FHIR API clients' tests (keys made with
``cryptography``, assertions signed with PyJWT)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from portal.fhir.clients.services import ASSERTION_TYPE, api_client_register
from tests.conftest import host_of

_KEYS: dict[str, Any] = {}


def rsa_key(name: str = "rsa") -> Any:
    """An RSA key (2048 bits), made once per test process and name."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


def ec_key(name: str = "ec") -> Any:
    if name not in _KEYS:
        _KEYS[name] = ec.generate_private_key(ec.SECP384R1())
    return _KEYS[name]


def jwks_of(private: Any, kid: str = "key-1") -> dict[str, Any]:
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        key = RSAAlgorithm.to_jwk(public, as_dict=True)
        key["alg"] = "RS384"
    else:
        key = ECAlgorithm.to_jwk(public, as_dict=True)
        key["alg"] = "ES384"
    key["kid"] = kid
    return {"keys": [key]}


def token_url(organization: Any) -> str:
    return f"http://{host_of(organization)}/fhir/R4/auth/token"


def assertion(
    client_id: str,
    private: Any,
    audience: str,
    *,
    kid: str = "key-1",
    lifetime: int = 240,
    jti: str | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "jti": jti or str(uuid.uuid4()),
        **(claims or {}),
    }
    algorithm = "RS384" if isinstance(private, rsa.RSAPrivateKey) else "ES384"
    return jwt.encode(body, private, algorithm=algorithm, headers={"kid": kid})


def register(
    organization: Any,
    admin: Any,
    scopes: str,
    private: Any | None = None,
    name: str = "Partner EHR",
    *,
    import_as: Any = None,
    jwks_uri: str = "",
) -> Any:
    return api_client_register(
        organization=organization,
        name=name,
        jwks_text="" if jwks_uri else json.dumps(jwks_of(private or rsa_key())),
        jwks_uri=jwks_uri,
        scopes_text=scopes,
        actor=admin,
        import_as=import_as,
    )


def token_request(http: Any, signed: str, scope: str, **extra: str) -> Any:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        "scope": scope,
        **extra,
    }
    return http.post("/fhir/R4/auth/token", urlencode(form), content_type="application/x-www-form-urlencoded")


def access_token(http: Any, organization: Any, client: Any, scope: str, private: Any | None = None) -> str:
    answered = token_request(http, assertion(client.client_id, private or rsa_key(), token_url(organization)), scope)
    assert answered.status_code == 200, answered.content
    return str(answered.json()["access_token"])
