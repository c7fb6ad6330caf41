"""Invitations in bulk, from a CSV file a site admin uploads; processed by the worker."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.accounts.models import BulkInvitation, BulkInvitationStatus, User
from portal.accounts.services.invitations import invitation_create, invitation_problems
from portal.audit.services import AuditAction, audit_record
from portal.text import text_clean
from tenants.models import Organization

CSV_COLUMNS = ("email", "full_name", "role", "site_admin")


def bulk_invitation_create(
    *, organization: Organization, csv_text: str, filename: str, created_by: User, request: HttpRequest | None = None
) -> BulkInvitation:
    """Record the upload and send the Celery task after commit."""
    from portal.accounts.tasks import bulk_invitation_run
    from portal.celery import send_in_schema

    rows = _csv_rows(csv_text)
    with transaction.atomic():
        bulk = BulkInvitation.objects.create(
            organization=organization,
            created_by=created_by,
            filename=filename[:200],
            csv_text=csv_text,
            total_rows=len(rows),
        )
        audit_record(
            action=AuditAction.ADMIN,
            actor=created_by,
            organization=organization,
            request=request,
            object_type="bulk_invitation",
            object_id=bulk.uuid,
            data_owner=organization,
            detail={"step": "bulk_invitation_uploaded", "rows": len(rows)},
        )
        bulk_uuid = str(bulk.uuid)
        transaction.on_commit(lambda: send_in_schema(bulk_invitation_run, organization.schema_name, bulk_uuid))
    return bulk


def _csv_rows(csv_text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    rows = []
    for row in reader:
        cleaned = {(key or "").strip().lower(): text_clean(value or "") for key, value in row.items() if key}
        if any(cleaned.values()):
            rows.append(cleaned)
    return rows


def csv_header_problems(csv_text: str) -> list[str]:
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in ("email", "role") if column not in header]
    return [f"The first line must name the columns; missing: {', '.join(missing)}."] if missing else []


def bulk_invitation_process(*, bulk: BulkInvitation) -> BulkInvitation:
    """Validate and invite row by row; each good row commits on its own, bad rows are reported.

    Run twice, it acts once: rows already reported are skipped.
    """
    if bulk.status == BulkInvitationStatus.DONE:
        return bulk
    BulkInvitation.objects.filter(pk=bulk.pk).update(status=BulkInvitationStatus.RUNNING)
    rows = _csv_rows(bulk.csv_text)
    report = list(bulk.report)
    seen = {entry["email"] for entry in report if entry.get("email")}
    for index, row in enumerate(rows[len(report) :], start=len(report)):
        line = index + 2  # the header is line 1
        email = row.get("email", "").lower()
        role = row.get("role", "").lower()
        errors = {}
        if email in seen:
            errors = {"email": ["This email appears twice in the file."]}
        else:
            errors = invitation_problems(organization=bulk.organization, email=email, role=role)
        entry: dict[str, Any] = {"line": line, "email": email, "role": role, "ok": not errors, "errors": errors}
        if not errors:
            try:
                invitation_create(
                    organization=bulk.organization,
                    email=email,
                    role=role,
                    full_name=row.get("full_name", ""),
                    is_site_admin=row.get("site_admin", "").lower() in {"1", "yes", "true", "y"},
                    invited_by=bulk.created_by,
                )
            except ValidationError as error:
                entry.update(ok=False, errors=getattr(error, "message_dict", {"row": error.messages}))
        seen.add(email)
        report.append(entry)
        BulkInvitation.objects.filter(pk=bulk.pk).update(report=report, processed_rows=len(report))
    BulkInvitation.objects.filter(pk=bulk.pk).update(
        status=BulkInvitationStatus.DONE, finished_at=timezone.now(), total_rows=len(rows)
    )
    bulk.refresh_from_db()
    return bulk
