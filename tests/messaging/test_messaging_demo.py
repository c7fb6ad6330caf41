"""The demo threads: Okafor ↔ Park about Maria, a pool message to Maple, an urgent one; idempotent."""

from portal.messaging import demo
from tests.messaging.helpers import snapshot


def test_demo_threads_are_seeded_once(cast):
    demo.seed(cast)
    first = snapshot()
    demo.seed(cast)
    assert snapshot() == first
    from portal.messaging.models import Participant, Thread

    threads = Thread.objects.filter(patient=cast.patients["maria"])
    assert threads.count() == 3
    assert threads.filter(urgent=True).count() == 1
    assert Participant.objects.filter(thread__in=threads, user__isnull=True, organization__slug="maple").exists()
    okafor_park = threads.get(subject="Follow-up labs after cycle 3")
    assert list(okafor_park.messages.values_list("sender__full_name", flat=True)) == ["Olivia Okafor", "Peter Park"]
