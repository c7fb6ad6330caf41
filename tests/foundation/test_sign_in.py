"""Signing in at an organization's address, and refusals."""

import pytest
from django.core import mail

from portal.accounts.middleware import SESSION_SCHEMA_KEY
from portal.audit.models import AuditEvent
from portal.demo.cast import DEMO_PASSWORD


def _login(client, email, password=DEMO_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def _second_factor(client, email):
    """The code of the seeded cast's demo authenticator, entered as a person would."""
    from portal.accounts.demo import demo_totp_code
    from portal.accounts.models import User

    code = demo_totp_code(user=User.objects.get(email=email))
    return client.post("/accounts/second-factor/", {"token": code})


def test_member_signs_in_at_their_organization_and_sees_their_home(cast, anonymous):
    client = anonymous(cast.organizations["maple"])
    response = _login(client, "peter.park@maple.example")
    assert response.status_code == 302
    assert client.session[SESSION_SCHEMA_KEY] == cast.organizations["maple"].schema_name
    assert "/accounts/second-factor/" in client.get("/")["Location"]  # a clinician needs the second factor
    _second_factor(client, "peter.park@maple.example")
    home = client.get("/")
    body = home.content.decode()
    assert "Good to see you, Peter" in body
    assert "Primary-care physician at Maple Family Medicine" in body


def test_member_of_another_organization_is_refused_with_a_clear_message_and_no_session(cast, anonymous):
    client = anonymous(cast.organizations["maple"])
    response = _login(client, "carla.chen@cedarvalley.example")
    assert response.status_code == 200
    assert "You do not have an active account at Maple Family Medicine" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # back to sign-in
    assert AuditEvent.objects.filter(action="sign_in_refused", actor_label="").exists()


def test_wrong_password_is_refused_without_saying_whether_the_account_exists(cast, anonymous):
    client = anonymous(cast.organizations["maple"])
    response = _login(client, "peter.park@maple.example", "not-the-password")
    assert "do not match an account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_session_from_one_address_is_not_valid_at_another(cast, sign_in):
    park = cast.users["park"]
    client = sign_in(park, cast.organizations["maple"])
    assert client.get("/").status_code == 200
    # Same session cookie presented at Cedar Valley's address: refused and signed out.
    response = client.get("/", HTTP_HOST="cedarvalley.localhost")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_only_network_admins_sign_in_at_the_network_address(cast, anonymous):
    client = anonymous(cast.network)
    refused = _login(client, "olivia.okafor@northfield.example")
    assert "Only network administrators" in refused.content.decode()
    accepted = _login(client, "nora.quinn@network.example")
    assert accepted.status_code == 302
    _second_factor(client, "nora.quinn@network.example")
    page = client.get("/", follow=True).content.decode()
    assert "Northfield Cancer Institute" in page and "Cedar Valley Clinic" in page


def test_deactivated_membership_ends_an_open_session(cast, sign_in):
    from portal.accounts.models import Membership

    client = sign_in(cast.users["park"], cast.organizations["maple"])
    Membership.objects.filter(user=cast.users["park"]).update(status="deactivated")
    assert client.get("/").status_code == 302


def test_passwords_are_hashed_with_argon2(cast):
    assert cast.users["park"].password.startswith("argon2")


@pytest.mark.parametrize("password", ["short", "password1234", "123456789012"])
def test_weak_passwords_are_refused_by_the_validators(cast, password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password(password, user=cast.users["park"])


def test_password_reset_mails_a_link_to_members_of_this_address_only(cast, anonymous, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    maple = anonymous(cast.organizations["maple"])
    maple.post("/accounts/password-reset/", {"email": "carla.chen@cedarvalley.example"})
    assert mail.outbox == []
    response = maple.post("/accounts/password-reset/", {"email": "peter.park@maple.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["peter.park@maple.example"]
    assert "http://maple.localhost/accounts/reset/" in message.body
