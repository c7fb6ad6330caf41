"""Site admins' reads of their organization's API clients."""

from __future__ import annotations

import uuid as uuid_module

from django.db.models import QuerySet

from portal.fhir.models import ApiClient
from tenants.models import Organization


def api_clients_for_admin(*, organization: Organization) -> QuerySet[ApiClient]:
    """The organization's clients, active ones first, newest first."""
    return (
        ApiClient.objects.filter(organization=organization)
        .select_related("created_by", "revoked_by", "import_as")
        .order_by("revoked_at", "-created_at")
    )


def api_client_for_admin(*, organization: Organization, uuid: str) -> ApiClient | None:
    """One of the organization's clients; None for another organization's or a missing one."""
    try:
        wanted = uuid_module.UUID(str(uuid))
    except ValueError:
        return None
    return ApiClient.objects.filter(organization=organization, uuid=wanted).first()
