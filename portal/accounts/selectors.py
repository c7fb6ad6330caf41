"""Who a user is at the organization of the current address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import HttpRequest

from portal.accounts.models import BulkInvitation, Invitation, Membership, User

if TYPE_CHECKING:
    import uuid

    from django.contrib.auth.models import AnonymousUser

    from tenants.models import Organization


def membership_for(*, user: User | AnonymousUser, organization: Organization | None) -> Membership | None:
    """The user's active membership at this organization, or None."""
    if not isinstance(user, User) or organization is None:  # anonymous: no membership
        return None
    membership = Membership.objects.active().filter(user=user, organization=organization).first()
    if membership is not None:
        membership.organization = organization  # the caller's object: no join, no second copy
    return membership


REQUEST_MEMBERSHIPS = "_continuum_request_memberships"


def remember_request_membership(
    *, user: User | AnonymousUser, organization: Organization, membership: Membership | None
) -> None:
    """Keep the membership the middleware checked on this request's user object, so the
    selectors of the same request do not look it up again (a new user object per request)."""
    memberships = getattr(user, REQUEST_MEMBERSHIPS, None)
    if memberships is None:
        memberships = {}
        setattr(user, REQUEST_MEMBERSHIPS, memberships)
    memberships[organization.pk] = membership


def clinical_membership(*, user: User | AnonymousUser, organization: Organization | None) -> Membership | None:
    """The user's active clinical membership at an active organization (sees patients, sends
    messages), or None; at the network's own address, never."""
    if not isinstance(user, User) or organization is None or organization.is_network:
        return None
    if not organization.is_active:
        return None
    remembered = getattr(user, REQUEST_MEMBERSHIPS, {})
    if organization.pk in remembered:
        membership = remembered[organization.pk]
        return membership if membership is not None and membership.is_clinical else None
    return Membership.objects.active().clinical().filter(user=user, organization=organization).first()


def may_sign_in_at(*, user: User, organization: Organization | None) -> tuple[bool, str]:
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


def site_admin_membership(request: HttpRequest) -> Membership | None:
    """The request's membership if it is a site admin's at this organization, else None."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_admin:
        return None
    return membership


def members_for_admin(
    *, organization: Organization, status: str = "", attestation_due_days: int | None = None
) -> QuerySet[Membership]:
    """The organization's people, for its site admins (never another organization's)."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Exists, OuterRef
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    members = (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .annotate(has_second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)))
        .order_by("user__full_name")
    )
    if status:
        members = members.filter(status=status)
    if attestation_due_days is not None:
        cutoff = timezone.now() - timedelta(days=settings.ATTESTATION_DAYS - attestation_due_days)
        members = members.filter(last_attested_at__lt=cutoff)
    return members


def membership_for_admin(*, organization: Organization, pk: int) -> Membership | None:
    return Membership.objects.select_related("user", "organization").filter(organization=organization, pk=pk).first()


def pending_invitations(*, organization: Organization) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def bulk_invitation_for_admin(*, organization: Organization, uuid: uuid.UUID | str) -> BulkInvitation | None:
    return BulkInvitation.objects.filter(organization=organization, uuid=uuid).first()
