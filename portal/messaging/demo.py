"""Demo threads: Dr. Okafor and Dr. Park about Maria Alvarez, a message to Maple's care
team, and an urgent one. Idempotent: a thread with the same subject is not written twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from portal.messaging.models import Thread
from portal.messaging.services import Recipient, message_reply, thread_start

if TYPE_CHECKING:
    from portal.demo.cast import Cast


@transaction.atomic
def seed(cast: Cast) -> None:
    okafor, park, navarro = cast.users["okafor"], cast.users["park"], cast.users["navarro"]
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    maria = cast.patients["maria"]

    subject = "Follow-up labs after cycle 3"
    if not Thread.objects.filter(subject=subject, created_by=okafor).exists():
        thread = thread_start(
            sender=okafor,
            organization=northfield,
            subject=subject,
            patient=maria,
            recipients=[Recipient(organization=maple, user=park)],
            body=(
                "Peter, cycle 3 went in on Monday. Could your office draw a CBC with differential on "
                "Thursday and again Monday? Please flag an ANC under 1.0 to me directly. Thanks — Olivia"
            ),
        )
        message_reply(
            thread=thread,
            sender=park,
            organization=maple,
            body="Will do. Thursday's draw is booked for 9:00; I'll send the results as soon as they post.",
        )

    subject = "Survivorship visit scheduling"
    if not Thread.objects.filter(subject=subject, created_by=navarro).exists():
        thread_start(
            sender=navarro,
            organization=northfield,
            subject=subject,
            patient=maria,
            recipients=[Recipient(organization=maple)],
            body=(
                "Hello Maple team — the survivorship care plan will be ready at the end of next month. "
                "Who at your practice should receive the hand-off? Nina (oncology nurse navigator)"
            ),
        )

    subject = "Fever after chemotherapy — please call"
    if not Thread.objects.filter(subject=subject, created_by=park).exists():
        thread_start(
            sender=park,
            organization=maple,
            subject=subject,
            patient=maria,
            urgent=True,
            recipients=[
                Recipient(organization=northfield, user=okafor),
                Recipient(organization=northfield, user=navarro),
            ],
            body="Patient called with a temperature of 38.4 °C this morning. I've sent her to the infusion center's triage line; please call me at the office.",
        )
