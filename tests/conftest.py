"""The test cast, addresses and helpers shared by the whole suite.

Schemas and the fixed cast are built once per session and committed in the test
database (so real Celery workers and the browser's server see them); every ordinary
test runs in a transaction that is rolled back.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# One Celery queue of our own, so a running demo's worker never takes the suite's tasks.
os.environ.setdefault("CELERY_QUEUE", f"continuum-test-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    from portal.demo.seed import seed_foundation

    with django_db_blocker.unblock():
        seed_foundation()
    yield


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    yield
    from django.db import connection

    connection.set_schema_to_public()


@pytest.fixture
def cast(db: None) -> Any:
    """The fixed cast of STYLE.md, read back from the seeded database."""
    from portal.demo.seed import seed_foundation

    return seed_foundation()


def host_of(organization: Any) -> str:
    from tenants.addresses import organization_host

    if organization.is_network:
        from django.conf import settings

        return settings.BASE_DOMAIN
    return organization_host(organization.slug)


@pytest.fixture
def sign_in(client: Any) -> Callable[[Any, Any], Any]:
    """``sign_in(user, organization)``: a test client with a session at that address."""
    from django.test import Client
    from django_tenants.utils import schema_context

    from portal.accounts.middleware import SESSION_SCHEMA_KEY

    def _sign_in(user: Any, organization: Any) -> Client:
        new_client = Client(HTTP_HOST=host_of(organization))
        # Cache keys (sessions included) carry the schema: write the session in the
        # organization's schema, as a sign-in at its address would.
        with schema_context(organization.schema_name):
            new_client.force_login(user, backend="portal.accounts.backends.OrganizationMembershipBackend")
            session = new_client.session
            session[SESSION_SCHEMA_KEY] = organization.schema_name
            session.save()
        return new_client

    return _sign_in


@pytest.fixture
def anonymous() -> Callable[[Any], Any]:
    from django.test import Client

    return lambda organization: Client(HTTP_HOST=host_of(organization))
