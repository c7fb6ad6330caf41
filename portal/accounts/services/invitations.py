"""Invitations: who may be invited, sending one, opening it by its token, accepting, revoking."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.accounts.models import Invitation, Membership, User
from portal.accounts.roles import MembershipStatus, Role
from portal.accounts.services.sign_in import terms_accept
from portal.audit.services import AuditAction, audit_record
from portal.text import text_clean
from tenants.addresses import absolute_url, organization_host
from tenants.models import Organization


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(*, organization: Organization, token: str) -> str:
    return absolute_url(organization_host(organization.slug), f"/accounts/invitation/{token}/")


def invitation_problems(*, organization: Organization, email: str, role: str) -> dict[str, list[str]]:
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
    organization: Organization,
    email: str,
    role: str,
    invited_by: User | None,
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


def _invitation_email(*, organization: Organization, email: str, link: str) -> None:
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


def invitation_for_token(*, organization: Organization, token: str) -> Invitation | None:
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


def invitation_revoke(*, invitation: Invitation, actor: User, request: HttpRequest | None = None) -> None:
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
