"""Small builders for the care tests (publication is simulated by writing RegistryEntry rows)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from portal.care.services import referral_create, referral_transition
from portal.patients.models import RegistryEntry


def entry(
    patient: Any,
    organization: Any,
    kind: str = "lab_result",
    *,
    code: str = "58410-2",
    title: str = "CBC",
    days_ago: float = 0,
    **extra: Any,
) -> RegistryEntry:
    return RegistryEntry.objects.create(
        patient=patient,
        organization=organization,
        kind=kind,
        code=code,
        title=title,
        effective_at=timezone.now() - dt.timedelta(days=days_ago),
        summary=extra.pop("summary", {}),
        item_uuid=uuid.uuid4(),
        **extra,
    )


def current_occurrence(task: Any) -> Any:
    """The open occurrence of the task whose window holds this moment: a result collected now
    answers it (an earlier occurrence's window may be over)."""
    from portal.care.results import windows

    occurrences = list(task.occurrences.all())
    spans = windows(task, occurrences)
    now = timezone.now()
    return next(o for o in occurrences if o.done_at is None and now in spans[o.pk])


def maple_to_northfield(cast: Any, **kwargs: Any) -> Any:
    """Dr. Park refers Maria Alvarez from Maple to Northfield."""
    return referral_create(
        user=cast.users["park"],
        organization=cast.organizations["maple"],
        patient=cast.patients["maria"],
        receiving_organization=cast.organizations["northfield"],
        specialty="Hematology/oncology consult",
        reason="Persistent lymphadenopathy",
        checklist=kwargs.pop("checklist", ["pathology", "imaging"]),
        **kwargs,
    )


def receiver_step(cast: Any, referral: Any, action: str, **kwargs: Any) -> Any:
    return referral_transition(
        referral=referral,
        action=action,
        user=cast.users["navarro"],
        organization=cast.organizations["northfield"],
        **kwargs,
    )


def advance(cast: Any, referral: Any, state: str) -> Any:
    """Bring a fresh referral to ``state`` through the allowed path."""
    path = {
        "requested": [],
        "received": ["receive"],
        "accepted": ["receive", "accept"],
        "declined": ["receive", "decline"],
        "scheduled": ["receive", "accept", "schedule"],
        "completed": ["receive", "accept", "schedule", "complete"],
        "cancel_requested": ["request_cancel"],
        "cancelled": ["request_cancel", "confirm_cancel"],
    }[state]
    for action in path:
        kwargs = step_arguments(cast, referral, action)
        if action == "request_cancel":
            referral = referral_transition(
                referral=referral,
                action=action,
                user=cast.users["park"],
                organization=cast.organizations["maple"],
                **kwargs,
            )
        else:
            referral = receiver_step(cast, referral, action, **kwargs)
    return referral


def step_arguments(cast: Any, referral: Any, action: str) -> dict[str, Any]:
    if action in ("decline", "request_cancel"):
        return {"reason": "Seen elsewhere"}
    if action == "note":
        return {"note": "Biopsy booked"}
    if action == "schedule":
        return {"appointment_at": timezone.now() + dt.timedelta(days=3)}
    if action == "complete":
        # The appointment scheduled above is still to come: closing before it takes a reason.
        return {
            "outcome_entry": entry(
                referral.patient, cast.organizations["northfield"], "consult_note", code="", title="Consult report"
            ),
            "reason": "Seen earlier: a slot opened",
        }
    return {}
