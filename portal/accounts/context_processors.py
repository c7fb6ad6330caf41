from typing import Any

from django.http import HttpRequest


def _nav_items(request: HttpRequest, membership: Any) -> list[dict[str, str]]:
    """The main navigation at an organization's address, for the member's role."""
    if membership is None:
        return []
    items = []
    if membership.is_clinical:
        items.append({"label": "Patients", "url": "/patients/"})
    items.append({"label": "Messages", "url": "/messages/"})
    items.append({"label": "Referrals & tasks", "url": "/care/"})
    if membership.is_admin:
        items.append({"label": "Users", "url": "/admin/users/"})
        items.append({"label": "Access log", "url": "/audit/"})
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
