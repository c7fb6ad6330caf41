"""The default database connection, typed with what django-tenants adds to it.

django-tenants' backend gives the connection a schema, a tenant and the calls that switch
them; django-stubs types ``django.db.connection`` as Django's own wrapper, which has none
of these. Code that reads or switches the schema uses ``tenant_connection`` (the same
thread-local proxy as ``django.db.connection``, cast once here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from django.db import connection

if TYPE_CHECKING:
    from tenants.models import Organization


class TenantConnection(Protocol):
    schema_name: str
    tenant: object  # an Organization, or django-tenants' FakeTenant after set_schema()

    def set_tenant(self, tenant: Organization, include_public: bool = True) -> None: ...

    def set_schema_to_public(self) -> None: ...


tenant_connection = cast(TenantConnection, connection)
