"""Registering API clients, revoking them, and issuing access tokens (SMART Backend
Services: the client credentials grant with a signed JWT assertion, RFC 7523).

The JWTs are checked by PyJWT (with ``cryptography``): the signature with the client's
registered public keys, RS384 or ES384 only; ``iss`` and ``sub`` the client id; ``aud`` this
organization's token URL; ``exp`` at most five minutes ahead; ``jti`` never seen before for
this client (kept in the database until the assertion expires, so a replay is refused even
while Redis is down). Errors are RFC 6749's: ``invalid_request``, ``invalid_client`` (401),
``unsupported_grant_type``, ``invalid_scope``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.accounts.roles import AUTHOR_ROLES
from portal.audit.models import AuditAction, AuditOutcome
from portal.audit.services import audit_record
from portal.fhir.clients.keys import KeysUnavailable, client_keys, jwks_fetch, jwks_uri_check
from portal.fhir.models import AccessToken, ApiClient, AssertionUse
from portal.fhir.scopes import ClientPrincipal, ScopeError, ScopeSet, parse_scope, parse_scopes
from tenants.models import Organization

ALGORITHMS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_SECONDS = 300
ASSERTION_MAX_SECONDS = 300
CLOCK_SKEW_SECONDS = 30
MAX_KEYS = 10
MAX_JWKS_BYTES = 32 * 1024
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- registration --------------------------------------------------------------------


def jwks_parse(text: str) -> dict[str, Any]:
    """A JWKS of public RSA (2048 bits or more) or P-384 keys, as JSON; ``ValidationError``
    otherwise. A single key is taken as a set of one."""
    if len(text.encode()) > MAX_JWKS_BYTES:
        raise ValidationError({"jwks": "The key set is larger than 32 KB."})
    try:
        data = json.loads(text)
    except ValueError:
        raise ValidationError({"jwks": "This is not JSON: paste the client's JSON Web Key Set."})
    if isinstance(data, dict) and "kty" in data:
        data = {"keys": [data]}
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValidationError({"jwks": 'A JSON Web Key Set is an object with a "keys" list.'})
    if len(keys) > MAX_KEYS:
        raise ValidationError({"jwks": f"At most {MAX_KEYS} keys."})
    for number, key in enumerate(keys, start=1):
        if not isinstance(key, dict):
            raise ValidationError({"jwks": f"Key {number} is not a JSON object."})
        if PRIVATE_MEMBERS & set(key):
            raise ValidationError({"jwks": f"Key {number} holds a private key: register the public key only."})
        if key.get("alg") not in (None, *ALGORITHMS):
            raise ValidationError({"jwks": f"Key {number}: the algorithm must be RS384 or ES384."})
        try:
            public = jwt.PyJWK(key, algorithm=_algorithm_of(key)).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise ValidationError({"jwks": f"Key {number} is not a valid RSA or EC public key."})
        if isinstance(public, rsa.RSAPublicKey):
            if public.key_size < 2048:
                raise ValidationError({"jwks": f"Key {number}: an RSA key has 2048 bits or more."})
        elif isinstance(public, ec.EllipticCurvePublicKey):
            if public.curve.name != "secp384r1":
                raise ValidationError({"jwks": f"Key {number}: an EC key is on the P-384 curve (ES384)."})
        else:
            raise ValidationError({"jwks": f"Key {number} is not an RSA or EC public key."})
    return {"keys": keys}


def _algorithm_of(key: Mapping[str, Any]) -> str:
    if key.get("alg") in ALGORITHMS:
        return str(key["alg"])
    return "ES384" if key.get("kty") == "EC" else "RS384"


def scopes_parse(text: str) -> str:
    """The scopes a client may ask for, checked; ``ValidationError`` names the bad one."""
    try:
        scopes = parse_scopes(text)
    except ScopeError as error:
        raise ValidationError({"scopes": str(error)})
    if not scopes:
        raise ValidationError({"scopes": "Give at least one scope, for example system/*.read."})
    return " ".join(part for part in dict.fromkeys(text.split()))


def _import_author(organization: Organization, scopes: str, import_as: User | None) -> User | None:
    """The clinician a client with write scopes imports for: an active member of the
    organization with an author role (the items' author, who answers for them)."""
    writes = any(set(scope.letters) & set("cu") for scope in parse_scopes(scopes))
    if import_as is None:
        if writes:
            raise ValidationError(
                {
                    "import_as": "A client that writes (create or update scopes) imports on behalf of a clinician: name one."
                }
            )
        return None
    membership = Membership.objects.active().filter(user=import_as, organization=organization).first()
    if membership is None or membership.role not in AUTHOR_ROLES:
        raise ValidationError(
            {"import_as": f"Imports are authored by a clinician of {organization.name} with an author role."}
        )
    return import_as


@transaction.atomic
def api_client_register(
    *,
    organization: Organization,
    name: str,
    scopes_text: str,
    actor: User,
    jwks_text: str = "",
    jwks_uri: str = "",
    import_as: User | None = None,
    request: HttpRequest | None = None,
) -> ApiClient:
    """Register a client with its public keys pasted (``jwks_text``) or published at
    ``jwks_uri`` (fetched now, to say at once when it cannot be read); a client with write
    scopes names the clinician it imports for (``import_as``)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the client (the partner's system)."})
    scopes = scopes_parse(scopes_text)
    author = _import_author(organization, scopes, import_as)
    jwks: dict[str, Any] = {}
    if jwks_uri.strip() and jwks_text.strip():
        raise ValidationError({"jwks": "Paste the key set or give its URL, not both."})
    if jwks_uri.strip():
        jwks_uri = jwks_uri_check(jwks_uri)
        try:
            jwks_fetch(jwks_uri)
        except KeysUnavailable as error:
            raise ValidationError({"jwks_uri": str(error)})
    elif jwks_text.strip():
        jwks = jwks_parse(jwks_text)
    else:
        raise ValidationError({"jwks": "Paste the client's public key set, or give the URL where it publishes it."})
    client = ApiClient.objects.create(
        organization=organization,
        name=name[:120],
        client_id=secrets.token_urlsafe(24),
        jwks=jwks,
        jwks_uri=jwks_uri.strip(),
        scopes=scopes,
        created_by=actor,
        import_as=author,
    )
    detail = {"event": "registered", "client": client.client_id, "scopes": scopes}
    if client.jwks_uri:
        detail["jwks_uri"] = client.jwks_uri
    if author is not None:
        detail["import_as"] = author.email
    audit_record(
        action=AuditAction.ADMIN,
        actor=actor,
        organization=organization,
        request=request,
        object_type="api_client",
        object_id=client.uuid,
        data_owner=organization,
        detail=detail,
    )
    return client


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor: User, request: HttpRequest | None = None) -> ApiClient:
    """The client's tokens stop working at once; revoking twice changes nothing more."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        return client
    client.revoked_at, client.revoked_by = timezone.now(), actor
    client.save(update_fields=["revoked_at", "revoked_by"])
    AccessToken.objects.filter(client=client).delete()
    audit_record(
        action=AuditAction.REVOKE,
        actor=actor,
        organization=client.organization,
        request=request,
        object_type="api_client",
        object_id=client.uuid,
        data_owner=client.organization,
        detail={"event": "revoked", "client": client.client_id},
    )
    return client


# --- the token endpoint --------------------------------------------------------------


@dataclass
class TokenError(Exception):
    error: str
    description: str
    status: int = 400


def _refused(description: str) -> TokenError:
    return TokenError("invalid_client", description, 401)


def access_token_issue(
    *, organization: Organization, token_url: str, data: Mapping[str, str], request: HttpRequest | None = None
) -> dict[str, Any]:
    """Check a client credentials request; the token's answer (RFC 6749 5.1) or ``TokenError``."""
    if data.get("grant_type") != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials.")
    if data.get("client_assertion_type") != ASSERTION_TYPE:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
    assertion = data.get("client_assertion") or ""
    if not assertion:
        raise TokenError("invalid_request", "client_assertion is missing.")
    if not data.get("scope"):
        raise TokenError("invalid_request", "scope is missing: ask for the scopes you need (system/*.read).")
    client = _client_of(organization, assertion)
    try:
        claims = _verified_claims(client, assertion, token_url)
        granted = _granted_scopes(client, data["scope"])
    except TokenError as error:
        _audit_token(client, request, refused=error.description)
        raise
    try:
        with transaction.atomic():
            AssertionUse.objects.create(
                client=client, jti=claims["jti"], expires_at=dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
            )
    except IntegrityError:
        replayed = _refused("This client assertion was used already (its jti is spent): sign a new one.")
        _audit_token(client, request, refused=replayed.description)
        raise replayed
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        AssertionUse.objects.filter(client=client, expires_at__lt=now).delete()
        AccessToken.objects.filter(client=client, expires_at__lt=now).delete()
        AccessToken.objects.create(
            token_hash=token_hash(token),
            client=client,
            organization=organization,
            scopes=granted,
            issued_at=now,
            expires_at=now + dt.timedelta(seconds=TOKEN_SECONDS),
        )
        client.last_token_at = now
        client.save(update_fields=["last_token_at"])
        _audit_token(client, request, scope=granted)
    return {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_SECONDS, "scope": granted}


def _client_of(organization: Organization, assertion: str) -> ApiClient:
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refused("client_assertion is not a JWT.")
    if header.get("alg") not in ALGORITHMS:
        raise _refused("client_assertion must be signed with RS384 or ES384.")
    issuer = unverified.get("iss")
    client = None
    if isinstance(issuer, str) and issuer:
        client = (
            ApiClient.objects.select_related("organization")
            .filter(client_id=issuer, organization=organization, revoked_at__isnull=True)
            .first()
        )
    if client is None or not organization.is_active:
        raise _refused("No active client with this id is registered at this organization.")
    return client


def _verified_claims(client: ApiClient, assertion: str, token_url: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(assertion)
    algorithm, kid = header["alg"], header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _refused("The client assertion's kid is a string.")
    try:
        keys = client_keys(client, kid)
    except KeysUnavailable as error:
        raise _refused(str(error))
    keys = [key for key in keys if _algorithm_of(key) == algorithm]
    if not keys:
        raise _refused("No registered key of this client matches the assertion's kid and algorithm.")
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                assertion,
                key=jwt.PyJWK(key, algorithm=algorithm),
                algorithms=[algorithm],
                audience=token_url,
                issuer=client.client_id,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise _refused("The client assertion has expired.")
        except jwt.InvalidAudienceError:
            raise _refused(f"The client assertion's aud must be this token endpoint: {token_url}.")
        except jwt.PyJWTError as error:
            raise _refused(f"The client assertion is not valid: {error}.")
    if claims is None:
        raise _refused("The client assertion's signature does not verify with the client's registered keys.")
    if claims.get("sub") != client.client_id:
        raise _refused("The client assertion's sub must be the client id.")
    if not isinstance(claims["exp"], int | float) or claims["exp"] > timezone.now().timestamp() + (
        ASSERTION_MAX_SECONDS + CLOCK_SKEW_SECONDS
    ):
        raise _refused("The client assertion's exp is at most five minutes ahead.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise _refused("The client assertion's jti is a string of at most 255 characters.")
    return claims


def _granted_scopes(client: ApiClient, requested: str) -> str:
    """Every scope asked for must lie within what the client was registered for."""
    parts = list(dict.fromkeys(requested.split()))
    try:
        asked = [(part, parse_scope(part)) for part in parts]
    except ScopeError as error:
        raise TokenError("invalid_scope", str(error))
    registered = ScopeSet.of(client.scopes)
    beyond = [part for part, scope in asked if not registered.covers(scope)]
    if beyond:
        raise TokenError(
            "invalid_scope",
            f"Not within the scopes this client is registered for ({client.scopes}): {' '.join(beyond)}.",
        )
    return " ".join(dict.fromkeys(requested.split()))


def _audit_token(client: ApiClient, request: HttpRequest | None, *, scope: str = "", refused: str = "") -> None:
    principal = ClientPrincipal(client=client, organization=client.organization, scopes=ScopeSet(()))
    audit_record(
        action=AuditAction.SIGN_IN_REFUSED if refused else AuditAction.SIGN_IN,
        actor=principal,
        organization=client.organization,
        request=request,
        outcome=AuditOutcome.DENIED if refused else AuditOutcome.ALLOWED,
        object_type="fhir_token",
        object_id=client.uuid,
        data_owner=client.organization,
        detail={"client": client.client_id, "scope": scope}
        if not refused
        else {"client": client.client_id, "reason": refused[:200]},
    )
