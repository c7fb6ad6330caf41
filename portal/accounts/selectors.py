"""Who a user is at the organization of the current address."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import Membership, User


def membership_for(*, user: User | Any, organization: Any) -> Membership | None:
    """The user's active membership at this organization, or None."""
    if not getattr(user, "is_authenticated", False) or organization is None:
        return None
    return (
        Membership.objects.active().select_related("organization").filter(user=user, organization=organization).first()
    )


def may_sign_in_at(*, user: User, organization: Any) -> tuple[bool, str]:
    """May this user open a session at this organization's address? (allowed, reason)."""
    if not user.is_active:
        return False, "This account is disabled. Contact your organization's site admin."
    if organization is None:
        return False, "This address does not belong to an organization of the network."
    if organization.is_network:
        if user.is_network_admin:
            return True, ""
        return False, (
            "Only network administrators sign in at the network's address. Sign in at your organization's own address."
        )
    if not organization.accepts_logins:
        return (
            False,
            f"{organization.name} is {organization.get_status_display().lower()} on the network; sign-in is closed.",
        )
    if membership_for(user=user, organization=organization) is None:
        return False, (
            f"You do not have an active account at {organization.name}. "
            "Sign in at your own organization's address, or ask its site admin for access."
        )
    return True, ""


def home_summary_for(*, user: User, membership: Membership) -> dict[str, Any]:
    """What the home page shows: the role's own work first."""
    from portal.patients.models import CareRelationship

    organization = membership.organization
    relationships = CareRelationship.objects.active().filter(organization=organization)
    summary: dict[str, Any] = {
        "role": membership.get_role_display(),
        "is_clinical": membership.is_clinical,
        "is_admin": membership.is_admin,
        "patient_count": relationships.values("patient").distinct().count() if membership.is_clinical else None,
        "my_patient_count": (
            relationships.filter(clinician=user).values("patient").distinct().count()
            if membership.is_clinical
            else None
        ),
    }
    if membership.is_admin:
        members = Membership.objects.filter(organization=organization)
        summary["member_count"] = members.count()
        summary["active_member_count"] = members.active().count()
    return summary


def network_summary() -> dict[str, Any]:
    from django.db.models import Count

    from tenants.models import Organization, OrganizationKind

    organizations = (
        Organization.objects.exclude(kind=OrganizationKind.NETWORK)
        .annotate(member_count=Count("memberships"))
        .prefetch_related("domains")
        .order_by("name")
    )
    return {"organizations": list(organizations)}
