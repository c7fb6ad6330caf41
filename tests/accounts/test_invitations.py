"""Invitations: one-time, expiring links accepted at the organization's address."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from portal.accounts.models import Invitation, Membership, User
from portal.accounts.services import invitation_create

PASSWORD = "a-long-enough-passphrase-42"


def _token(link):
    return link.rstrip("/").rsplit("/", 1)[1]


def test_site_admin_invites_and_the_person_accepts_once(cast, sign_in, anonymous, django_capture_on_commit_callbacks):
    maple = cast.organizations["maple"]
    admin = sign_in(cast.users["maple_admin"], maple)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/users/invite/",
            {"email": "New.Nurse@Maple.example", "full_name": "Nia Nurse", "role": "nurse_navigator"},
        )
    assert response.status_code == 200
    invitation = Invitation.objects.get(organization=maple, email="new.nurse@maple.example")
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/invitation/" in line)
    assert "maple.localhost" in link
    token = _token(link)
    assert invitation.token_hash != token and token not in invitation.token_hash  # only a hash is stored

    visitor = anonymous(maple)
    form = visitor.get(f"/accounts/invitation/{token}/")
    assert form.status_code == 200 and "Join Maple Family Medicine" in form.content.decode()
    no_terms = visitor.post(
        f"/accounts/invitation/{token}/", {"full_name": "Nia Nurse", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert "Accept the terms of use" in no_terms.content.decode()
    assert not User.objects.filter(email="new.nurse@maple.example").exists()
    accepted = visitor.post(
        f"/accounts/invitation/{token}/",
        {"full_name": "Nia Nurse", "password": PASSWORD, "password_again": PASSWORD, "accept_terms": "on"},
    )
    assert accepted.status_code == 302
    user = User.objects.get(email="new.nurse@maple.example")
    membership = Membership.objects.get(user=user, organization=maple)
    assert membership.role == "nurse_navigator" and membership.status == "active"
    assert user.terms_accepted_version
    # A clinical role: the next page is second-factor enrollment, not the home page.
    assert "/accounts/second-factor/" in visitor.get("/")["Location"]
    # The link works once.
    again = anonymous(maple).get(f"/accounts/invitation/{token}/")
    assert again.status_code == 404


def test_expired_and_foreign_links_are_refused(cast):
    from django.test import Client

    maple = cast.organizations["maple"]
    invitation, link = invitation_create(
        organization=maple, email="late@maple.example", role="staff", invited_by=cast.users["maple_admin"]
    )
    token = _token(link)
    # At another organization's address the same link is nothing.
    assert Client(HTTP_HOST="cedarvalley.localhost").get(f"/accounts/invitation/{token}/").status_code == 404
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client(HTTP_HOST="maple.localhost").post(
        f"/accounts/invitation/{token}/",
        {"full_name": "Late", "password": PASSWORD, "password_again": PASSWORD, "accept_terms": "on"},
    )
    assert response.status_code == 404
    assert not User.objects.filter(email="late@maple.example").exists()


def test_an_existing_person_joins_a_second_organization_with_their_own_password(cast, anonymous):
    from portal.demo.cast import DEMO_PASSWORD

    park = cast.users["park"]
    cedar = cast.organizations["cedarvalley"]
    _invitation, link = invitation_create(
        organization=cedar, email=park.email, role="pcp", invited_by=cast.users["cedarvalley_admin"]
    )
    client = anonymous(cedar)
    wrong = client.post(f"/accounts/invitation/{_token(link)}/", {"password": "nope", "accept_terms": "on"})
    assert "not the password of your existing account" in wrong.content.decode()
    assert not Membership.objects.filter(user=park, organization=cedar).exists()
    right = client.post(f"/accounts/invitation/{_token(link)}/", {"password": DEMO_PASSWORD, "accept_terms": "on"})
    assert right.status_code == 302
    assert Membership.objects.get(user=park, organization=cedar).role == "pcp"


def test_inviting_an_existing_member_or_twice_is_refused(cast, sign_in):
    maple = cast.organizations["maple"]
    admin = sign_in(cast.users["maple_admin"], maple)
    member = admin.post("/admin/users/invite/", {"email": cast.users["park"].email, "role": "pcp"})
    assert "already has an account here" in member.content.decode()
    admin.post("/admin/users/invite/", {"email": "twice@maple.example", "role": "staff"})
    twice = admin.post("/admin/users/invite/", {"email": "twice@maple.example", "role": "staff"})
    assert "already pending" in twice.content.decode()
    assert Invitation.objects.filter(email="twice@maple.example").count() == 1
