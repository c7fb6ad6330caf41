"""Writes of the account lifecycle: invitations, roles, deactivation, attestation, terms,
second factor, and the periodic sweeps."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import BulkInvitation, BulkInvitationStatus, Invitation, Membership, User
from portal.accounts.roles import MembershipStatus, Role
from portal.audit.services import AuditAction, audit_record
from portal.text import text_clean
from tenants.addresses import absolute_url, organization_host

# ---- invitations -------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(*, organization: Any, token: str) -> str:
    return absolute_url(organization_host(organization.slug), f"/accounts/invitation/{token}/")


def invitation_problems(*, organization: Any, email: str, role: str) -> dict[str, list[str]]:
    """What is wrong with inviting this email with this role here (empty when nothing)."""
    errors: dict[str, list[str]] = {}
    if not getattr(organization, "accepts_logins", False):
        errors["organization"] = [
            f"{organization.name} is {organization.get_status_display().lower()}: no new accounts."
        ]
        return errors
    try:
        validate_email(email)
    except ValidationError:
        errors.setdefault("email", []).append("Enter a valid email address.")
    if role not in Role.values:
        errors.setdefault("role", []).append(f"Unknown role “{role}”. Use one of: {', '.join(Role.values)}.")
    if "email" not in errors:
        if Membership.objects.filter(
            organization=organization,
            user__email=email,
            status__in=[MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED],
        ).exists():
            errors.setdefault("email", []).append("This person already has an account here.")
        elif Invitation.objects.filter(
            organization=organization,
            email=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).exists():
            errors.setdefault("email", []).append("An invitation to this email is already pending.")
    return errors


def invitation_create(
    *,
    organization: Any,
    email: str,
    role: str,
    invited_by: Any,
    full_name: str = "",
    is_site_admin: bool = False,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str]:
    """Invite a person; the link (with its one-time token) is emailed after commit.

    Returns the invitation and its link (shown once to the inviter, never stored).
    """
    email = email.strip().lower()
    errors = invitation_problems(organization=organization, email=email, role=role)
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            full_name=text_clean(full_name),
            role=role,
            is_site_admin=is_site_admin or role == Role.ORG_ADMIN,
            token_hash=_token_hash(token),
            invited_by=invited_by if getattr(invited_by, "pk", None) else None,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        audit_record(
            action=AuditAction.ADMIN,
            actor=invited_by,
            organization=organization,
            request=request,
            object_type="invitation",
            object_id=invitation.uuid,
            data_owner=organization,
            detail={"step": "invited", "email": email, "role": role, "site_admin": invitation.is_site_admin},
        )
        link = invitation_link(organization=organization, token=token)
        transaction.on_commit(lambda: _invitation_email(organization=organization, email=email, link=link))
    return invitation, link


def _invitation_email(*, organization: Any, email: str, link: str) -> None:
    send_mail(
        subject=f"You are invited to {organization.name} on Continuum",
        message=(
            f"You have been invited to join {organization.name} on Continuum, the care network's portal.\n\n"
            f"Accept the invitation within {settings.INVITATION_DAYS} days (the link works once):\n{link}\n"
        ),
        from_email=None,
        recipient_list=[email],
        fail_silently=True,
    )


def invitation_for_token(*, organization: Any, token: str) -> Invitation | None:
    """The pending invitation behind a link at this organization's address, or None."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(organization=organization, token_hash=_token_hash(token))
        .first()
    )
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


def invitation_accept(
    *,
    invitation: Invitation,
    full_name: str,
    password: str,
    accept_terms: bool,
    request: HttpRequest | None = None,
) -> User:
    """Accept: create (or attach) the account, make the membership active, burn the token.

    An existing account must give its own password; a new one sets a password.
    """
    if not accept_terms:
        raise ValidationError({"accept_terms": ["Accept the terms of use to continue."]})
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_pending:
            raise ValidationError("This invitation has already been used or has expired.")
        user = User.objects.filter(email=locked.email).first()
        now = timezone.now()
        if user is None:
            candidate = User(email=locked.email, full_name=text_clean(full_name) or locked.full_name)
            if not candidate.full_name:
                raise ValidationError({"full_name": ["Enter your full name."]})
            try:
                validate_password(password, candidate)
            except ValidationError as error:
                raise ValidationError({"password": error.messages})
            candidate.set_password(password)
            candidate.terms_accepted_version = settings.TERMS_VERSION
            candidate.terms_accepted_at = now
            candidate.save()
            user = candidate
        else:
            if not user.check_password(password):
                raise ValidationError({"password": ["That is not the password of your existing account."]})
            if not user.is_active:
                raise ValidationError("This account is disabled. Contact the site admin who invited you.")
            terms_accept(user=user)
        membership = Membership.objects.select_for_update().filter(user=user, organization=locked.organization).first()
        is_new = membership is None
        if membership is None:
            membership = Membership(user=user, organization=locked.organization)
        membership.role = locked.role
        membership.is_site_admin = locked.is_site_admin
        membership.status = MembershipStatus.ACTIVE
        membership.status_changed_at = now
        membership.last_attested_at = now
        if is_new:
            membership.save()
        else:
            membership.save(update_fields=["role", "is_site_admin", "status", "status_changed_at", "last_attested_at"])
        locked.accepted_at = now
        locked.accepted_user = user
        locked.save(update_fields=["accepted_at", "accepted_user"])
        audit_record(
            action=AuditAction.ADMIN,
            actor=user,
            organization=locked.organization,
            request=request,
            object_type="invitation",
            object_id=locked.uuid,
            data_owner=locked.organization,
            detail={"step": "invitation_accepted", "role": locked.role},
        )
    return user


def invitation_revoke(*, invitation: Invitation, actor: Any, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_record(
                action=AuditAction.ADMIN,
                actor=actor,
                organization=invitation.organization,
                request=request,
                object_type="invitation",
                object_id=invitation.uuid,
                data_owner=invitation.organization,
                detail={"step": "invitation_revoked"},
            )


# ---- memberships ----------------------------------------------------------------------


def _membership_audit(membership: Membership, actor: Any, request: HttpRequest | None, **detail: Any) -> None:
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
    *, membership: Membership, role: str, is_site_admin: bool, actor: Any, request: HttpRequest | None = None
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


def membership_deactivate(*, membership: Membership, actor: Any, request: HttpRequest | None = None) -> Membership:
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


def membership_reactivate(*, membership: Membership, actor: Any, request: HttpRequest | None = None) -> Membership:
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


def membership_attest(*, membership: Membership, actor: Any, request: HttpRequest | None = None) -> Membership:
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


def membership_second_factor_reset(
    *, membership: Membership, actor: Any, request: HttpRequest | None = None
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


# ---- terms and second factor --------------------------------------------------------


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


# ---- bulk invitations ------------------------------------------------------------------

CSV_COLUMNS = ("email", "full_name", "role", "site_admin")


def bulk_invitation_create(
    *, organization: Any, csv_text: str, filename: str, created_by: Any, request: HttpRequest | None = None
) -> BulkInvitation:
    """Record the upload and send the Celery task after commit."""
    from portal.accounts.tasks import bulk_invitation_run
    from portal.celery import send_in_schema

    rows = _csv_rows(csv_text)
    with transaction.atomic():
        bulk = BulkInvitation.objects.create(
            organization=organization,
            created_by=created_by,
            filename=filename[:200],
            csv_text=csv_text,
            total_rows=len(rows),
        )
        audit_record(
            action=AuditAction.ADMIN,
            actor=created_by,
            organization=organization,
            request=request,
            object_type="bulk_invitation",
            object_id=bulk.uuid,
            data_owner=organization,
            detail={"step": "bulk_invitation_uploaded", "rows": len(rows)},
        )
        bulk_uuid = str(bulk.uuid)
        transaction.on_commit(lambda: send_in_schema(bulk_invitation_run, organization.schema_name, bulk_uuid))
    return bulk


def _csv_rows(csv_text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    rows = []
    for row in reader:
        cleaned = {(key or "").strip().lower(): text_clean(value or "") for key, value in row.items() if key}
        if any(cleaned.values()):
            rows.append(cleaned)
    return rows


def csv_header_problems(csv_text: str) -> list[str]:
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in ("email", "role") if column not in header]
    return [f"The first line must name the columns; missing: {', '.join(missing)}."] if missing else []


def bulk_invitation_process(*, bulk: BulkInvitation) -> BulkInvitation:
    """Validate and invite row by row; each good row commits on its own, bad rows are reported.

    Run twice, it acts once: rows already reported are skipped.
    """
    if bulk.status == BulkInvitationStatus.DONE:
        return bulk
    BulkInvitation.objects.filter(pk=bulk.pk).update(status=BulkInvitationStatus.RUNNING)
    rows = _csv_rows(bulk.csv_text)
    report = list(bulk.report)
    seen = {entry["email"] for entry in report if entry.get("email")}
    for index, row in enumerate(rows[len(report) :], start=len(report)):
        line = index + 2  # the header is line 1
        email = row.get("email", "").lower()
        role = row.get("role", "").lower()
        errors = {}
        if email in seen:
            errors = {"email": ["This email appears twice in the file."]}
        else:
            errors = invitation_problems(organization=bulk.organization, email=email, role=role)
        entry: dict[str, Any] = {"line": line, "email": email, "role": role, "ok": not errors, "errors": errors}
        if not errors:
            try:
                invitation_create(
                    organization=bulk.organization,
                    email=email,
                    role=role,
                    full_name=row.get("full_name", ""),
                    is_site_admin=row.get("site_admin", "").lower() in {"1", "yes", "true", "y"},
                    invited_by=bulk.created_by,
                )
            except ValidationError as error:
                entry.update(ok=False, errors=getattr(error, "message_dict", {"row": error.messages}))
        seen.add(email)
        report.append(entry)
        BulkInvitation.objects.filter(pk=bulk.pk).update(report=report, processed_rows=len(report))
    BulkInvitation.objects.filter(pk=bulk.pk).update(
        status=BulkInvitationStatus.DONE, finished_at=timezone.now(), total_rows=len(rows)
    )
    bulk.refresh_from_db()
    return bulk


# ---- periodic sweeps ---------------------------------------------------------------------


def attestation_sweep(*, now: Any = None) -> dict[str, int]:
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


def inactivity_sweep(*, now: Any = None) -> dict[str, int]:
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
