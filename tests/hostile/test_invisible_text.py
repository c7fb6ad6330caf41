"""Text of invisible characters only (zero-width spaces and joiners, the word joiner, the
byte-order mark, the soft hyphen, direction controls) is empty text: a page form shows its
"required" error and writes nothing, the API answers 400 and writes nothing. Direction
controls are removed from what is stored; accents, other scripts and emoji are kept."""

from __future__ import annotations

import json
import unicodedata

import pytest
from django import forms as django_forms
from rest_framework import serializers

from portal.messaging.models import Message
from portal.text import INVISIBLE, INVISIBLE_RANGES, text_clean, text_is_blank
from tests.care.helpers import advance, maple_to_northfield
from tests.hostile.helpers import assert_api_error, everything
from tests.messaging.helpers import okafor_writes_park

# Every kind the issue names, and the look-alike blanks.
INVISIBLE_TEXTS = [
    "\u200b\u200b\u200b",
    "\u200c\u200d",
    "\u2060\ufeff",
    "\u00ad\u00ad",
    "\u202a\u202b\u202c\u202d\u202e",
    "\u2066\u2067\u2068\u2069",
    " \u200b\n\u200e\u200f\t\u3164\u2800 ",
]
BLANK = " \u200b\u2060\ufeff\u00ad\u202e\u2067 \u200d"


@pytest.mark.parametrize("text", INVISIBLE_TEXTS)
def test_invisible_only_text_is_empty(text):
    assert text_is_blank(text) and text_clean(text) == ""


def test_visible_text_keeps_accents_scripts_and_emoji_and_loses_direction_controls():
    assert text_clean(
        "  Zoë Ñúñez 李小龙 مرحبا 👩🏽\u200d⚕️ 🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f \u200b"
    ) == ("Zoë Ñúñez 李小龙 مرحبا 👩🏽\u200d⚕️ 🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f")
    assert text_clean("Give 10 mg \u202e01\u202c daily") == "Give 10 mg 01 daily"
    assert text_clean("\u2067\u05e9\u05dc\u05d5\u05dd\u2069 and\x00 more") == "\u05e9\u05dc\u05d5\u05dd and more"
    assert text_clean("line one\nline two") == "line one\nline two"


def test_the_written_out_invisible_set_is_what_unicodedata_says():
    visible_format = {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}
    blank_looking = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0}
    derived = {
        code
        for code in range(0x110000)
        if code not in visible_format
        and (chr(code).isspace() or code in blank_looking or unicodedata.category(chr(code)) == "Cf")
    }
    assert derived == set(INVISIBLE), INVISIBLE_RANGES


def _portal_classes(base):
    import importlib
    import pkgutil

    import portal
    import tenants

    for package in (portal, tenants):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in module.name or module.name.endswith(("settings.production", "wsgi")):
                continue
            if ".management." in module.name or module.name.startswith("portal.settings"):
                continue
            importlib.import_module(module.name)
    found, stack = set(), [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub.__module__.startswith(("portal.", "tenants.")):
                found.add(sub)
            stack.append(sub)
    return found


def test_every_form_of_the_portal_cleans_its_text():
    from portal.forms import CleanTextMixin

    forms = _portal_classes(django_forms.BaseForm)
    assert len(forms) > 25
    assert [f.__qualname__ for f in forms if not issubclass(f, CleanTextMixin)] == []


def test_every_serializer_that_takes_text_cleans_it():
    from portal.api.serializers import InputSerializer

    def takes_text(cls):
        if issubclass(cls, serializers.ListSerializer):
            return False
        try:
            fields = cls().fields
        except Exception:
            return False
        return any(isinstance(f, serializers.CharField) and not f.read_only for f in fields.values())

    takers = [s for s in _portal_classes(serializers.Serializer) if not s.__name__.endswith("Out") and takes_text(s)]
    assert len(takers) > 8
    assert [s.__qualname__ for s in takers if not issubclass(s, InputSerializer)] == []


# --- pages --------------------------------------------------------------------------


def _required(response):
    assert response.status_code in (200, 400), response.status_code
    html = response.content.decode()
    assert "This field is required" in html or "field-error" in html, html[:2000]


def test_a_message_of_invisible_characters_is_refused_on_the_pages(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    thread = okafor_writes_park(cast)
    before = everything()
    park_value = f"u:{cast.organizations['maple'].pk}:{cast.users['park'].pk}"
    compose = okafor.post(
        "/messages/new/",
        {"patient": str(cast.patients["maria"].uuid), "recipients": [park_value], "subject": BLANK, "body": BLANK},
    )
    _required(compose)
    reply = okafor.post(f"/messages/{thread.uuid}/reply/", {"body": BLANK})
    assert reply.status_code == 400
    assert everything() == before


def test_reasons_and_referral_questions_of_invisible_characters_are_refused_on_the_pages(cast, sign_in):
    from portal.care.models import Referral, ReferralState

    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = everything()
    _required(
        park.post(
            "/care/referrals/new/",
            {
                "patient": str(maria.uuid),
                "receiving_organization": cast.organizations["northfield"].pk,
                "specialty": BLANK,
                "priority": "routine",
            },
        )
    )
    assert everything() == before
    referral = advance(cast, maple_to_northfield(cast), "received")
    navarro = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    before = everything()
    declined = navarro.post(f"/care/referrals/{referral.uuid}/act/", {"action": "decline", "reason": BLANK})
    assert declined.status_code == 400 and b"Give a reason for declining." in declined.content
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.RECEIVED
    emergency = park.post(
        "/patients/emergency/",
        {"given_name": "Maria", "family_name": "Alvarez", "date_of_birth": "1961-04-12", "reason": BLANK},
    )
    _required(emergency)
    assert everything() == before


def test_names_of_invisible_characters_are_refused_at_registration(cast, sign_in, anonymous):
    from portal.accounts.services import invitation_create

    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    before = everything()
    registered = chen.post(
        "/patients/register/",
        {"given_name": BLANK, "family_name": "\u200b", "date_of_birth": "1980-01-01", "sex": "female", "mrn": "CV-9"},
    )
    _required(registered)
    assert everything() == before
    maple = cast.organizations["maple"]
    _invitation, link = invitation_create(
        organization=maple,
        email="new.nurse@maple.example",
        role="nurse_navigator",
        invited_by=cast.users["maple_admin"],
    )
    token = link.rstrip("/").rsplit("/", 1)[1]
    before = everything()
    password = "a-long-enough-passphrase-42"
    accepted = anonymous(maple).post(
        f"/accounts/invitation/{token}/",
        {"full_name": BLANK, "password": password, "password_again": password, "accept_terms": "on"},
    )
    _required(accepted)
    assert everything() == before


def test_a_withdrawal_reason_of_invisible_characters_withdraws_nothing(cast, sign_in):
    from django_tenants.utils import schema_context

    from portal.records.models import ClinicalItem, ItemStatus
    from portal.records.services import item_create

    maple = cast.organizations["maple"]
    with schema_context(maple.schema_name):
        item = item_create(
            user=cast.users["park"],
            organization=maple,
            patient=cast.patients["maria"],
            kind="problem",
            values={"effective_date": "2026-11-20", "name": "Hypertension", "problem_status": "active"},
            publish=True,
        )
    park = sign_in(cast.users["park"], maple)
    before = everything()
    response = park.post(f"/records/items/{item.pk}/withdraw/", {"reason": BLANK})
    with schema_context(maple.schema_name):
        assert ClinicalItem.objects.get(pk=item.pk).status == ItemStatus.PUBLISHED
    assert everything() == before
    assert "Say why the item is withdrawn." in park.get(response["Location"]).content.decode()


# --- API ----------------------------------------------------------------------------


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_invisible_text_is_a_400_in_the_api_and_writes_nothing(cast, sign_in):
    maria = cast.patients["maria"]
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    thread = okafor_writes_park(cast)
    referral = advance(cast, maple_to_northfield(cast), "received")
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    navarro = sign_in(cast.users["navarro"], northfield)
    park = sign_in(cast.users["park"], maple)
    before = everything()
    refusals = [
        (okafor, "/api/v1/threads/", {"subject": BLANK, "body": BLANK, "patient": str(maria.uuid),
                                       "participants": [{"organization": "maple", "user_id": cast.users["park"].pk}]}),
        (okafor, f"/api/v1/threads/{thread.uuid}/messages/", {"body": BLANK}),
        (okafor, "/api/v1/patients/search/", {"q": BLANK}),
        (okafor, "/api/v1/threads/search/", {"q": BLANK}),
        (navarro, f"/api/v1/referrals/{referral.uuid}/transition/", {"action": "decline", "reason": BLANK}),
        (park, "/api/v1/referrals/", {"patient": str(maria.uuid), "receiving_organization": str(northfield.uuid),
                                      "specialty": BLANK}),
        (park, "/api/v1/care-tasks/", {"patient": str(maria.uuid), "owner_organization": str(maple.uuid),
                                       "title": BLANK}),
        (okafor, "/api/v1/handoffs/", {"patient": str(maria.uuid), "to_organization": str(maple.uuid),
                                       "treatment_summary": BLANK, "items": [{"section": "x", "text": BLANK,
                                                                              "responsible": "oncology"}]}),
        (okafor, f"/api/v1/patients/{maria.uuid}/items/", {"kind": "note", "values": {
            "effective_date": "2026-11-20", "note_type": "progress", "subject": BLANK, "text": BLANK}}),
    ]  # fmt: skip
    for client, url, data in refusals:
        assert_api_error(_post(client, url, data), 400)
    assert everything() == before


def test_the_api_stores_text_without_direction_controls_and_keeps_the_rest(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    thread = okafor_writes_park(cast)
    sent = _post(
        okafor,
        f"/api/v1/threads/{thread.uuid}/messages/",
        {"body": "\u200bGive 10 mg \u202e01\u202c daily — Zoë, 李, 👩🏽\u200d⚕️\u200b"},
    )
    assert sent.status_code == 201, sent.content
    stored = Message.objects.filter(thread=thread).latest("created_at").body
    assert stored == "Give 10 mg 01 daily — Zoë, 李, 👩🏽\u200d⚕️"


def test_invisible_characters_around_an_email_neither_sign_in_past_a_lockout_nor_make_a_fresh_count(cast, settings):
    from django.test import Client

    from portal.demo.cast import DEMO_PASSWORD

    def login(email, password):
        return Client(HTTP_HOST="maple.localhost").post("/accounts/login/", {"username": email, "password": password})

    disguises = [
        "\u200bpeter.park@maple.example",
        "peter.park@maple.example\u2060",
        "\ufeffpeter.park@maple.example\u202e",
    ]
    for number in range(settings.AXES_FAILURE_LIMIT):
        login(disguises[number % len(disguises)], "wrong-password-here")
    for email in ["peter.park@maple.example", *disguises]:
        locked = login(email, DEMO_PASSWORD)
        assert locked.status_code == 429, email
