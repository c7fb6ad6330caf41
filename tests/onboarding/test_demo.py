"""The console's demo data is seeded once."""

from tenants import demo
from tenants.models import Agreement


def test_demo_agreements_are_seeded_idempotently(cast):
    demo.seed(cast)
    count = Agreement.objects.count()
    assert count >= 2 * len(cast.organizations)
    demo.seed(cast)
    assert Agreement.objects.count() == count
