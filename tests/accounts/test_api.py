"""User management API for organization admins under /api/v1/."""

from portal.accounts.models import Invitation, Membership


def test_site_admin_lists_invites_changes_role_and_deactivates(cast, sign_in, django_assert_max_num_queries):
    maple = cast.organizations["maple"]
    client = sign_in(cast.users["maple_admin"], maple)
    with django_assert_max_num_queries(11):  # 10, and the paged answer's count (issue 12, item 6)
        listing = client.get("/api/v1/users/")
    emails = {row["email"] for row in listing.json()["results"]}
    assert "peter.park@maple.example" in emails and "carla.chen@cedarvalley.example" not in emails

    created = client.post(
        "/api/v1/users/invitations/",
        {"email": "api.new@maple.example", "role": "staff"},
        content_type="application/json",
    )
    assert created.status_code == 201 and Invitation.objects.filter(email="api.new@maple.example").exists()
    bad = client.post(
        "/api/v1/users/invitations/", {"email": "nope", "role": "wizard"}, content_type="application/json"
    )
    assert bad.status_code == 400 and {"email", "role"} <= set(bad.json()["errors"])

    park = Membership.objects.get(user=cast.users["park"], organization=maple)
    changed = client.patch(f"/api/v1/users/{park.pk}/", {"role": "staff"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["role"] == "staff"
    off = client.post(f"/api/v1/users/{park.pk}/deactivate/")
    assert off.json()["status"] == "deactivated"


def test_api_refuses_the_other_three_actors_and_changes_nothing(cast, sign_in, anonymous):
    maple = cast.organizations["maple"]
    park = Membership.objects.get(user=cast.users["park"], organization=maple)
    url = f"/api/v1/users/{park.pk}/"
    assert anonymous(maple).patch(url, {"role": "staff"}, content_type="application/json").status_code == 403
    cedar_admin = sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"])
    assert cedar_admin.patch(url, {"role": "staff"}, content_type="application/json").status_code == 404
    assert cedar_admin.post(f"{url}deactivate/").status_code == 404
    assert (
        sign_in(cast.users["park"], maple).patch(url, {"role": "staff"}, content_type="application/json").status_code
        == 404
    )
    assert sign_in(cast.users["park"], maple).get("/api/v1/users/").status_code == 404
    park.refresh_from_db()
    assert park.role == "pcp" and park.status == "active"
