"""Periodic work of the care app (public schema: referrals, tasks and hand-offs span organizations)."""

from __future__ import annotations

from celery import shared_task

from portal.care.services import escalations_run


@shared_task(acks_late=True)
def escalate_overdue() -> int:
    """Escalate overdue referrals, task occurrences and hand-offs not acknowledged or not
    followed up; idempotent (once per level). Tumor-board recommendations escalate in
    ``portal.boards.tasks.escalate_overdue_recommendations``."""
    return escalations_run()
