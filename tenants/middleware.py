"""Tenant routing that looks the address up once, from a per-process cache.

django-tenants' own middleware reads the domain table on every request; under load
that query is most of the cost of a small page. Here the hostname maps to the
organization through a small in-process cache that expires after
``TENANT_ROUTING_CACHE_SECONDS``; status checks (suspended, offboarded) do not depend
on it, because sign-in and the session middleware read the membership fresh.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, get_tenant_domain_model

from tenants.connection import tenant_connection
from tenants.routing import clear_routing_cache, routing_cache

if TYPE_CHECKING:
    from portal.accounts.typing import TenantRequest
    from tenants.models import Domain, Organization

__all__ = ["CachedTenantMiddleware", "clear_routing_cache"]


class CachedTenantMiddleware(TenantMainMiddleware):
    def process_request(self, request: TenantRequest) -> HttpResponse | None:
        """django-tenants' routing, minus the work a cache hit does not need: no switch to
        the public schema first (only a miss reads the domain table), and no schema switch
        at all when the connection already serves this organization (which also keeps the
        content-type cache that every switch empties)."""
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        hit = routing_cache.get(hostname)
        if hit is not None and hit[0] > time.monotonic():
            tenant = hit[1]
        else:
            tenant_connection.set_schema_to_public()
            domain_model = get_tenant_domain_model()
            try:
                tenant = self.get_tenant(domain_model, hostname)
            except domain_model.DoesNotExist:
                return self.no_tenant_found(request, hostname)
        tenant.domain_url = hostname
        request.tenant = tenant
        if tenant_connection.tenant is not tenant or tenant_connection.schema_name != tenant.schema_name:
            tenant_connection.set_tenant(tenant)
        if tenant.schema_name == get_public_schema_name():
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        return None

    def get_tenant(self, domain_model: type[Domain], hostname: str) -> Organization:
        ttl = settings.TENANT_ROUTING_CACHE_SECONDS
        now = time.monotonic()
        hit = routing_cache.get(hostname)
        if hit is not None and hit[0] > now:
            return hit[1]
        tenant = super().get_tenant(domain_model, hostname)
        if ttl:
            routing_cache[hostname] = (now + ttl, tenant)
        return tenant
