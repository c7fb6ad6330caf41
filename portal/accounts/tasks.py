"""Celery tasks of the account lifecycle: bulk invitations and the periodic sweeps."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="portal.accounts.tasks.bulk_invitation_run")
def bulk_invitation_run(bulk_uuid: str) -> dict[str, Any]:
    """Process one uploaded CSV (sent in the organization's schema by ``send_in_schema``)."""
    from portal.accounts.models import BulkInvitation
    from portal.accounts.services import bulk_invitation_process

    bulk = BulkInvitation.objects.select_related("organization", "created_by").filter(uuid=bulk_uuid).first()
    if bulk is None:
        return {"status": "missing"}
    bulk = bulk_invitation_process(bulk=bulk)
    return {"status": bulk.status, "good": bulk.good_rows, "bad": bulk.bad_rows}


@shared_task(name="portal.accounts.tasks.attestation_sweep")
def attestation_sweep() -> dict[str, int]:
    from portal.accounts.services import attestation_sweep as sweep

    return sweep()


@shared_task(name="portal.accounts.tasks.inactivity_sweep")
def inactivity_sweep() -> dict[str, int]:
    from portal.accounts.services import inactivity_sweep as sweep

    return sweep()


@shared_task(name="portal.accounts.tasks.sessions_clear_expired")
def sessions_clear_expired() -> int:
    from portal.accounts.services import sessions_clear_expired as clear

    return clear()
