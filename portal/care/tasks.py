"""Periodic work of the care app (public schema: referrals, tasks and hand-offs span organizations)."""

from __future__ import annotations

from celery import shared_task

from portal.boards.services import board_escalations_run
from portal.care.services import escalations_run


@shared_task(acks_late=True)
def escalate_overdue() -> int:
    """Escalate overdue referrals, task occurrences, hand-offs and tumor-board
    recommendations not acknowledged or not followed up; idempotent (once per level)."""
    return escalations_run() + board_escalations_run()
