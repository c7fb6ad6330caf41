"""SMART scopes: one parser for the v1 and v2 syntax, and the one question every FHIR
interaction asks of them.

``system/Observation.read`` (v1) and ``system/Observation.rs`` (v2) say the same thing:
read and search Observations. v1 ``write`` is v2 ``cud``; ``*`` (v1) is ``cruds``. A
resource type may be ``*``. Only the ``system`` context exists here (a backend service acts
for its organization, never for a patient or a user); v2 query parameters
(``system/Observation.rs?category=laboratory``) are not supported and refused.

Scopes narrow what the organization's access rule allows, never widen it: ``allows`` is
asked *after* nothing and *before* the access rule, and a session of the portal (a person
signed in) carries no scopes — the access rule alone decides for it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

    from portal.fhir.models import ApiClient
    from tenants.models import Organization

# v2 letters, in the order the syntax requires them.
LETTERS = "cruds"
V1 = {"read": "rs", "write": "cud", "*": "cruds"}
# What each interaction of the endpoint needs.
INTERACTIONS = {
    "create": "c",
    "read": "r",
    "vread": "r",
    "history": "r",
    "update": "u",
    "delete": "d",
    "search": "s",
}
SCOPE = re.compile(r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<access>[A-Za-z*]+)$")


class ScopeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Scope:
    resource_type: str  # a type, or "*"
    letters: str  # a subset of "cruds", in that order

    def covers(self, other: Scope) -> bool:
        return self.resource_type in ("*", other.resource_type) and set(other.letters) <= set(self.letters)

    def __str__(self) -> str:
        return f"system/{self.resource_type}.{self.letters}"


def parse_scope(text: str) -> Scope:
    """One scope, either syntax; ``ScopeError`` says what is wrong with it."""
    if "?" in text:
        raise ScopeError(f"{text}: scopes with query parameters are not supported.")
    match = SCOPE.match(text)
    if match is None:
        raise ScopeError(f"{text}: not a SMART scope (system/<Type or *>.<read | write | * | cruds letters>).")
    if match["context"] != "system":
        raise ScopeError(f"{text}: a backend service has system scopes only.")
    access = match["access"]
    letters = V1.get(access)
    if letters is None:
        if not access or any(c not in LETTERS for c in access) or len(set(access)) != len(access):
            raise ScopeError(f"{text}: the access part is read, write, * or letters of c r u d s.")
        if "".join(c for c in LETTERS if c in access) != access:
            raise ScopeError(f"{text}: v2 letters come in the order c r u d s.")
        letters = access
    return Scope(resource_type=match["type"], letters=letters)


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """Scopes separated by spaces (duplicates kept once); ``ScopeError`` on the first bad one."""
    found: list[Scope] = []
    for part in (text or "").split():
        scope = parse_scope(part)
        if scope not in found:
            found.append(scope)
    return tuple(found)


def canonical(scopes: Iterable[Scope]) -> str:
    return " ".join(str(scope) for scope in scopes)


@dataclass(frozen=True, slots=True)
class ScopeSet:
    scopes: tuple[Scope, ...]

    @classmethod
    def of(cls, text: str) -> ScopeSet:
        return cls(parse_scopes(text))

    def allows(self, resource_type: str, interaction: str) -> bool:
        letter = INTERACTIONS[interaction]
        return any(scope.resource_type in ("*", resource_type) and letter in scope.letters for scope in self.scopes)

    def types_allowed(self, types: Iterable[str], interaction: str) -> set[str]:
        return {resource_type for resource_type in types if self.allows(resource_type, interaction)}

    def covers(self, scope: Scope) -> bool:
        return any(mine.covers(scope) for mine in self.scopes)

    def __str__(self) -> str:
        return canonical(self.scopes)


@dataclass(frozen=True)
class ClientPrincipal:
    """A backend client acting at its organization's address: the organization itself (what
    its clinicians may see together through its care relationships — no one's emergency
    access), narrowed by the token's scopes."""

    client: ApiClient
    organization: Organization
    scopes: ScopeSet
    # Read like a user by code that asks ``is_authenticated`` or ``pk``: never a person.
    is_authenticated = True
    pk = None

    @property
    def audit_label(self) -> str:
        """How the audit log names the actor (``portal.audit.services``)."""
        return self.client.label


def allows(principal: object, resource_type: str, interaction: str) -> bool:
    """May this principal do ``interaction`` (create, read, vread, history, update, delete,
    search) on ``resource_type`` as far as scopes go? A person's session has no scopes (the
    access rule alone decides); a client needs a scope that covers it. The organization's
    access rule is asked afterwards either way: this never widens it."""
    if isinstance(principal, ClientPrincipal):
        return principal.scopes.allows(resource_type, interaction)
    return True


# The client a request acts as, once its bearer token is accepted (portal.fhir.clients.access),
# kept beside the request rather than as an attribute Django's request does not declare; gone
# with the request.
_PRINCIPALS: weakref.WeakKeyDictionary[HttpRequest, ClientPrincipal] = weakref.WeakKeyDictionary()


def principal_attach(request: HttpRequest, principal: ClientPrincipal) -> None:
    _PRINCIPALS[request] = principal


def request_principal(request: HttpRequest | None) -> ClientPrincipal | None:
    """The API client this request acts as, or None (a person's session, or no request)."""
    return _PRINCIPALS.get(request) if request is not None else None
