"""Helpers of the messaging tests."""

from __future__ import annotations

from typing import Any

from portal.messaging.services import Recipient, thread_start


def okafor_writes_park(cast: Any, *, subject: str = "Labs after cycle 3", urgent: bool = False, body: str = "") -> Any:
    return thread_start(
        sender=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        subject=subject,
        patient=cast.patients["maria"],
        recipients=[Recipient(organization=cast.organizations["maple"], user=cast.users["park"])],
        body=body or "Please draw a CBC on Thursday and Monday.",
        urgent=urgent,
    )


def snapshot() -> dict[str, int]:
    from portal.messaging.models import Attachment, Message, MessageReceipt, Participant, ReadState, Thread
    from portal.notifications.models import Delivery, Notification

    return {
        m.__name__: m.objects.count()
        for m in (Thread, Participant, Message, Attachment, ReadState, MessageReceipt, Notification, Delivery)
    }
