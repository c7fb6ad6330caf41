"""An organization's repository (tenant app): its tables exist only in its own schema.

Clinical items are authored here, stay here, and become part of a patient's shared
record when published: publishing writes a registry entry in the public schema
(portal.patients.RegistryEntry) in the same transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class OrganizationSetting(models.Model):
    """The organization's own settings, kept in its own schema."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class ItemKind(models.TextChoices):
    CANCER_DIAGNOSIS = "cancer_diagnosis", "Cancer diagnosis"
    TREATMENT = "treatment", "Treatment"
    PROBLEM = "problem", "Problem / comorbidity"
    MEDICATION = "medication", "Medication"
    ALLERGY = "allergy", "Allergy"
    LAB_RESULT = "lab_result", "Lab result"
    IMAGING_REPORT = "imaging_report", "Imaging report"
    PATHOLOGY_REPORT = "pathology_report", "Pathology report"
    NOTE = "note", "Note / encounter"
    CONSULT_NOTE = "consult_note", "Consult report"
    DISCHARGE = "discharge", "Admission and discharge"
    DOCUMENT = "document", "Document"
    TUMOR_BOARD_RECOMMENDATION = "tumor_board_recommendation", "Tumor board recommendation"


# Kinds written only by a tumor board's finalised recommendation (portal.boards), never
# through "Add to the record"; the board's coordinator (a navigator) authors them.
BOARD_ONLY_KINDS = frozenset({ItemKind.TUMOR_BOARD_RECOMMENDATION})


class ItemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded by a correction"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ClinicalItem(models.Model):
    """One clinical item, with its structured values in ``data`` (validated per kind)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.NetworkPatient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=ItemKind.choices)
    title = models.CharField(max_length=200)
    code = models.CharField(max_length=64, blank=True)
    effective_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=ItemStatus.choices, default=ItemStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="correction")
    private = models.BooleanField(default=False, help_text="Never shared: stays in this organization only.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-effective_at"]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class Document(models.Model):
    """An uploaded PDF or image, stored under the organization's own media folder."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.OneToOneField(ClinicalItem, on_delete=models.PROTECT, related_name="document")
    file = models.FileField(upload_to="documents/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.original_name
