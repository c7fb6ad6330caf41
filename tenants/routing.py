"""The per-process cache of addresses (hostname → organization) that the routing middleware
reads; a service that changes an organization's schema or address empties it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Organization

routing_cache: dict[str, tuple[float, Organization]] = {}


def clear_routing_cache() -> None:
    routing_cache.clear()
