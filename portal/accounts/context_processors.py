from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from portal.accounts.models import Membership


def _nav_items(request: HttpRequest, membership: Membership | None) -> list[dict[str, str]]:
    """The main navigation, for what the signed-in person may use here: every item leads to
    a page that answers them (tests/foundation/test_navigation.py walks them all).

    Clinicians: the shared record, messages (clinical staff only) and referrals and tasks
    (clinical roles only), tumor boards (clinical roles only). Site admins: their users, the access log, and the scorecard (the
    one care page open to every member). The network admin, at the network's address: the
    partner console."""
    tenant = getattr(request, "tenant", None)
    items: list[dict[str, str]] = []
    if tenant is not None and tenant.is_network:
        if getattr(request.user, "is_network_admin", False):
            items.append({"label": "Partners", "url": "/console/"})
    elif membership is not None:
        if membership.is_clinical:
            items.append({"label": "Patients", "url": "/patients/"})
            items.append({"label": "Messages", "url": "/messages/"})
            items.append({"label": "Referrals & tasks", "url": "/care/"})
            items.append({"label": "Tumor boards", "url": "/boards/"})
        if membership.is_admin:
            items.append({"label": "Users", "url": "/admin/users/"})
            items.append({"label": "Access log", "url": "/audit/"})
            if not membership.is_clinical:
                items.append({"label": "Scorecard", "url": "/care/scorecard/"})
    for item in items:
        item["current"] = "page" if request.path.startswith(item["url"]) else ""
    return items


def portal(request: HttpRequest) -> dict[str, Any]:
    from portal.accounts.middleware import past_sign_in_gate

    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    # Before the terms and the second factor, the page shows the gate only: no navigation,
    # no notification bell (whose polling would run into the gate).
    signed_in = past_sign_in_gate(request)
    return {
        "organization": tenant if tenant is not None and not tenant.is_network else None,
        "on_network_address": tenant is not None and tenant.is_network,
        "membership": membership,
        "past_sign_in_gate": signed_in,
        "nav_items": _nav_items(request, membership) if signed_in else [],
    }
