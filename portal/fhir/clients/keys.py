"""An API client's public keys: the key set pasted at registration, or fetched from the
client's ``jwks_uri``.

A key set by URL is fetched with a short timeout (``FHIR_JWKS_TIMEOUT_SECONDS``), over https
(plain http only to the hosts of ``FHIR_JWKS_HTTP_HOSTS``: tests and development), read with
the same checks as a pasted one (``jwks_parse``: public RSA 2048+ or P-384 keys, 32 KB at
most), and kept in the cache (Redis) for ``FHIR_JWKS_CACHE_SECONDS`` or the server's
``Cache-Control: max-age`` when shorter. An assertion whose ``kid`` the cached set lacks
fetches the set again, once (and at most once every ``FHIR_JWKS_REFETCH_SECONDS`` per client),
so a partner rotates its keys by publishing the new one. A set that cannot be fetched or read
is ``KeysUnavailable``: the token endpoint answers ``invalid_client`` saying why.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from portal.fhir.models import ApiClient

MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)
NO_STORE = re.compile(r"(?:^|,)\s*no-(?:store|cache)\b", re.IGNORECASE)


class KeysUnavailable(Exception):
    """The client's key set could not be fetched or read (the reason, for its developers)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A key set is read where it was registered: a redirect is not followed (it could lead
    anywhere, the portal's own network included)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def jwks_uri_check(uri: str) -> str:
    """A key set URL a client may be registered with; ``ValidationError`` otherwise."""
    uri = uri.strip()
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in settings.FHIR_JWKS_HTTP_HOSTS:
        return uri
    raise ValidationError({"jwks_uri": "The key set's URL must be an https:// address."})


def _cache_key(client: ApiClient) -> str:
    return f"fhir-jwks:{client.uuid}"


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - Redis down: fetch instead (the keys are public)
        return None


def _cache_set(key: str, value: Any, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception:  # noqa: BLE001 - Redis down: the next request fetches again
        pass


def _may_refetch(client: ApiClient) -> bool:
    seconds = settings.FHIR_JWKS_REFETCH_SECONDS
    if seconds <= 0:
        return True
    try:
        return bool(cache.add(f"fhir-jwks-refetch:{client.uuid}", 1, seconds))
    except Exception:  # noqa: BLE001 - Redis down: no memory of the last fetch; fetch
        return True


def _public_host(uri: str) -> None:
    """Refuse a key set URL whose host is a private, loopback or link-local address (the
    portal's own network is not for partners to point it at), unless the host is one of
    ``FHIR_JWKS_HTTP_HOSTS`` (tests and development)."""
    host = urlsplit(uri).hostname or ""
    if host in settings.FHIR_JWKS_HTTP_HOSTS:
        return
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise KeysUnavailable(f"The client's key set URL could not be reached ({error}).") from None
    for *_rest, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global:
            raise KeysUnavailable("The client's key set URL is not on a public address.")


def jwks_fetch(uri: str) -> tuple[dict[str, Any], int]:
    """Fetch and read a key set: the set and how long it may be kept (seconds)."""
    jwks_uri_check(uri)
    _public_host(uri)
    request = urllib.request.Request(uri, headers={"Accept": "application/json, application/jwk-set+json"})
    limit = 32 * 1024
    try:
        with _OPENER.open(request, timeout=settings.FHIR_JWKS_TIMEOUT_SECONDS) as response:
            body = response.read(limit + 1)
            cache_control = response.headers.get("Cache-Control", "")
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise KeysUnavailable(
                f"The client's key set URL answered a redirect (HTTP {error.code}), which is not followed: "
                "register the URL the key set is served at."
            ) from None
        raise KeysUnavailable(f"The client's key set URL answered HTTP {error.code}.") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise KeysUnavailable(f"The client's key set URL could not be reached ({reason}).") from None
    if len(body) > limit:
        raise KeysUnavailable("The client's key set is larger than 32 KB.")
    from portal.fhir.clients.services import jwks_parse

    try:
        jwks = jwks_parse(body.decode("utf-8", errors="replace"))
    except ValidationError as error:
        problems = "; ".join(m for messages in error.message_dict.values() for m in messages)
        raise KeysUnavailable(f"The client's key set URL does not serve a usable key set: {problems}") from None
    seconds = settings.FHIR_JWKS_CACHE_SECONDS
    if NO_STORE.search(cache_control):
        seconds = 0
    found = MAX_AGE.search(cache_control)
    if found is not None:
        seconds = min(seconds, int(found.group(1)))
    return jwks, seconds


def _fetched(client: ApiClient) -> dict[str, Any]:
    jwks, seconds = jwks_fetch(client.jwks_uri)
    if seconds > 0:
        _cache_set(_cache_key(client), json.dumps(jwks), seconds)
    return jwks


def client_keys(client: ApiClient, kid: str | None) -> list[dict[str, Any]]:
    """The client's keys that may have signed an assertion with this ``kid`` (all of them
    when it names none); a URL's set is fetched again once when the cached one lacks it."""
    if not client.jwks_uri:
        return _matching(client.jwks, kid)
    cached = _cache_get(_cache_key(client))
    if cached is not None:
        keys = _matching(json.loads(cached), kid)
        if keys or not _may_refetch(client):
            return keys
    return _matching(_fetched(client), kid)


def _matching(jwks: dict[str, Any], kid: str | None) -> list[dict[str, Any]]:
    return [key for key in jwks.get("keys", []) if kid is None or key.get("kid") == kid]
