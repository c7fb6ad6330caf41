"""Tenant routing that looks the address up once, from a per-process cache.

django-tenants' own middleware reads the domain table on every request; under load
that query is most of the cost of a small page. Here the hostname maps to the
organization through a small in-process cache that expires after
``TENANT_ROUTING_CACHE_SECONDS``; status checks (suspended, offboarded) do not depend
on it, because sign-in and the session middleware read the membership fresh.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django_tenants.middleware.main import TenantMainMiddleware

_cache: dict[str, tuple[float, Any]] = {}


def clear_routing_cache() -> None:
    _cache.clear()


class CachedTenantMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        ttl = settings.TENANT_ROUTING_CACHE_SECONDS
        now = time.monotonic()
        hit = _cache.get(hostname)
        if hit is not None and hit[0] > now:
            return hit[1]
        tenant = super().get_tenant(domain_model, hostname)
        if ttl:
            _cache[hostname] = (now + ttl, tenant)
        return tenant
