"""Roles a person holds in an organization, and what each may do."""

from django.db import models


class Role(models.TextChoices):
    ONCOLOGIST = "oncologist", "Oncologist"
    SURGEON = "surgeon", "Surgeon"
    RADIOLOGIST = "radiologist", "Radiologist"
    PRIMARY_CARE_PHYSICIAN = "pcp", "Primary-care physician"
    NURSE_NAVIGATOR = "nurse_navigator", "Nurse navigator"
    CARE_COORDINATOR = "care_coordinator", "Care coordinator"
    STAFF = "staff", "Staff"
    ORG_ADMIN = "org_admin", "Organization admin"


# Roles that read the shared record of the organization's patients.
CLINICAL_ROLES = frozenset(
    {
        Role.ONCOLOGIST,
        Role.SURGEON,
        Role.RADIOLOGIST,
        Role.PRIMARY_CARE_PHYSICIAN,
        Role.NURSE_NAVIGATOR,
        Role.CARE_COORDINATOR,
    }
)
# Roles that author clinical items and publish them.
AUTHOR_ROLES = frozenset({Role.ONCOLOGIST, Role.SURGEON, Role.RADIOLOGIST, Role.PRIMARY_CARE_PHYSICIAN})
NAVIGATOR_ROLES = frozenset({Role.NURSE_NAVIGATOR, Role.CARE_COORDINATOR})


class MembershipStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    DEACTIVATED = "deactivated", "Deactivated"
