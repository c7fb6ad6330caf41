"""A site admin's changes to a membership: its role, deactivating, reactivating, resetting the second factor."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Membership, User
from portal.accounts.roles import MembershipStatus, Role
from portal.audit.services import AuditAction, audit_record


def _membership_audit(membership: Membership, actor: User | None, request: HttpRequest | None, **detail: Any) -> None:
    audit_record(
        action=AuditAction.ADMIN,
        actor=actor,
        organization=membership.organization,
        request=request,
        object_type="membership",
        object_id=membership.pk,
        data_owner=membership.organization,
        detail=detail,
    )


def membership_set_role(
    *, membership: Membership, role: str, is_site_admin: bool, actor: User, request: HttpRequest | None = None
) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": [f"Unknown role “{role}”."]})
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if (
            membership.user_id == getattr(actor, "pk", None)
            and membership.is_admin
            and not (is_site_admin or role == Role.ORG_ADMIN)
        ):
            raise ValidationError({"role": ["You cannot remove your own site-admin rights."]})
        previous = (membership.role, membership.is_site_admin)
        membership.role = role
        membership.is_site_admin = is_site_admin or role == Role.ORG_ADMIN
        membership.save(update_fields=["role", "is_site_admin"])
        _membership_audit(
            membership,
            actor,
            request,
            step="role_changed",
            role_from=previous[0],
            role_to=role,
            site_admin=membership.is_site_admin,
        )
    return membership


def membership_deactivate(*, membership: Membership, actor: User, request: HttpRequest | None = None) -> Membership:
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.user_id == getattr(actor, "pk", None):
            raise ValidationError("You cannot deactivate your own account.")
        if membership.status == MembershipStatus.DEACTIVATED:
            return membership
        membership.status = MembershipStatus.DEACTIVATED
        membership.status_changed_at = timezone.now()
        membership.save(update_fields=["status", "status_changed_at"])
        _membership_audit(membership, actor, request, step="deactivated")
    return membership


def membership_reactivate(*, membership: Membership, actor: User, request: HttpRequest | None = None) -> Membership:
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.status == MembershipStatus.ACTIVE:
            return membership
        now = timezone.now()
        membership.status = MembershipStatus.ACTIVE
        membership.status_changed_at = now
        membership.last_attested_at = now
        membership.attestation_warned_at = None
        membership.save(update_fields=["status", "status_changed_at", "last_attested_at", "attestation_warned_at"])
        _membership_audit(membership, actor, request, step="reactivated")
    return membership


def membership_second_factor_reset(
    *, membership: Membership, actor: User, request: HttpRequest | None = None
) -> Membership:
    """A site admin clears a member's lost authenticator; they enroll a new one at next sign-in.

    Refused for people who also work at another organization (their account is not this
    organization's alone: the network's support desk resets it) and for oneself.
    """
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        if membership.user_id == getattr(actor, "pk", None):
            raise ValidationError("You cannot reset your own second factor; ask another site admin.")
        elsewhere = Membership.objects.active().filter(user=membership.user).exclude(pk=membership.pk).exists()
        if elsewhere or membership.user.is_network_admin:
            raise ValidationError(
                "This person also works at another organization: the network's support desk resets their second factor."
            )
        removed, _ = TOTPDevice.objects.filter(user=membership.user).delete()
        _membership_audit(membership, actor, request, step="second_factor_reset", devices_removed=removed)
    return membership
