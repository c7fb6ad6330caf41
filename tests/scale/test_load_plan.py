"""The load benchmark's preparation (``bench/load_bench.py``) gives every step of the
simulated days something real to answer: played once here through the test client, with
the same steps the locust script sends, each answers 200 — the entry too, whose item the
preparation wrote and published in its owner's schema through the clinicians' services."""

from __future__ import annotations

from django.test import Client
from django_tenants.utils import schema_context

from bench.load_bench import prepare
from bench.load_steps import HOME, SECOND_FACTOR_PATH, SIGN_IN_PATH, Step, doctor_day, navigator_day
from portal.accounts.demo import demo_totp_code
from portal.audit.models import AuditEvent
from portal.care.models import Referral, ReferralState
from portal.demo.cast import Cast
from portal.notifications.models import Delivery
from portal.patients.models import RegistryEntry
from portal.records.models import ClinicalItem


def _signed_in(host: str, email: str, password: str) -> Client:
    """A real sign-in, as the locust script does it: password, then the TOTP code."""
    client = Client(HTTP_HOST=host)
    page = client.post(SIGN_IN_PATH, {"username": email, "password": password}, follow=True)
    assert page.redirect_chain[-1][0].startswith(SECOND_FACTOR_PATH)
    assert client.post(SECOND_FACTOR_PATH, {"token": demo_totp_code()})["Location"] == HOME.path
    return client


def _play(client: Client, steps: list[Step]) -> dict[str, str]:
    pages = {}
    for step in steps:
        if step.method == "GET":
            response = client.get(step.path, follow=True)
        else:
            response = client.post(step.path, step.data, follow=True)
        assert response.status_code == 200, step.name
        assert not response.redirect_chain or "/accounts/" not in response.redirect_chain[-1][0], step.name
        pages[step.name] = response.content.decode()
        assert step.expect in pages[step.name], step.name
    return pages


def test_every_step_of_a_prepared_day_answers_with_what_it_asked_for(cast: Cast) -> None:
    plan = prepare(pcps=1, navigators=1, referrals_per_level=1)
    maple = cast.organizations["maple"]
    assert plan["patients"]
    for patient in plan["patients"]:
        entry = RegistryEntry.objects.get(uuid=patient["entry"])
        assert entry.organization == maple and entry.published_by == cast.users["park"]
        with schema_context(maple.schema_name):  # the item the entry points at, in its owner's schema
            assert ClinicalItem.objects.filter(pk=entry.item_uuid, patient__uuid=patient["uuid"]).exists()

    doctor = plan["pcps"][0]
    patient = plan["patients"][0]
    pages = _play(
        _signed_in(plan["pcp_host"], doctor["email"], plan["password"]),
        [HOME, *doctor_day(patient=patient, thread=doctor["thread"])],
    )
    assert "Hemoglobin" in pages["an entry"]
    assert AuditEvent.objects.filter(
        action="read", object_type="item", actor__email=doctor["email"], patient__uuid=patient["uuid"]
    ).exists()

    navigator = plan["navigators"][0]
    referral = navigator["referrals"][0]
    # Its referrals wait for the daily digest: none is an email for the worker to send now.
    waiting = Delivery.objects.filter(notification__recipient__email=navigator["email"])
    assert waiting.exists() and not waiting.filter(digest=False).exists()
    _play(
        _signed_in(plan["navigator_host"], navigator["email"], plan["password"]),
        [HOME, *navigator_day(referral=referral, plan=plan)],
    )
    assert Referral.objects.get(uuid=referral).state == ReferralState.SCHEDULED


def test_preparing_again_publishes_nothing_new(cast: Cast) -> None:
    first = prepare(pcps=1, navigators=1, referrals_per_level=1)
    entries = RegistryEntry.objects.count()
    second = prepare(pcps=1, navigators=1, referrals_per_level=1)
    assert second["patients"] == first["patients"]
    assert RegistryEntry.objects.count() == entries
