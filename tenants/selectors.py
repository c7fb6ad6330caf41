"""Reads for the network console: organizations, their onboarding checklist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from portal.accounts.roles import MembershipStatus
from tenants.models import AgreementKind, Organization, OrganizationKind, OrganizationStatus, ProvisioningState

if TYPE_CHECKING:
    from uuid import UUID

REQUIRED_SITE_ADMINS = 2


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    detail: str = ""


def _ready_admin_filter(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}is_site_admin": True,
            f"{prefix}status": MembershipStatus.ACTIVE,
            f"{prefix}user__is_active": True,
            f"{prefix}user__totpdevice__confirmed": True,
        }
    )


def organizations_for_console() -> QuerySet[Organization]:
    """Every partner with what the console's table needs, in a fixed number of queries."""
    return (
        Organization.objects.exclude(kind=OrganizationKind.NETWORK)
        .select_related("provisioning")
        .prefetch_related("domains", "agreements")
        .annotate(
            member_count=Count("memberships", filter=Q(memberships__status=MembershipStatus.ACTIVE), distinct=True),
            ready_admin_count=Count("memberships", filter=_ready_admin_filter("memberships__"), distinct=True),
            pending_admin_invitations=Count(
                "invitations",
                filter=Q(
                    invitations__is_site_admin=True,
                    invitations__accepted_at__isnull=True,
                    invitations__revoked_at__isnull=True,
                ),
                distinct=True,
            ),
        )
        .order_by("name")
    )


def organization_for_console(*, uuid: UUID | str) -> Organization | None:
    return organizations_for_console().filter(uuid=uuid).first()


def onboarding_checklist(organization: Organization) -> list[ChecklistItem]:
    """What going live needs, each item done or not, from the database as it is now."""
    from portal.accounts.models import Invitation, Membership

    provisioning = getattr(organization, "provisioning", None)
    provisioned = provisioning is None or provisioning.state == ProvisioningState.PROVISIONED
    kinds = {agreement.kind for agreement in organization.agreements.all()}
    ready_admins = getattr(organization, "ready_admin_count", None)
    if ready_admins is None:
        ready_admins = (
            Membership.objects.filter(organization=organization).filter(_ready_admin_filter()).distinct().count()
        )
    pending = getattr(organization, "pending_admin_invitations", None)
    if pending is None:
        pending = Invitation.objects.filter(
            organization=organization, is_site_admin=True, accepted_at__isnull=True, revoked_at__isnull=True
        ).count()
    items = [
        ChecklistItem(
            "provisioned",
            "Schema and address created",
            provisioned,
            ""
            if provisioned or provisioning is None
            else f"Provisioning stopped at: {provisioning.get_state_display()}",
        )
    ]
    for kind in AgreementKind:
        items.append(ChecklistItem(kind.value, f"{kind.label} recorded", kind.value in kinds))
    items.append(
        ChecklistItem(
            "site_admins",
            f"At least {REQUIRED_SITE_ADMINS} site admins accepted and enrolled a second factor",
            ready_admins >= REQUIRED_SITE_ADMINS,
            f"{ready_admins} of {REQUIRED_SITE_ADMINS} ready; {pending} invitation(s) pending",
        )
    )
    return items


def onboarding_missing(organization: Organization) -> list[str]:
    return [item.label for item in onboarding_checklist(organization) if not item.done]


def onboarding_progress(organization: Organization) -> int:
    items = onboarding_checklist(organization)
    return int(100 * sum(item.done for item in items) / len(items))


def organization_may_share(organization: Organization) -> bool:
    """May this organization publish or send anything new to the network?

    Suspended and offboarded organizations keep their data but share nothing new.
    """
    return organization.status in {OrganizationStatus.ACTIVE, OrganizationStatus.ONBOARDING}
