"""Attestation: a site admin confirms a member still needs access; the periodic sweep that reminds and suspends."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.accounts.roles import MembershipStatus
from portal.accounts.services.memberships import _membership_audit


def membership_attest(*, membership: Membership, actor: User, request: HttpRequest | None = None) -> Membership:
    """A site admin confirms this person still needs this access (good for 180 days)."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        now = timezone.now()
        membership.last_attested_at = now
        membership.attestation_warned_at = None
        fields = ["last_attested_at", "attestation_warned_at"]
        if membership.status == MembershipStatus.SUSPENDED:
            membership.status = MembershipStatus.ACTIVE
            membership.status_changed_at = now
            fields += ["status", "status_changed_at"]
        membership.save(update_fields=fields)
        _membership_audit(membership, actor, request, step="attested")
    return membership


def attestation_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Warn site admins about accounts nearing their re-attestation date; suspend overdue ones.

    Idempotent: a warning is sent once per attestation period, a suspension once.
    """
    from portal.notifications.services import notification_send

    now = now or timezone.now()
    period = timedelta(days=settings.ATTESTATION_DAYS)
    warn_window = timedelta(days=settings.ATTESTATION_WARNING_DAYS)
    active = Membership.objects.filter(
        status=MembershipStatus.ACTIVE, organization__status__in=["active", "onboarding"]
    )
    overdue = active.filter(last_attested_at__lt=now - period) | active.filter(
        last_attested_at__isnull=True, created_at__lt=now - period
    )
    suspended = 0
    for membership in overdue.select_related("organization", "user"):
        with transaction.atomic():
            changed = Membership.objects.filter(pk=membership.pk, status=MembershipStatus.ACTIVE).update(
                status=MembershipStatus.SUSPENDED, status_changed_at=now
            )
            if changed:
                suspended += 1
                _membership_audit(membership, None, None, step="suspended_unattested")
    due_soon = active.filter(
        last_attested_at__lt=now - period + warn_window, last_attested_at__gte=now - period
    ).filter(Q(attestation_warned_at__isnull=True) | Q(attestation_warned_at__lt=F("last_attested_at")))
    warned = 0
    by_org: dict[Any, int] = {}
    for membership in due_soon.select_related("organization"):
        with transaction.atomic():
            if Membership.objects.filter(pk=membership.pk).update(attestation_warned_at=now):
                warned += 1
                by_org[membership.organization] = by_org.get(membership.organization, 0) + 1
    for organization, count in by_org.items():
        admins = [
            m.user
            for m in Membership.objects.active().filter(organization=organization).select_related("user")
            if m.is_admin
        ]
        with transaction.atomic():
            notification_send(
                recipients=admins,
                kind="attestation_due",
                title=f"{count} account(s) need re-attesting within {settings.ATTESTATION_WARNING_DAYS} days",
                link="/admin/users/?filter=attestation",
                organization=organization,
            )
    return {"suspended": suspended, "warned": warned}
