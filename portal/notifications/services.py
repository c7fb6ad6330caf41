"""Telling people that something waits for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from portal.notifications.models import Notification


@transaction.atomic
def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    link: str = "",
    organization: Any = None,
    urgent: bool = False,
) -> list[Notification]:
    """Write one in-app notification per distinct recipient, in the caller's transaction."""
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(recipient=user, organization=organization, kind=kind, title=title, link=link, urgent=urgent)
        )
    return Notification.objects.bulk_create(rows)
