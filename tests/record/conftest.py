import pytest
from django_tenants.utils import schema_context

from portal.patients.models import RegistryEntry


@pytest.fixture
def maria_entry(cast):
    """A published Northfield result on Maria Alvarez's record (seeded for the session)."""
    return RegistryEntry.objects.filter(
        patient=cast.patients["maria"], organization=cast.organizations["northfield"], kind="lab_result"
    ).first()


@pytest.fixture
def northfield_schema(cast):
    with schema_context(cast.organizations["northfield"].schema_name):
        yield cast.organizations["northfield"]
