"""Sign-in safety: the terms, the second factor, being seen, and the sweeps of inactive accounts and expired sessions."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User
from portal.audit.services import AuditAction, audit_record


def terms_accept(*, user: User) -> None:
    if user.terms_accepted_version == settings.TERMS_VERSION:
        return
    user.terms_accepted_version = settings.TERMS_VERSION
    user.terms_accepted_at = timezone.now()
    user.save(update_fields=["terms_accepted_version", "terms_accepted_at"])


def totp_enrollment_device(*, user: User) -> TOTPDevice:
    """The user's unconfirmed device being enrolled (one at a time), created if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def totp_confirm(*, device: TOTPDevice, token: str, request: HttpRequest | None = None) -> bool:
    """Confirm an enrollment with the first code; replaces any earlier device."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action=AuditAction.ADMIN, actor=device.user, request=request, detail={"step": "totp_enrolled"})
    return True


def demo_totp_device_ensure(*, user: User) -> TOTPDevice:
    """The demo cast's confirmed device with the documented demo secret (settings.DEMO_TOTP_KEY)."""
    device = TOTPDevice.objects.filter(user=user, name="Demo authenticator").first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Demo authenticator", key=settings.DEMO_TOTP_KEY, confirmed=True
        )
    return device


def seen_now(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(last_seen_at=timezone.now())


def inactivity_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Disable accounts unused for ACCOUNT_INACTIVITY_DAYS. Idempotent (only active accounts change).

    Network admins and staff are left to the support admin.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCOUNT_INACTIVITY_DAYS)
    candidates = User.objects.filter(is_active=True, is_network_admin=False, is_staff=False).filter(
        last_seen_at__lt=cutoff
    ) | User.objects.filter(is_active=True, is_network_admin=False, is_staff=False, last_seen_at__isnull=True).filter(
        date_joined__lt=cutoff
    )
    disabled = 0
    for user in candidates:
        with transaction.atomic():
            if User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
                disabled += 1
                audit_record(
                    action=AuditAction.ADMIN,
                    actor=None,
                    object_type="user",
                    object_id=user.pk,
                    detail={"step": "disabled_inactive", "email": user.email},
                )
    return {"disabled": disabled}


def sessions_clear_expired() -> int:
    """Delete the sessions past their expiry (sessions live in PostgreSQL; nothing else
    removes an abandoned one). Returns how many were deleted."""
    from django.contrib.sessions.models import Session

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
