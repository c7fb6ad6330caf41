"""People (one global user per person, email is the login) and their memberships."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from portal.accounts.roles import CLINICAL_ROLES, MembershipStatus, Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save()
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_network_admin", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    credentials = models.CharField(max_length=40, blank=True, help_text="MD, RN, NP…")
    npi = models.CharField("NPI", max_length=10, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use Django's support admin.")
    is_network_admin = models.BooleanField(default=False)
    terms_accepted_version = models.CharField(max_length=20, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.credentials:
            return f"{self.full_name}, {self.credentials}"
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        now = timezone.now()
        return self.filter(status=MembershipStatus.ACTIVE, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def clinical(self) -> MembershipQuerySet:
        return self.filter(role__in=CLINICAL_ROLES)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    is_site_admin = models.BooleanField(default=False, help_text="Also administers the organization's users.")
    title = models.CharField(max_length=120, blank=True, help_text="e.g. Medical oncology")
    status = models.CharField(max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attested_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    attestation_warned_at = models.DateTimeField(
        null=True, blank=True, help_text="When site admins were last warned this account needs re-attesting."
    )
    # Not columns: set for the site admin's list of people (selectors.members_for_admin
    # annotates has_second_factor; admin_views.users sets these two).
    attestation_due: bool
    attestation_deadline: dt.datetime | None

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")]
        ordering = ["organization__name", "user__full_name"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organization}"

    @property
    def is_clinical(self) -> bool:
        return self.role in CLINICAL_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ORG_ADMIN or self.is_site_admin

    def is_active_now(self) -> bool:
        if self.status != MembershipStatus.ACTIVE or not self.user.is_active:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class Invitation(models.Model):
    """A one-time, expiring link inviting a person to an organization with a role.

    Only a hash of the token is stored; the link itself is sent once, by email.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    is_site_admin = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization_id}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class BulkInvitationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BulkInvitation(models.Model):
    """A CSV of people to invite, processed by a Celery task row by row, with a report per row."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=200, blank=True)
    csv_text = models.TextField()
    status = models.CharField(max_length=10, choices=BulkInvitationStatus.choices, default=BulkInvitationStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True, help_text="One entry per row: line, email, ok, errors.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Bulk invitation {self.uuid}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == BulkInvitationStatus.DONE else 0
        return int(100 * self.processed_rows / self.total_rows)

    @property
    def good_rows(self) -> int:
        return sum(1 for row in self.report if row.get("ok"))

    @property
    def bad_rows(self) -> int:
        return sum(1 for row in self.report if not row.get("ok"))
