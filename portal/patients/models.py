"""The network's side of the shared record: master patient index, care relationships,
and the registry of published entries (whose items live in organizations' schemas)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass
from django.db import models
from django.db.models import F
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

if TYPE_CHECKING:
    import datetime as dt

    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class NetworkPatient(models.Model):
    """One person, once, across the network (the master patient index)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    # Normalized for matching and search (lower case, no accents or punctuation).
    match_key = models.CharField(max_length=220, db_index=True, editable=False, default="")
    phone = models.CharField(max_length=30, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        permissions = [
            ("view_chart", "May open the patient's chart (the organization's own entries)"),
            ("view_shared_record", "May read what other organizations share about the patient"),
        ]
        indexes = [
            GinIndex(fields=["match_key"], name="patient_match_key_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["date_of_birth"], name="patient_date_of_birth"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class PatientIdentifier(models.Model):
    """An organization's own medical record number for a network patient."""

    patient = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE, related_name="identifiers")
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="patient_identifiers"
    )
    mrn = models.CharField("MRN", max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="one_mrn_per_org"),
            models.UniqueConstraint(fields=["organization", "patient"], name="one_patient_record_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.mrn} at {self.organization_id}"


class RelationshipKind(models.TextChoices):
    PCP_OF_RECORD = "pcp_of_record", "Primary-care doctor of record"
    REFERRAL = "referral", "Referral"
    CARE_TEAM = "care_team", "Care team"
    TUMOR_BOARD = "tumor_board", "Tumor board"
    REGISTERED = "registered", "Registered here"


class NameInitials(models.Func):
    """The first letters of a name key's first and last words: ``"nikhil dalteau"`` → ``"nd"``."""

    output_field = models.TextField()

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        key, params = compiler.compile(self.get_source_expressions()[0])  # the key twice, its parameters too
        return f"(left({key}, 1) || substring({key}, '(?:^| )([a-z])[a-z]*$'))", (*params, *params)


class CareRelationshipQuerySet(models.QuerySet["CareRelationship"]):
    def active(self, at: object = None) -> CareRelationshipQuerySet:
        now = at or timezone.now()
        return self.filter(starts_at__lte=now, ended_at__isnull=True).filter(
            models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now)
        )


class CareRelationship(models.Model):
    """Which organization (and optionally which clinician) cares for a patient, since when.

    The source of truth for access to the shared record.
    """

    patient = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE, related_name="care_relationships")
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="care_relationships"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="care_relationships"
    )
    kind = models.CharField(max_length=20, choices=RelationshipKind.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Access expires at this time.")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Ended early by someone.")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    # Whether the relationship opens what other organizations share about the patient, or
    # only the organization's own entries. Registering a patient gives the second; only a
    # grant that comes from an organization already sharing the record (a referral it
    # accepted from a sharing referrer, a hand-off, a confirmed access request, a tumor
    # board) gives the first.
    shares_record = models.BooleanField(default=True)
    # The patient's name key (``NetworkPatient.match_key``, which never changes), kept here
    # so a name search runs over one organization's patients in one index, not the network's.
    match_key = models.CharField(max_length=220, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CareRelationshipQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "patient"]),
            models.Index(fields=["patient", "organization"]),
            # Name search walks this index nearest name first within one organization
            # (``'query' <<-> match_key`` ordering; btree_gist serves the organization).
            # The initials in between are never searched on: they make the index keep
            # names that start alike together, so the trigram summaries of its branches
            # stay distinct and the walk reads a few pages of them, not most of the
            # organization's (a hundred thousand names: 70 pages instead of 600 for a full
            # name with a typo). The 256-byte signature (the default is 12) keeps them apart too.
            GistIndex(
                OpClass(F("organization"), name="gist_int8_ops"),
                OpClass(NameInitials(F("match_key")), name="gist_text_ops"),
                OpClass(F("match_key"), name="gist_trgm_ops(siglen=256)"),
                name="relationship_name_knn",
            ),
        ]
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.organization_id} for patient {self.patient_id}"

    def is_active_at(self, moment: dt.datetime | None = None) -> bool:
        now = moment or timezone.now()
        return self.ended_at is None and self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


# django-guardian object permissions with direct foreign keys (never the generic ones).
class NetworkPatientUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE)


class NetworkPatientGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE)


class EntryStatus(models.TextChoices):
    CURRENT = "current", "Current"
    AMENDED = "amended", "Amended"
    WITHDRAWN = "withdrawn", "Withdrawn"


class RegistryEntry(models.Model):
    """A published item of the shared record: what exists, whose it is, when, and a summary.

    The item itself stays in its owner's schema (``organization`` + ``item_uuid``);
    the summary is enough for a chart overview, a timeline and "tests already done".
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(NetworkPatient, on_delete=models.PROTECT, related_name="registry_entries")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="registry_entries")
    kind = models.CharField(max_length=40, db_index=True)
    code = models.CharField(max_length=64, blank=True, help_text="LOINC, SNOMED CT, ICD-10… where there is one")
    title = models.CharField(max_length=200)
    effective_at = models.DateTimeField(db_index=True, help_text="When it happened clinically")
    summary = models.JSONField(default=dict, blank=True, help_text="The key values, shown without opening the item")
    item_uuid = models.UUIDField(help_text="The item in the owner's schema")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=EntryStatus.choices, default=EntryStatus.CURRENT)
    published_at = models.DateTimeField(default=timezone.now, db_index=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-effective_at"]
        indexes = [
            models.Index(fields=["patient", "-effective_at"]),
            models.Index(fields=["patient", "kind", "-effective_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "item_uuid"], name="one_entry_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class EmergencyAccess(models.Model):
    """A break-the-glass grant: a clinician without a relationship, a reason, a time box."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(NetworkPatient, on_delete=models.PROTECT, related_name="emergency_accesses")
    reason = models.TextField()
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"Emergency access {self.uuid}"


class PatientView(models.Model):
    """When a user last opened a patient's chart ("what is new since I last looked")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE, related_name="+")
    last_viewed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "patient"], name="one_view_mark_per_user_patient")]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.patient_id}"


class MatchStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    CONFIRMED = "confirmed", "Confirmed: same person"
    REJECTED = "rejected", "Rejected: different people"


class PatientMatchCandidate(models.Model):
    """A probable but uncertain match, queued for a person to confirm or reject.

    ``patient`` was registered as new; ``candidate`` is the existing network patient it
    may be. Nothing is merged until someone confirms.
    """

    patient = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.CharField(max_length=300)
    status = models.CharField(max_length=12, choices=MatchStatus.choices, default=MatchStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["patient", "candidate"], name="one_candidate_per_pair")]

    def __str__(self) -> str:
        return f"{self.patient_id} ~ {self.candidate_id} ({self.status})"


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AccessRequest(models.Model):
    """An organization that registered a patient asks to see what others share about them.

    The organizations already sharing the patient's record are asked (their navigators and
    site admins); one of them confirms (a sharing care relationship starts, granted by that
    person) or declines with a reason. The asker never learns from the request whether
    anybody else knows the patient.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(NetworkPatient, on_delete=models.CASCADE, related_name="access_requests")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=12, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deciding_organization = models.ForeignKey(
        "tenants.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    relationship = models.ForeignKey(
        CareRelationship, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "organization"],
                condition=models.Q(status="pending"),
                name="one_pending_access_request_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"Access request {self.uuid} ({self.status})"
