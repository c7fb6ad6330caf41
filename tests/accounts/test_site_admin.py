"""Site admins manage their own organization's users, and no one else's."""

import pytest

from portal.accounts.models import Membership
from portal.audit.models import AuditEvent


def _target(cast):
    return Membership.objects.get(user=cast.users["park"], organization=cast.organizations["maple"])


ACTIONS = [
    ("role", lambda m: (f"/admin/users/{m.pk}/", {"role": "staff"})),
    ("deactivate", lambda m: (f"/admin/users/{m.pk}/deactivate/", {})),
    ("attest", lambda m: (f"/admin/users/{m.pk}/attest/", {})),
]


@pytest.mark.parametrize("name,request_for", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_four_actors_on_managing_a_user(cast, sign_in, anonymous, name, request_for):
    maple = cast.organizations["maple"]
    target = _target(cast)
    before = Membership.objects.filter(pk=target.pk).values("role", "status", "last_attested_at").get()
    url, data = request_for(target)

    # Anonymous: to sign-in.
    assert anonymous(maple).post(url, data).status_code == 302
    # A site admin of another organization, at their own address: the same 404 as a missing page.
    assert (
        sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"]).post(url, data).status_code == 404
    )
    # A member of Maple without the site-admin role.
    assert sign_in(cast.users["park"], maple).post(url, data).status_code == 404
    assert Membership.objects.filter(pk=target.pk).values("role", "status", "last_attested_at").get() == before
    assert not AuditEvent.objects.filter(object_type="membership", object_id=str(target.pk)).exists()

    # Maple's site admin.
    response = sign_in(cast.users["maple_admin"], maple).post(url, data)
    assert response.status_code == 302
    after = Membership.objects.get(pk=target.pk)
    if name == "role":
        assert after.role == "staff"
    elif name == "deactivate":
        assert after.status == "deactivated"
    else:
        assert after.last_attested_at > before["last_attested_at"]
    assert AuditEvent.objects.filter(object_type="membership", object_id=str(target.pk)).exists()


def test_users_page_lists_only_this_organizations_people(cast, sign_in, django_assert_max_num_queries):
    client = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    with django_assert_max_num_queries(12):
        page = client.get("/admin/users/").content.decode()
    assert "Peter Park" in page and "enrolled" in page  # the seeded cast has its demo authenticator
    assert "Carla Chen" not in page and "Olivia Okafor" not in page
    assert sign_in(cast.users["park"], cast.organizations["maple"]).get("/admin/users/").status_code == 404


def test_a_site_admin_cannot_lock_themselves_out(cast, sign_in):
    maple = cast.organizations["maple"]
    admin = cast.users["maple_admin"]
    mine = Membership.objects.get(user=admin, organization=maple)
    client = sign_in(admin, maple)
    client.post(f"/admin/users/{mine.pk}/deactivate/")
    role = client.post(f"/admin/users/{mine.pk}/", {"role": "staff"})
    assert "cannot remove your own site-admin rights" in role.content.decode()
    mine.refresh_from_db()
    assert mine.status == "active" and mine.is_admin


def test_deactivated_user_is_signed_out_and_refused(cast, sign_in, anonymous):
    from portal.demo.cast import DEMO_PASSWORD

    maple = cast.organizations["maple"]
    park_session = sign_in(cast.users["park"], maple)
    sign_in(cast.users["maple_admin"], maple).post(f"/admin/users/{_target(cast).pk}/deactivate/")
    assert park_session.get("/").status_code == 302
    refused = anonymous(maple).post(
        "/accounts/login/", {"username": cast.users["park"].email, "password": DEMO_PASSWORD}
    )
    assert "do not have an active account" in refused.content.decode()


def test_site_admin_resets_a_lost_second_factor_of_their_own_member_only(cast, sign_in):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    maple = cast.organizations["maple"]
    park = _target(cast)
    url = f"/admin/users/{park.pk}/reset-second-factor/"
    assert sign_in(cast.users["park"], maple).post(url).status_code == 404
    assert sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"]).post(url).status_code == 404
    assert TOTPDevice.objects.filter(user=cast.users["park"]).exists()

    admin = sign_in(cast.users["maple_admin"], maple)
    assert admin.post(url).status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.users["park"]).exists()
    assert AuditEvent.objects.filter(object_id=str(park.pk), detail__step="second_factor_reset").exists()

    # Someone who also works elsewhere is the network support desk's to reset.
    okafor = cast.users["okafor"]
    Membership.objects.create(user=okafor, organization=maple, role="oncologist")
    shared = Membership.objects.get(user=okafor, organization=maple)
    admin.post(f"/admin/users/{shared.pk}/reset-second-factor/")
    assert TOTPDevice.objects.filter(user=okafor).exists()
