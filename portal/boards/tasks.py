"""Periodic work of tumor boards (public schema)."""

from __future__ import annotations

from celery import shared_task

from portal.boards.models import Board
from portal.boards.services import board_escalations_run, meetings_generate


@shared_task(acks_late=True)
def meetings_generate_all() -> int:
    """Each active board's meetings for the coming weeks; idempotent."""
    return sum(meetings_generate(board=board) for board in Board.objects.filter(is_active=True))


@shared_task(acks_late=True)
def escalate_overdue_recommendations() -> int:
    """Escalate tumor-board recommendations not acknowledged or not followed up;
    idempotent (once per level)."""
    return board_escalations_run()
