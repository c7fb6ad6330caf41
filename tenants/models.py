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

    auto_create_schema = True
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
