"""Where an organization answers: ``<slug>.<base domain>``, and links to it."""

from __future__ import annotations

from django.conf import settings


def organization_host(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def schema_name_for(slug: str) -> str:
    return "org_" + slug.replace("-", "_")


def absolute_url(host: str, path: str = "/") -> str:
    """An absolute link to a path at one address, for emails and printed logins."""
    port = f":{settings.PORTAL_PORT}" if settings.PORTAL_PORT else ""
    return f"{settings.PORTAL_SCHEME}://{host}{port}{path}"
