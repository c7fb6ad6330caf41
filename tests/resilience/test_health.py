"""/healthz and /readyz answer at every address, with no session and nothing cached."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize("host", ["localhost", "maple.localhost", "unknown.localhost", "127.0.0.1"])
def test_health_answers_at_every_address_without_a_session(db, host):
    client = Client(HTTP_HOST=host)
    health = client.get("/healthz")
    ready = client.get("/readyz")
    assert health.status_code == 200 and ready.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert health["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in health and not health.cookies


def test_sessions_live_in_postgresql_and_hold_their_organization(cast, sign_in):
    from django.contrib.sessions.models import Session

    from portal.accounts.middleware import SESSION_SCHEMA_KEY

    client = sign_in(cast.users["park"], cast.organizations["maple"])
    key = client.cookies["continuum_session"].value
    stored = Session.objects.get(session_key=key).get_decoded()
    assert stored[SESSION_SCHEMA_KEY] == cast.organizations["maple"].schema_name
    assert client.get("/").status_code == 200


def test_expired_sessions_are_cleared_and_live_ones_kept(cast, sign_in):
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from portal.accounts.services import sessions_clear_expired

    live = sign_in(cast.users["park"], cast.organizations["maple"]).cookies["continuum_session"].value
    old = sign_in(cast.users["okafor"], cast.organizations["northfield"]).cookies["continuum_session"].value
    Session.objects.filter(session_key=old).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert sessions_clear_expired() >= 1
    assert not Session.objects.filter(session_key=old).exists()
    assert Session.objects.filter(session_key=live).exists()
