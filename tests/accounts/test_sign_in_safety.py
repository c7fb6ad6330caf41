"""Terms at first sign-in, the TOTP gate before any patient, lockout, idle timeout."""

import time

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.demo import demo_totp_code
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.demo.cast import DEMO_PASSWORD


def _login(client, email, password=DEMO_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_clinician_sees_no_patient_before_the_second_factor(cast, anonymous):
    client = anonymous(cast.organizations["maple"])
    assert _login(client, "peter.park@maple.example").status_code == 302
    for path in ("/", "/patients/", f"/patients/{cast.patients['maria'].uuid}/", "/api/v1/patients/search/"):
        response = client.get(path)
        assert response.status_code in (302, 403), path
        if response.status_code == 302:
            assert "/accounts/second-factor/" in response["Location"]
        else:
            assert response.json()["detail"]
    wrong = client.post("/accounts/second-factor/", {"token": "000000" if demo_totp_code() != "000000" else "111111"})
    assert "not right" in wrong.content.decode()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(detail__step="totp_code_wrong").exists()
    time.sleep(1.1)  # django-otp throttles the next attempt after a wrong code (1 s, doubling)
    client.post("/accounts/second-factor/", {"token": demo_totp_code()})
    assert client.get("/").status_code == 200


def test_new_admin_enrolls_totp_with_a_qr_code_before_anything_else(cast, anonymous):
    maple = cast.organizations["maple"]
    admin = cast.users["maple_admin"]
    TOTPDevice.objects.filter(user=admin).delete()
    client = anonymous(maple)
    _login(client, admin.email)
    assert "/accounts/second-factor/" in client.get("/admin/users/")["Location"]
    setup = client.get("/accounts/second-factor/", follow=True)
    body = setup.content.decode()
    assert "<svg" in body and "Set up your second factor" in body
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    code = f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"
    done = client.post("/accounts/second-factor/setup/?next=/admin/users/", {"token": code, "next": "/admin/users/"})
    assert done.status_code == 302 and done["Location"] == "/admin/users/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/users/").status_code == 200


def test_staff_without_clinical_role_needs_no_second_factor_but_accepts_terms(cast, anonymous):
    from portal.accounts.models import Membership

    maple = cast.organizations["maple"]
    user = User.objects.create_user("front.desk@maple.example", DEMO_PASSWORD, full_name="Fran Desk")
    Membership.objects.create(user=user, organization=maple, role="staff")
    client = anonymous(maple)
    _login(client, user.email)
    assert "/accounts/terms/" in client.get("/")["Location"]
    client.post("/accounts/terms/", {"accept": "on", "next": "/"})
    user.refresh_from_db()
    assert user.terms_accepted_version
    assert client.get("/").status_code == 200


def test_repeated_wrong_passwords_lock_the_account_even_with_the_right_one(cast, settings):
    maple = Client(HTTP_HOST="maple.localhost")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(maple, "peter.park@maple.example", "wrong-password-here")
    locked = _login(maple, "peter.park@maple.example")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in maple.session
    assert AuditEvent.objects.filter(detail__step="locked_out", detail__email="peter.park@maple.example").exists()
    # The lock is per account, at every address, and other accounts are unaffected.
    assert _login(Client(HTTP_HOST="maple.localhost"), "Peter.Park@maple.example").status_code == 429
    assert _login(Client(HTTP_HOST="maple.localhost"), "dana.moss@maple.example").status_code == 302


def test_idle_session_ends_after_the_configured_time(cast, anonymous, settings):
    settings.SESSION_COOKIE_AGE = 2
    client = anonymous(cast.organizations["maple"])
    _login(client, "peter.park@maple.example")
    client.post("/accounts/second-factor/", {"token": demo_totp_code()})
    assert client.get("/").status_code == 200
    time.sleep(1.2)
    assert client.get("/").status_code == 200  # activity keeps it alive
    time.sleep(1.2)
    assert client.get("/").status_code == 200
    time.sleep(2.5)
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_session_in_use_is_written_again_only_once_a_tenth_of_its_timeout_has_passed(cast, anonymous, settings):
    """Keeping a session alive costs a write to Redis (and a cookie) at most every tenth of
    the idle timeout (a minute at most), not on every request."""
    # A tenth of 20 s is 2 s: long enough that two requests in a row on a loaded machine fall
    # inside it, short enough to wait out.
    settings.SESSION_COOKIE_AGE = 20
    client = anonymous(cast.organizations["maple"])
    _login(client, "peter.park@maple.example")
    client.post("/accounts/second-factor/", {"token": demo_totp_code()})
    assert client.get("/").status_code == 200
    quiet = client.get("/")
    assert quiet.status_code == 200 and settings.SESSION_COOKIE_NAME not in quiet.cookies
    time.sleep(2.1)
    refreshed = client.get("/")
    assert refreshed.status_code == 200 and settings.SESSION_COOKIE_NAME in refreshed.cookies
    assert refreshed.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 20


def test_the_gate_shows_no_navigation_or_bell_and_a_polling_bell_is_redirected_not_pasted(cast, anonymous):
    """Before the second factor the page is the gate alone; the bell's HTMX poll (from a page
    left open) gets an HX-Redirect to the gate, never the gate's whole page as its fragment."""
    client = anonymous(cast.organizations["maple"])
    _login(client, "peter.park@maple.example")
    gate = client.get("/accounts/second-factor/").content.decode()
    assert 'id="bell"' not in gate and 'class="mainnav"' not in gate and "Sign out" in gate
    poll = client.get("/notifications/bell/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and poll["HX-Redirect"] == "/accounts/second-factor/"
    client.post("/accounts/second-factor/", {"token": demo_totp_code()})
    home = client.get("/").content.decode()
    assert 'id="bell"' in home and 'class="mainnav"' in home
    assert client.get("/notifications/bell/", HTTP_HX_REQUEST="true").status_code == 200
