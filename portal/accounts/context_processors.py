from typing import Any

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    return {
        "organization": tenant if tenant is not None and not tenant.is_network else None,
        "on_network_address": tenant is not None and tenant.is_network,
        "membership": getattr(request, "membership", None),
    }
