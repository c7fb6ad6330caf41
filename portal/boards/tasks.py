"""Periodic work of tumor boards (public schema)."""

from __future__ import annotations

from celery import shared_task

from portal.boards.models import Board
from portal.boards.services import meetings_generate


@shared_task(acks_late=True)
def meetings_generate_all() -> int:
    """Each active board's meetings for the coming weeks; idempotent."""
    return sum(meetings_generate(board=board) for board in Board.objects.filter(is_active=True))
