"""What every care write shares: the refusal it raises and who may act for an organization."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import Membership
from portal.care.transitions import TransitionRefused

__all__ = ["TransitionRefused", "_clinical_member", "_navigators_and_clinicians"]


def _clinical_member(*, user: Any, organization: Any) -> bool:
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


def _navigators_and_clinicians(organization: Any) -> list[Any]:
    return [
        m.user for m in Membership.objects.active().clinical().select_related("user").filter(organization=organization)
    ]
