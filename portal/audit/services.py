"""Writing audit events. Every read of clinical data, grant and export comes through here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django.http import HttpRequest

from portal.audit.models import AuditAction, AuditEvent, AuditOutcome

if TYPE_CHECKING:
    from collections.abc import Sequence

    from portal.accounts.models import User
    from portal.patients.models import NetworkPatient
    from tenants.models import Organization


def _client(request: HttpRequest | None) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    address = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
    return address or None, request.META.get("HTTP_USER_AGENT", "")[:200]


class NamedActor(Protocol):
    """An actor that is not a person (an API client of the FHIR endpoint): the log keeps no
    account for it and names it by its ``audit_label``."""

    @property
    def audit_label(self) -> str: ...


def _actor_label(actor: User | NamedActor | None) -> str:
    """A person's email at the time; an API client names itself (``audit_label``)."""
    return str(getattr(actor, "audit_label", "") or getattr(actor, "email", "") or "")


def _person(actor: User | NamedActor | None) -> User | None:
    """The account to link the event to: a person's, never an API client's."""
    return actor if getattr(actor, "pk", None) and not hasattr(actor, "audit_label") else None


def request_client(request: HttpRequest | None) -> tuple[str | None, str]:
    """(address, user agent) of a request, as audit events record them."""
    return _client(request)


def audit_record(
    *,
    action: str,
    actor: User | NamedActor | None = None,
    organization: Organization | None = None,
    request: HttpRequest | None = None,
    outcome: str = AuditOutcome.ALLOWED,
    object_type: str = "",
    object_id: object = "",
    patient: NetworkPatient | None = None,
    data_owner: Organization | None = None,
    emergency: bool = False,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if organization is None and request is not None:
        organization = getattr(request, "tenant", None)
    ip_address, user_agent = _client(request)
    return AuditEvent.objects.create(
        action=action,
        actor=_person(actor),
        actor_label=_actor_label(actor),
        acting_organization=organization,
        outcome=outcome,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient=patient,
        data_owner=data_owner,
        emergency=emergency,
        ip_address=ip_address,
        user_agent=user_agent,
        detail=detail or {},
    )


def audit_records(*, data_owners: Sequence[Organization | None], **fields: Any) -> list[AuditEvent]:
    """One event per data owner (``audit_record``'s arguments otherwise), written in one
    statement: a read that returned several organizations' data is in each one's log."""
    request = fields.pop("request", None)
    actor = fields.pop("actor", None)
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    organization = fields.pop("organization", None)
    if organization is None and request is not None:
        organization = getattr(request, "tenant", None)
    ip_address, user_agent = _client(request)
    object_id = fields.pop("object_id", "")
    detail = fields.pop("detail", None) or {}
    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=_person(actor),
                actor_label=_actor_label(actor),
                acting_organization=organization,
                object_id=str(object_id or ""),
                data_owner=owner,
                ip_address=ip_address,
                user_agent=user_agent,
                detail=detail,
                **fields,
            )
            for owner in data_owners
        ]
    )


__all__ = ["AuditAction", "AuditOutcome", "NamedActor", "audit_record", "audit_records", "request_client"]
