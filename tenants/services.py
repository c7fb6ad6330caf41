"""Creating, bringing live, suspending and offboarding organizations."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.audit.services import AuditAction, audit_record
from tenants.addresses import organization_host, schema_name_for
from tenants.connection import tenant_connection
from tenants.models import (
    Agreement,
    Domain,
    Organization,
    OrganizationExport,
    OrganizationKind,
    OrganizationStatus,
    Provisioning,
    ProvisioningState,
)
from tenants.provisioning import schema_clone_from_template, template_schema_ensure

if TYPE_CHECKING:
    from portal.accounts.models import User


def network_ensure() -> Organization:
    """The network's own organization: the public schema, at the base domain."""
    network, _ = Organization.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={
            "name": "Continuum network",
            "slug": "network",
            "kind": OrganizationKind.NETWORK,
            "status": OrganizationStatus.ACTIVE,
        },
    )
    Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": network, "is_primary": True})
    return network


def organization_create(
    *,
    name: str,
    slug: str,
    kind: str,
    status: str = OrganizationStatus.ONBOARDING,
    npi: str = "",
    city: str = "",
    requested_by: User | None = None,
    request: HttpRequest | None = None,
) -> Organization:
    """Record an organization, then provision its schema and address.

    The row and its provisioning record are written in one transaction; the schema (a
    clone of the template) and the address follow as separate, idempotent steps, so a
    failure halfway leaves a recorded state that ``organization_provision`` resumes.
    """
    with transaction.atomic():
        organization = Organization(
            schema_name=schema_name_for(slug), name=name, slug=slug, kind=kind, status=status, npi=npi, city=city
        )
        organization.save()
        Provisioning.objects.create(organization=organization, requested_by=requested_by)
        audit_record(
            action=AuditAction.CREATE,
            actor=requested_by,
            request=request,
            object_type="organization",
            object_id=organization.uuid,
            data_owner=organization,
            detail={"step": "organization_recorded", "slug": slug},
        )
    organization_provision(organization=organization)
    return organization


def _provisioning_state_set(provisioning: Provisioning, state: str, **fields: Any) -> None:
    provisioning.state = state
    for key, value in fields.items():
        setattr(provisioning, key, value)
    provisioning.save(update_fields=["state", *fields.keys()])


def organization_provision(*, organization: Organization) -> Provisioning:
    """Run (or resume) the provisioning steps. Each step checks what exists before acting.

    Raises the step's error after recording it (state ``failed``, ``last_error``).
    """
    provisioning, _ = Provisioning.objects.get_or_create(organization=organization)
    if provisioning.state == ProvisioningState.PROVISIONED:
        return provisioning
    started = time.perf_counter()
    provisioning.attempts += 1
    provisioning.save(update_fields=["attempts"])
    step = "schema"
    try:
        template_schema_ensure()  # committed on its own when not inside a caller's transaction
        with transaction.atomic():
            schema_clone_from_template(organization.schema_name)
            _provisioning_state_set(provisioning, ProvisioningState.SCHEMA_READY)
        step = "address"
        with transaction.atomic():
            host = organization_host(organization.slug)
            if not Domain.objects.filter(domain=host, tenant=organization).exists():
                Domain.objects.create(domain=host, tenant=organization, is_primary=True)
            _provisioning_state_set(provisioning, ProvisioningState.ADDRESS_READY)
        with transaction.atomic():
            _provisioning_state_set(
                provisioning,
                ProvisioningState.PROVISIONED,
                last_error="",
                finished_at=timezone.now(),
                seconds=time.perf_counter() - started,
            )
    except Exception as error:
        tenant_connection.set_schema_to_public()
        _provisioning_state_set(
            provisioning, ProvisioningState.FAILED, last_error=f"{step}: {type(error).__name__}: {error}"[:2000]
        )
        raise
    return provisioning


def organization_provision_retry(
    *, organization: Organization, actor: User, request: HttpRequest | None = None
) -> Provisioning:
    provisioning = organization_provision(organization=organization)
    audit_record(
        action=AuditAction.ADMIN,
        actor=actor,
        request=request,
        object_type="organization",
        object_id=organization.uuid,
        data_owner=organization,
        detail={"step": "provisioning_retried", "attempts": provisioning.attempts},
    )
    return provisioning


@transaction.atomic
def agreement_record(
    *,
    organization: Organization,
    kind: str,
    document: UploadedFile,
    signer_name: str,
    signed_on: dt.date,
    signer_title: str = "",
    recorded_by: User | None = None,
    request: HttpRequest | None = None,
) -> Agreement:
    """Record (or replace) a signed agreement of a partner."""
    agreement = Agreement.objects.select_for_update().filter(organization=organization, kind=kind).first()
    is_new = agreement is None
    if agreement is None:
        agreement = Agreement(organization=organization, kind=kind)
    agreement.document = document
    agreement.signer_name = signer_name
    agreement.signer_title = signer_title
    agreement.signed_on = signed_on
    agreement.recorded_by = recorded_by
    if is_new:
        agreement.save()
    else:
        agreement.save(update_fields=["document", "signer_name", "signer_title", "signed_on", "recorded_by"])
    audit_record(
        action=AuditAction.ADMIN,
        actor=recorded_by,
        request=request,
        object_type="agreement",
        object_id=agreement.pk,
        data_owner=organization,
        detail={"step": "agreement_recorded", "kind": kind},
    )
    return agreement


# --- The organization's lifecycle ----------------------------------------------------
# onboarding → active (go live); active or onboarding → suspended; suspended → what it was
# (reinstate); any but offboarded → offboarded; offboarded → its schema archived. Each move
# locks the row, refuses from any other status, does its own work and records one audit
# event whose detail names the step.


@dataclass(frozen=True)
class LifecycleMove:
    step: str  # what the audit event's detail calls it
    sources: frozenset[str]
    refusal: str  # the error when the organization's status is not among ``sources``
    code: str = "bad_status"


_ALL_STATUSES = frozenset(OrganizationStatus.values)
LIFECYCLE: dict[str, LifecycleMove] = {
    "go_live": LifecycleMove(
        "went_live",
        frozenset({OrganizationStatus.ONBOARDING}),
        "Only an organization that is onboarding can go live.",
        code="not_onboarding",
    ),
    "suspend": LifecycleMove(
        "suspended",
        frozenset({OrganizationStatus.ACTIVE, OrganizationStatus.ONBOARDING}),
        "Only an active or onboarding organization can be suspended.",
    ),
    "reinstate": LifecycleMove(
        "reinstated", frozenset({OrganizationStatus.SUSPENDED}), "Only a suspended organization can be reinstated."
    ),
    "offboard": LifecycleMove(
        "offboarded",
        _ALL_STATUSES - {OrganizationStatus.OFFBOARDED},
        "This organization is already offboarded.",
    ),
    "archive": LifecycleMove(
        "schema_archived",
        frozenset({OrganizationStatus.OFFBOARDED}),
        "Offboard the organization before archiving its schema.",
    ),
}

# A move's own work on the locked organization: returns what the audit detail adds.
LifecycleWork = Callable[[Organization], dict[str, Any]]


def _organization_move(
    *, organization: Organization, move: str, work: LifecycleWork, actor: User, request: HttpRequest | None
) -> dict[str, Any]:
    """Apply one move of ``LIFECYCLE`` in one transaction; returns the audit detail's extra."""
    spec = LIFECYCLE[move]
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        if organization.status not in spec.sources:
            raise ValidationError(spec.refusal, code=spec.code)
        detail = work(organization)
        audit_record(
            action=AuditAction.ADMIN,
            actor=actor,
            request=request,
            object_type="organization",
            object_id=organization.uuid,
            data_owner=organization,
            detail={"step": spec.step, **detail},
        )
    return detail


def organization_go_live(*, organization: Organization, actor: User, request: HttpRequest | None = None) -> None:
    """Make an onboarding organization active, only if nothing on its checklist is missing."""
    from tenants.selectors import onboarding_missing

    def work(organization: Organization) -> dict[str, Any]:
        missing = onboarding_missing(organization)
        if missing:
            raise ValidationError([f"Missing: {item}" for item in missing], code="not_ready")
        organization.status = OrganizationStatus.ACTIVE
        organization.went_live_at = timezone.now()
        organization.save(update_fields=["status", "went_live_at"])
        return {}

    _organization_move(organization=organization, move="go_live", work=work, actor=actor, request=request)


def organization_suspend(*, organization: Organization, actor: User, request: HttpRequest | None = None) -> None:
    """Refuse its users' sign-ins and new sharing; keep every item, relationship and membership."""

    def work(organization: Organization) -> dict[str, Any]:
        previous = organization.status
        organization.status = OrganizationStatus.SUSPENDED
        organization.suspended_at = timezone.now()
        organization.save(update_fields=["status", "suspended_at"])
        return {"previous_status": previous}

    _organization_move(organization=organization, move="suspend", work=work, actor=actor, request=request)


def organization_reinstate(*, organization: Organization, actor: User, request: HttpRequest | None = None) -> None:
    """Back to active (or onboarding, if it never went live)."""

    def work(organization: Organization) -> dict[str, Any]:
        organization.status = OrganizationStatus.ACTIVE if organization.went_live_at else OrganizationStatus.ONBOARDING
        organization.suspended_at = None
        organization.save(update_fields=["status", "suspended_at"])
        return {}

    _organization_move(organization=organization, move="reinstate", work=work, actor=actor, request=request)


def organization_export(
    *, organization: Organization, actor: User, request: HttpRequest | None = None
) -> OrganizationExport:
    """Write a zip of the organization's repository (items, files, manifest) and record it."""
    from tenants.export import repository_export_write

    path, digest, size, manifest = repository_export_write(organization=organization)
    with transaction.atomic():
        export = OrganizationExport.objects.create(
            organization=organization,
            path=str(path),
            sha256=digest,
            size_bytes=size,
            manifest=manifest,
            created_by=actor,
        )
        audit_record(
            action=AuditAction.EXPORT,
            actor=actor,
            request=request,
            object_type="organization_export",
            object_id=export.uuid,
            data_owner=organization,
            detail={"step": "exported", "items": manifest.get("item_count", 0), "files": manifest.get("file_count", 0)},
        )
    return export


def organization_offboard(
    *, organization: Organization, actor: User, request: HttpRequest | None = None
) -> dict[str, int]:
    """End its care relationships, memberships and pending invitations; sign-in closes.

    Requires an export first. Items stay in its schema; the audit trail stays as it is.
    """
    from portal.accounts.models import Invitation, Membership
    from portal.accounts.roles import MembershipStatus
    from portal.patients.services import care_relationships_end_for_organization

    def work(organization: Organization) -> dict[str, Any]:
        if organization.is_network:
            raise ValidationError("The network itself cannot be offboarded.", code="bad_status")
        if not organization.exports.exists():
            raise ValidationError("Export the organization's repository before offboarding it.", code="no_export")
        now = timezone.now()
        relationships = care_relationships_end_for_organization(organization=organization, ended_by=actor)
        memberships = (
            Membership.objects.filter(organization=organization)
            .exclude(status=MembershipStatus.DEACTIVATED)
            .update(status=MembershipStatus.DEACTIVATED, status_changed_at=now)
        )
        Invitation.objects.filter(organization=organization, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        organization.status = OrganizationStatus.OFFBOARDED
        organization.offboarded_at = now
        organization.save(update_fields=["status", "offboarded_at"])
        return {"care_relationships_ended": relationships, "memberships_ended": memberships}

    return _organization_move(organization=organization, move="offboard", work=work, actor=actor, request=request)


ARCHIVE_PREFIX = "archived_"


def organization_archive_schema(*, organization: Organization, actor: User, request: HttpRequest | None = None) -> str:
    """Rename an offboarded organization's schema to ``archived_<schema>``: kept, read-only by convention.

    The organization row follows the new name, so registry entries that point at its
    items still resolve.
    """

    def work(organization: Organization) -> dict[str, Any]:
        if organization.schema_name.startswith(ARCHIVE_PREFIX):
            raise ValidationError("This schema is already archived.", code="already_archived")
        old = organization.schema_name
        new = ARCHIVE_PREFIX + old
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER SCHEMA "{old}" RENAME TO "{new}"')
        Organization.objects.filter(pk=organization.pk).update(schema_name=new)
        return {"from": old, "to": new}

    detail = _organization_move(organization=organization, move="archive", work=work, actor=actor, request=request)
    from tenants.routing import clear_routing_cache

    clear_routing_cache()
    return str(detail["to"])
