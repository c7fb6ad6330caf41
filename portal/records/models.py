"""An organization's repository (tenant app): its tables exist only in its own schema.

Clinical items are authored here, stay here, and become part of a patient's shared
record when published: publishing writes a registry entry in the public schema
(portal.patients.RegistryEntry) in the same transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
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
    # Written by an API client (``portal.fhir`` import) on the author's behalf: its client id
    # and name, named by the item's Provenance and the chart.
    via_client_id = models.CharField(max_length=64, blank=True)
    via_client_name = models.CharField(max_length=120, blank=True)

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


class ImportedResource(models.Model):
    """A FHIR resource this organization imported (``portal.fhir.importing``), under the keys
    its sender gave it: its logical id and its identifiers (``system|value``). A re-posted
    bundle finds its resources here (conditional create, conditional update, conditional
    references), so importing the same bundle twice creates nothing the second time.

    ``item`` is the clinical item the resource became (several resources may fold into one
    item: a cancer Condition and its stage, markers, ECOG and disease status); ``patient`` the
    network patient a Patient resource was registered as. Directory resources (Practitioner,
    Organization, Location) are remembered by their keys only, so references to them resolve.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    resource_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64, blank=True)
    identifiers = ArrayField(models.CharField(max_length=400), default=list, blank=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the resource as received (sorted keys)")
    patient = models.ForeignKey("patients.NetworkPatient", null=True, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(ClinicalItem, null=True, on_delete=models.PROTECT, related_name="imported_from")
    part = models.CharField(max_length=20, blank=True, help_text="Which part of the item (stage, er, ecog…)")
    display = models.CharField(max_length=200, blank=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["resource_type", "source_id"], name="imported_type_source_id"),
            GinIndex(fields=["identifiers"], name="imported_identifiers"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.source_id or self.pk}"
