"""Organizations of the network (django-tenants tenants) and their addresses."""

from __future__ import annotations

import uuid

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class OrganizationKind(models.TextChoices):
    ACADEMIC_CANCER_CENTER = "academic_cancer_center", "Academic cancer center"
    COMMUNITY_ONCOLOGY = "community_oncology", "Community oncology practice"
    HOSPITAL = "hospital", "Hospital"
    PRIMARY_CARE = "primary_care", "Primary-care practice"
    NETWORK = "network", "Network"
    OTHER = "other", "Other"


class OrganizationStatus(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    OFFBOARDED = "offboarded", "Offboarded"


class Organization(TenantMixin):
    """A partner organization, with its own PostgreSQL schema and address.

    The network itself is the organization of the public schema (kind ``network``).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=32, choices=OrganizationKind.choices)
    status = models.CharField(max_length=16, choices=OrganizationStatus.choices, default=OrganizationStatus.ONBOARDING)
    npi = models.CharField("NPI", max_length=10, blank=True)
    city = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    went_live_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    offboarded_at = models.DateTimeField(null=True, blank=True)

    # Schemas are created by tenants.services.organization_provision (a clone of the
    # template, as a recorded step), never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_network(self) -> bool:
        return self.kind == OrganizationKind.NETWORK

    @property
    def is_active(self) -> bool:
        return self.status == OrganizationStatus.ACTIVE

    @property
    def accepts_logins(self) -> bool:
        return self.status in {OrganizationStatus.ACTIVE, OrganizationStatus.ONBOARDING}


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class ProvisioningState(models.TextChoices):
    """Where creating an organization got to. Each step is idempotent; a retry resumes."""

    REQUESTED = "requested", "Requested"
    SCHEMA_READY = "schema_ready", "Schema created"
    ADDRESS_READY = "address_ready", "Address created"
    PROVISIONED = "provisioned", "Provisioned"
    FAILED = "failed", "Failed (retry resumes)"


class AgreementKind(models.TextChoices):
    DATA_SHARING = "data_sharing", "Data-sharing agreement"
    BUSINESS_ASSOCIATE = "business_associate", "Business associate agreement"


def agreement_upload_to(instance: Agreement, filename: str) -> str:
    return f"agreements/{instance.organization.slug}/{instance.kind}-{uuid.uuid4().hex[:8]}-{filename}"


class Provisioning(models.Model):
    """The recorded state of creating an organization's schema and address."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="provisioning")
    state = models.CharField(max_length=16, choices=ProvisioningState.choices, default=ProvisioningState.REQUESTED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Wall time of the last successful run.")

    def __str__(self) -> str:
        return f"{self.organization}: {self.get_state_display()}"


class Agreement(models.Model):
    """A signed agreement of a partner: the file, who signed it, when."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agreements")
    kind = models.CharField(max_length=24, choices=AgreementKind.choices)
    document = models.FileField(upload_to=agreement_upload_to)
    signer_name = models.CharField(max_length=200)
    signer_title = models.CharField(max_length=200, blank=True)
    signed_on = models.DateField()
    recorded_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "kind"]
        constraints = [models.UniqueConstraint(fields=["organization", "kind"], name="one_agreement_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.organization}"


class OrganizationExport(models.Model):
    """A zip of an organization's repository made when it is offboarded (kept outside /media/)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="exports")
    path = models.CharField(max_length=500)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    manifest = models.JSONField(default=dict)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Export of {self.organization} at {self.created_at:%Y-%m-%d %H:%M}"
