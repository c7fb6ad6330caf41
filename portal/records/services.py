"""Authoring, publishing, correcting and withdrawing clinical items.

Every function runs in the schema of the organization that owns the item (the request's
schema at its address); publishing writes the registry entry in the public schema in
the same transaction (one database, so one transaction spans both schemas).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from portal import uploads
from portal.accounts.models import Membership
from portal.accounts.roles import AUTHOR_ROLES, NAVIGATOR_ROLES
from portal.audit.models import AuditEvent
from portal.audit.services import AuditAction, audit_record, request_client
from portal.patients.models import EntryStatus, NetworkPatient, RegistryEntry
from portal.patients.selectors import user_can_view_patient
from portal.records.kinds import describe, form_for, to_data
from portal.records.models import BOARD_ONLY_KINDS, ClinicalItem, Document, ItemKind, ItemStatus
from portal.text import text_clean
from tenants.connection import tenant_connection
from tenants.selectors import organization_may_share

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.http import HttpRequest
    from django.utils.datastructures import MultiValueDict

    from portal.accounts.models import User
    from portal.fhir.models import ApiClient
    from tenants.models import Organization

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_KINDS = (uploads.PDF, uploads.PNG, uploads.JPEG)


def _require_author(*, user: User, organization: Organization, patient: NetworkPatient, kind: str = "") -> None:
    """Authors are the organization's clinicians with an author role who may see the patient;
    a tumor board's recommendation is written by its coordinator (a navigator) as well."""
    if tenant_connection.schema_name != organization.schema_name:
        raise PermissionDenied("Items are written in their organization's own schema.")
    membership = Membership.objects.active().filter(user=user, organization=organization).first()
    roles = AUTHOR_ROLES | NAVIGATOR_ROLES if kind in BOARD_ONLY_KINDS else AUTHOR_ROLES
    if membership is None or membership.role not in roles:
        raise PermissionDenied("Only clinicians of this organization author clinical items.")
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("You do not care for this patient here.")


def document_check(upload: UploadedFile) -> str:
    """The content type of an upload, read from its whole content (``portal.uploads``): a PDF
    that parses and carries no scripts or embedded files, or a PNG or JPEG that decodes."""
    return uploads.upload_check(upload, kinds=DOCUMENT_KINDS, max_bytes=MAX_DOCUMENT_BYTES, field="file").content_type


def _validated(
    kind: str, values: dict[str, Any], files: MultiValueDict[str, UploadedFile] | None = None
) -> tuple[dict[str, Any], dt.date]:
    try:
        form = form_for(kind, data=values, files=files)
    except KeyError:
        raise ValidationError({"kind": f"Unknown kind of item: {kind!r}."}) from None
    if not form.is_valid():
        raise ValidationError(
            {field: [m for e in errors for m in e.messages] for field, errors in form.errors.as_data().items()}
        )
    return to_data(form.cleaned_data), form.cleaned_data["effective_date"]


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


@transaction.atomic
def item_create(
    *,
    user: User,
    organization: Organization,
    patient: NetworkPatient,
    kind: str,
    values: dict[str, Any],
    files: MultiValueDict[str, UploadedFile] | None = None,
    publish: bool = False,
    private: bool = False,
    request: HttpRequest | None = None,
    via: ApiClient | None = None,
) -> ClinicalItem:
    """Write a draft item (and publish it at once when asked); ``via``: the API client that
    writes it for ``user`` (a FHIR import)."""
    _require_author(user=user, organization=organization, patient=patient, kind=kind)
    data, effective = _validated(kind, values, files)
    # A document's form requires the file, so _validated refused a document without one.
    upload = files.get("file") if files is not None and kind == ItemKind.DOCUMENT else None
    content_type = document_check(upload) if upload is not None else ""
    title, code, _summary = describe(kind, data)
    item = ClinicalItem.objects.create(
        patient=patient,
        kind=kind,
        title=title,
        code=code,
        effective_at=_aware(effective),
        data=data,
        author=user,
        private=private,
        via_client_id=via.client_id if via is not None else "",
        via_client_name=via.name if via is not None else "",
    )
    if upload is not None:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        Document.objects.create(
            item=item,
            file=upload,
            original_name=(upload.name or "")[:200],
            content_type=content_type,
            size=upload.size or 0,
            sha256=digest.hexdigest(),
        )
    audit_record(
        action=AuditAction.CREATE,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=item.pk,
        patient=patient,
        data_owner=organization,
        detail={"kind": kind} | ({"client": via.client_id, "via": "fhir import"} if via is not None else {}),
    )
    if publish:
        item_publish(user=user, organization=organization, item=item, request=request)
    return item


@transaction.atomic
def item_publish(
    *, user: User, organization: Organization, item: ClinicalItem, request: HttpRequest | None = None
) -> RegistryEntry:
    """Share a draft: the item stays here; a registry entry points at it from the public schema."""
    _require_author(user=user, organization=organization, patient=item.patient, kind=item.kind)
    item = ClinicalItem.objects.select_for_update().get(pk=item.pk)
    if item.status != ItemStatus.DRAFT:
        raise ValidationError("Only a draft can be published.")
    if item.private:
        raise ValidationError("A private item is never shared.")
    if not organization_may_share(organization):
        raise ValidationError(
            f"{organization.name} is {organization.get_status_display().lower()}: it shares nothing new."
        )
    item.status = ItemStatus.PUBLISHED
    item.published_at = timezone.now()
    item.save(update_fields=["status", "published_at"])
    _title, _code, summary = describe(item.kind, item.data)
    entry = RegistryEntry.objects.create(
        patient=item.patient,
        organization=organization,
        kind=item.kind,
        code=item.code,
        title=item.title,
        effective_at=item.effective_at,
        summary=summary,
        item_uuid=item.pk,
        version=item.version,
        status=EntryStatus.CURRENT,
        published_at=item.published_at,
        published_by=user,
    )
    audit_record(
        action=AuditAction.PUBLISH,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=item.pk,
        patient=item.patient,
        data_owner=organization,
        detail={"entry": str(entry.uuid)},
    )
    return entry


@dataclass
class PastItem:
    """One item of an import of the past: who wrote it, about whom, what, and when it was
    published (``items_publish_past``)."""

    author: User
    patient: NetworkPatient
    kind: str
    values: dict[str, Any]
    published_at: dt.datetime


@transaction.atomic
def items_publish_past(*, organization: Organization, items: list[PastItem]) -> list[RegistryEntry]:
    """Publish many items at once, each at the moment it was published in the past (an
    import of history, such as the demo network's year). The same rules as writing and
    publishing one by one — the organization's own schema, an author role, a patient the
    organization cares for, a valid item, an organization that may share — and the same
    rows: the item, its registry entry, the create and publish audit events. Returns the
    entries in the order of ``items``."""
    if tenant_connection.schema_name != organization.schema_name:
        raise PermissionDenied("Items are written in their organization's own schema.")
    if not organization_may_share(organization):
        raise ValidationError(f"{organization.name} shares nothing new.")
    authors = {
        m.user_id
        for m in Membership.objects.active().filter(organization=organization, user__in={i.author.pk for i in items})
        if m.role in AUTHOR_ROLES
    }
    from portal.patients.models import CareRelationship

    cared_for = set(
        CareRelationship.objects.active()
        .filter(organization=organization, patient__in={i.patient.pk for i in items})
        .values_list("patient_id", flat=True)
    )
    rows, entries, events = [], [], []
    for past in items:
        if past.author.pk not in authors:
            raise PermissionDenied("Only clinicians of this organization author clinical items.")
        if past.patient.pk not in cared_for:
            raise PermissionDenied("This organization does not care for this patient.")
        data, effective = _validated(past.kind, dict(past.values))
        title, code, summary = describe(past.kind, data)
        item = ClinicalItem(
            patient=past.patient,
            kind=past.kind,
            title=title,
            code=code,
            effective_at=_aware(effective),
            data=data,
            author=past.author,
            status=ItemStatus.PUBLISHED,
            published_at=past.published_at,
        )
        rows.append(item)
        entries.append(
            _first_entry(item, organization=organization, summary=summary, by=past.author, at=past.published_at)
        )
    ClinicalItem.objects.bulk_create(rows)
    RegistryEntry.objects.bulk_create(entries)
    for item, entry in zip(rows, entries, strict=True):
        for action, detail in (
            (AuditAction.CREATE, {"kind": item.kind}),
            (AuditAction.PUBLISH, {"entry": str(entry.uuid)}),
        ):
            events.append(
                AuditEvent(
                    action=action,
                    actor=item.author,
                    actor_label=item.author.email,
                    acting_organization=organization,
                    object_type="item",
                    object_id=str(item.pk),
                    patient=item.patient,
                    data_owner=organization,
                    detail=detail,
                )
            )
    AuditEvent.objects.bulk_create(events)
    return entries


@transaction.atomic
def item_correct(
    *,
    user: User,
    organization: Organization,
    item: ClinicalItem,
    values: dict[str, Any],
    request: HttpRequest | None = None,
    via: ApiClient | None = None,
) -> ClinicalItem:
    """Correct a published item: a new version; the earlier one is kept; the entry says amended.
    ``via``: the API client that sends the correction for ``user`` (a FHIR import's PUT)."""
    _require_author(user=user, organization=organization, patient=item.patient)
    item = ClinicalItem.objects.select_for_update().get(pk=item.pk)
    if item.status != ItemStatus.PUBLISHED:
        raise ValidationError("Only the current published version can be corrected.")
    if item.kind == ItemKind.DOCUMENT:
        raise ValidationError("A document cannot be edited; withdraw it and upload the right one.")
    data, effective = _validated(item.kind, values)
    title, code, summary = describe(item.kind, data)
    now = timezone.now()
    correction = ClinicalItem.objects.create(
        patient=item.patient,
        kind=item.kind,
        title=title,
        code=code,
        effective_at=_aware(effective),
        data=data,
        status=ItemStatus.PUBLISHED,
        version=item.version + 1,
        previous=item,
        author=user,
        published_at=now,
        via_client_id=via.client_id if via is not None else "",
        via_client_name=via.name if via is not None else "",
    )
    item.status = ItemStatus.SUPERSEDED
    item.save(update_fields=["status"])
    entry = RegistryEntry.objects.select_for_update().get(organization=organization, item_uuid=item.pk)
    entry.item_uuid = correction.pk
    entry.version = correction.version
    entry.title, entry.code, entry.summary = title, code, summary
    entry.effective_at = correction.effective_at
    entry.status = EntryStatus.AMENDED
    entry.published_at = now
    entry.published_by = user
    entry.save(
        update_fields=[
            "item_uuid",
            "version",
            "title",
            "code",
            "summary",
            "effective_at",
            "status",
            "published_at",
            "published_by",
        ]
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=correction.pk,
        patient=item.patient,
        data_owner=organization,
        detail={"corrects": str(item.pk), "version": correction.version}
        | ({"client": via.client_id, "via": "fhir import"} if via is not None else {}),
    )
    return correction


def _first_entry(
    item: ClinicalItem, *, organization: Organization, summary: dict[str, Any], by: User, at: dt.datetime
) -> RegistryEntry:
    """The registry entry (unsaved) of an item published in its first version, for the bulk
    writers that create many at once."""
    return RegistryEntry(
        patient=item.patient,
        organization=organization,
        kind=item.kind,
        code=item.code,
        title=item.title,
        effective_at=item.effective_at,
        summary=summary,
        item_uuid=item.pk,
        version=1,
        status=EntryStatus.CURRENT,
        published_at=at,
        published_by=by,
    )


@transaction.atomic
def item_withdraw(
    *, user: User, organization: Organization, item: ClinicalItem, reason: str, request: HttpRequest | None = None
) -> ClinicalItem:
    """Withdraw a published item: it stays on the record, marked withdrawn, with the reason."""
    _require_author(user=user, organization=organization, patient=item.patient)
    reason = text_clean(reason or "")
    if not reason:
        raise ValidationError({"reason": "Say why the item is withdrawn."})
    item = ClinicalItem.objects.select_for_update().get(pk=item.pk)
    if item.status != ItemStatus.PUBLISHED:
        raise ValidationError("Only a published item can be withdrawn.")
    item.status = ItemStatus.WITHDRAWN
    item.withdrawn_reason = reason[:300]
    item.save(update_fields=["status", "withdrawn_reason"])
    RegistryEntry.objects.filter(organization=organization, item_uuid=item.pk).update(status=EntryStatus.WITHDRAWN)
    audit_record(
        action=AuditAction.UPDATE,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=item.pk,
        patient=item.patient,
        data_owner=organization,
        detail={"withdrawn": True},
    )
    return item


def item_current(item: ClinicalItem) -> ClinicalItem:
    """The latest version of an item (following its corrections)."""
    while True:
        following = ClinicalItem.objects.filter(previous=item).first()
        if following is None:
            return item
        item = following


@transaction.atomic
def item_import_update(
    *,
    user: User,
    organization: Organization,
    item: ClinicalItem,
    values: dict[str, Any],
    request: HttpRequest | None = None,
    via: ApiClient | None = None,
) -> ClinicalItem | None:
    """A FHIR import's PUT of an item with new content: a published item is corrected (a new
    version, as ``item_correct``), a draft is changed in place; None when the content, once
    validated, is the item's already (nothing written). ``ValidationError`` for invalid values
    or an item that cannot change (withdrawn, a document); ``PermissionDenied`` as for any
    author's write."""
    item = item_current(item)
    _require_author(user=user, organization=organization, patient=item.patient, kind=item.kind)
    if item.kind in BOARD_ONLY_KINDS or item.kind == ItemKind.DOCUMENT:
        raise ValidationError(f"A {item.get_kind_display().lower()} is not changed through an import.")
    data, effective = _validated(item.kind, dict(values))
    if data == item.data and _aware(effective) == item.effective_at:
        return None
    if item.status == ItemStatus.PUBLISHED:
        return item_correct(user=user, organization=organization, item=item, values=values, request=request, via=via)
    if item.status != ItemStatus.DRAFT:
        raise ValidationError(f"This item is {item.get_status_display().lower()}: it is not changed any more.")
    item = ClinicalItem.objects.select_for_update().get(pk=item.pk)
    title, code, _summary = describe(item.kind, data)
    item.title, item.code, item.data, item.effective_at = title, code, data, _aware(effective)
    item.via_client_id = via.client_id if via is not None else ""
    item.via_client_name = via.name if via is not None else ""
    item.save(update_fields=["title", "code", "data", "effective_at", "via_client_id", "via_client_name"])
    audit_record(
        action=AuditAction.UPDATE,
        actor=user,
        organization=organization,
        request=request,
        object_type="item",
        object_id=item.pk,
        patient=item.patient,
        data_owner=organization,
        detail={"draft": True, "via": "fhir import"} | ({"client": via.client_id} if via is not None else {}),
    )
    return item


@dataclass
class ImportItem:
    """One item of an import through FHIR (``items_import``): about whom, what (the values of
    the kind's form), and whether to publish it at once."""

    patient: NetworkPatient
    kind: str
    values: dict[str, Any]
    publish: bool = False


class ItemImportError(ValidationError):
    """An item of an import is invalid: ``index`` says which (of ``items_import``'s list)."""

    def __init__(self, index: int, error: ValidationError) -> None:
        super().__init__(error.message_dict if hasattr(error, "error_dict") else error.messages)
        self.index = index


@transaction.atomic
def items_import(
    *,
    user: User,
    organization: Organization,
    items: list[ImportItem],
    request: HttpRequest | None = None,
    via: ApiClient | None = None,
) -> list[ClinicalItem]:
    """Write many items at once for one author, drafts or published now: the rules of
    ``item_create`` and ``item_publish`` (the organization's own schema, an author role, a
    patient this user may see here, a valid item, an organization that may share for what is
    published) and the same rows (the item, its registry entry when published, the create and
    publish audit events), in a handful of statements. A published item's registry entry takes
    the item's uuid, so the FHIR id an importer is told is the one it will read. Documents
    (files) are not imported here: ``item_create`` takes them one by one. ``via``: the API client
    that imports for ``user`` (named on the items, by their Provenance and in the audit log)."""
    if tenant_connection.schema_name != organization.schema_name:
        raise PermissionDenied("Items are written in their organization's own schema.")
    membership = Membership.objects.active().filter(user=user, organization=organization).first()
    if membership is None or membership.role not in AUTHOR_ROLES:
        raise PermissionDenied("Only clinicians of this organization author clinical items.")
    if any(i.publish for i in items) and not organization_may_share(organization):
        raise PermissionDenied(
            f"{organization.name} is {organization.get_status_display().lower()}: it shares nothing new."
        )
    for patient in {i.patient.pk: i.patient for i in items}.values():
        if not user_can_view_patient(user=user, organization=organization, patient=patient):
            raise PermissionDenied("You do not care for this patient here.")
    now = timezone.now()
    rows, entries, events = [], [], []
    for index, imported in enumerate(items):
        if imported.kind in BOARD_ONLY_KINDS or imported.kind == ItemKind.DOCUMENT:
            raise ItemImportError(index, ValidationError({"kind": f"{imported.kind} items are not imported."}))
        try:
            data, effective = _validated(imported.kind, dict(imported.values))
        except ValidationError as error:
            raise ItemImportError(index, error) from None
        title, code, summary = describe(imported.kind, data)
        item = ClinicalItem(
            patient=imported.patient,
            kind=imported.kind,
            title=title,
            code=code,
            effective_at=_aware(effective),
            data=data,
            author=user,
            status=ItemStatus.PUBLISHED if imported.publish else ItemStatus.DRAFT,
            published_at=now if imported.publish else None,
            via_client_id=via.client_id if via is not None else "",
            via_client_name=via.name if via is not None else "",
        )
        rows.append(item)
        created: dict[str, Any] = {"kind": item.kind, "via": "fhir import"}
        if via is not None:
            created["client"] = via.client_id
        events.append((AuditAction.CREATE, item, created))
        if imported.publish:
            entry = _first_entry(item, organization=organization, summary=summary, by=user, at=now)
            entry.uuid = item.pk
            entries.append(entry)
            events.append((AuditAction.PUBLISH, item, {"entry": str(entry.uuid)}))
    ClinicalItem.objects.bulk_create(rows)
    RegistryEntry.objects.bulk_create(entries)
    ip_address, user_agent = request_client(request)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action=action,
                actor=user,
                actor_label=f"{via.label} for {user.email}"[:254] if via is not None else user.email,
                acting_organization=organization,
                object_type="item",
                object_id=str(item.pk),
                patient=item.patient,
                data_owner=organization,
                ip_address=ip_address,
                user_agent=user_agent,
                detail=detail,
            )
            for action, item, detail in events
        ]
    )
    return rows
