"""Refused reads go to the audit log.

A signed-in person who asks for something at an organization's address and gets "not
found" was refused (forbidden and missing answer the same, so the log cannot tell which,
and neither can they): the request is written as a denied event — who, which route, the
ids asked, from where — after the view's own transaction is over, so the event stays even
when the view's work was rolled back. Someone refused again and again within a few
minutes is reported once to their organization's site admins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent, AuditOutcome
from portal.audit.services import audit_record

if TYPE_CHECKING:
    from portal.accounts.models import User
    from tenants.models import Organization

DENIAL_WINDOW = dt.timedelta(minutes=10)
DENIALS_BEFORE_ALERT = 5
ALERT_OBJECT_TYPE = "denied_reads_alert"


class DeniedReadAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 404:
            try:
                denied_read_record(request)
            except Exception:  # the answer stays a 404 whatever happens to its audit  # noqa: BLE001
                import logging

                logging.getLogger("portal.audit").exception("could not record a refused read")
        return response


def denied_read_record(request: HttpRequest) -> AuditEvent | None:
    user = getattr(request, "user", None)
    organization = getattr(request, "tenant", None)
    match = getattr(request, "resolver_match", None)
    if user is None or not user.is_authenticated or organization is None or match is None:
        return None
    if getattr(organization, "is_network", False) and not match.kwargs:
        return None
    ids = {name: str(value)[:64] for name, value in match.kwargs.items()}
    event = audit_record(
        action=AuditAction.READ,
        request=request,
        outcome=AuditOutcome.DENIED,
        object_type=(match.view_name or "page")[:60],
        object_id=next(iter(ids.values()), ""),
        detail={"route": match.route[:200], "ids": ids, "method": request.method},
    )
    _alert_if_repeated(user=user, organization=organization)
    return event


def _alert_if_repeated(*, user: User, organization: Organization) -> None:
    """Tell the organization's site admins once per window that a person keeps being refused."""
    from portal.accounts.models import Membership
    from portal.notifications.services import notification_send

    since = timezone.now() - DENIAL_WINDOW
    recent = AuditEvent.objects.filter(actor=user, outcome=AuditOutcome.DENIED, occurred_at__gte=since)
    if recent.filter(action=AuditAction.READ).count() < DENIALS_BEFORE_ALERT:
        return
    if recent.filter(action=AuditAction.ADMIN, object_type=ALERT_OBJECT_TYPE).exists():
        return
    audit_record(
        action=AuditAction.ADMIN,
        actor=user,
        organization=organization,
        outcome=AuditOutcome.DENIED,
        object_type=ALERT_OBJECT_TYPE,
        data_owner=organization,
        detail={"window_minutes": int(DENIAL_WINDOW.total_seconds() // 60)},
    )
    admins = [
        m.user
        for m in Membership.objects.active().filter(organization=organization).select_related("user")
        if m.is_admin
    ]
    if admins:
        notification_send(
            recipients=admins,
            kind="denied_reads",
            title=f"{user.display_name} was refused {DENIALS_BEFORE_ALERT} or more records within "
            f"{int(DENIAL_WINDOW.total_seconds() // 60)} minutes",
            link="/audit/?denied=1",
            organization=organization,
            urgent=True,
        )
