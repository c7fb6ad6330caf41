"""What every care write shares: the refusal it raises and who may act for an organization."""

from __future__ import annotations

from portal.accounts.models import Membership, User
from portal.care.transitions import TransitionRefused
from tenants.models import Organization

__all__ = ["TransitionRefused", "_clinical_member", "_navigators_and_clinicians"]


def _clinical_member(*, user: User, organization: Organization) -> bool:
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


def _navigators_and_clinicians(organization: Organization) -> list[User]:
    return [
        m.user for m in Membership.objects.active().clinical().select_related("user").filter(organization=organization)
    ]
