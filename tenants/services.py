"""Creating organizations and their addresses."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from tenants.addresses import organization_host, schema_name_for
from tenants.models import Domain, Organization, OrganizationKind, OrganizationStatus


def network_ensure() -> Organization:
    """The network's own organization: the public schema, at the base domain."""
    network, _ = Organization.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={
            "name": "Continuum network",
            "slug": "network",
            "kind": OrganizationKind.NETWORK,
            "status": OrganizationStatus.ACTIVE,
        },
    )
    Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": network, "is_primary": True})
    return network


def organization_create(
    *, name: str, slug: str, kind: str, status: str = OrganizationStatus.ONBOARDING, npi: str = "", city: str = ""
) -> Organization:
    """Create an organization, its schema and its address.

    Creating the schema runs inside ``save()`` (django-tenants); the row and the
    address are written in one transaction.
    """
    with transaction.atomic():
        organization = Organization(
            schema_name=schema_name_for(slug), name=name, slug=slug, kind=kind, status=status, npi=npi, city=city
        )
        organization.save()
        Domain.objects.create(domain=organization_host(slug), tenant=organization, is_primary=True)
    return organization
