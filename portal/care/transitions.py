"""The allowed moves of the care app's objects: the referral's transitions (after HL7 360X
and FHIR Task: which action, from which states, to which state, by which side), and the
care task's and the hand-off's moves (one table each, one function that applies a move)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portal.accounts.models import User
from portal.care.models import CareTask, Handoff, TaskStatus
from portal.care.models import ReferralState as S


class TransitionRefused(PermissionDenied):
    """The action is not allowed now, or not for this side."""


REFERRER = "referrer"
RECEIVER = "receiver"


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: back to the state before the cancellation request / unchanged
    side: str


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition("receive", "Mark received", frozenset({S.REQUESTED}), S.RECEIVED, RECEIVER),
        Transition("accept", "Accept", frozenset({S.RECEIVED}), S.ACCEPTED, RECEIVER),
        Transition("decline", "Decline", frozenset({S.RECEIVED}), S.DECLINED, RECEIVER),
        Transition("schedule", "Schedule", frozenset({S.ACCEPTED}), S.SCHEDULED, RECEIVER),
        Transition("note", "Add interim note", frozenset({S.ACCEPTED, S.SCHEDULED}), None, RECEIVER),
        Transition("complete", "Return outcome", frozenset({S.SCHEDULED}), S.COMPLETED, RECEIVER),
        Transition(
            "request_cancel",
            "Request cancellation",
            frozenset({S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.SCHEDULED}),
            S.CANCEL_REQUESTED,
            REFERRER,
        ),
        Transition("confirm_cancel", "Confirm cancellation", frozenset({S.CANCEL_REQUESTED}), S.CANCELLED, RECEIVER),
        Transition("refuse_cancel", "Keep the referral", frozenset({S.CANCEL_REQUESTED}), None, RECEIVER),
    ]
}


def allowed_actions(*, state: str, side: str | None) -> list[Transition]:
    """The transitions a member of ``side`` may take from ``state`` (for buttons)."""
    return [t for t in TRANSITIONS.values() if state in t.sources and t.side == side]


# What each step is called once done, for a referral's history ("Marked received by …").
EVENT_LABELS: dict[str, str] = {
    "request": "Requested",
    "receive": "Marked received",
    "accept": "Accepted",
    "decline": "Declined",
    "schedule": "Consult scheduled",
    "note": "Interim note added",
    "complete": "Outcome returned",
    "request_cancel": "Cancellation requested",
    "confirm_cancel": "Cancellation confirmed",
    "refuse_cancel": "Cancellation refused, referral kept",
}

# What the other side is told when a step is taken (the in-app title, followed by the
# specialty; emails never carry it).
NOTIFICATION_TITLES: dict[str, str] = {
    "request": "New referral",
    "receive": "Referral received",
    "accept": "Referral accepted",
    "decline": "Referral declined",
    "schedule": "Consult scheduled",
    "note": "New interim note on a referral",
    "complete": "Consult outcome returned",
    "request_cancel": "Cancellation requested",
    "confirm_cancel": "Referral cancelled",
    "refuse_cancel": "Cancellation refused: the referral stands",
}


def event_label(action: str) -> str:
    return EVENT_LABELS.get(action, action.replace("_", " ").capitalize())


def notification_title(*, action: str, specialty: str) -> str:
    """e.g. "Referral received: Hematology/oncology consult" (never the patient's name)."""
    title = NOTIFICATION_TITLES.get(action, "Referral update")
    return f"{title}: {specialty}"[:200] if specialty else title


# --- Care tasks and hand-offs -----------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """From which statuses an action may be taken, the status it leads to, and the refusal
    when the object is in any other."""

    sources: frozenset[str]
    target: str
    refusal: str


# A task is open until its last occurrence has its result (done) or its creator cancels it.
TASK_MOVES: dict[str, Move] = {
    "complete": Move(frozenset({TaskStatus.OPEN}), TaskStatus.DONE, "This task is no longer open."),
    "cancel": Move(frozenset({TaskStatus.OPEN}), TaskStatus.CANCELLED, "This task is no longer open."),
}


def task_move_check(*, task: CareTask, action: str) -> Move:
    """The move, if the task's status allows it; else ``TransitionRefused``."""
    move = TASK_MOVES[action]
    if task.status not in move.sources:
        raise TransitionRefused(move.refusal)
    return move


def task_move(*, task: CareTask, action: str, now: dt.datetime | None = None) -> CareTask:
    """Apply a move of ``TASK_MOVES`` to a locked or fresh task (its status and when it closed)."""
    move = task_move_check(task=task, action=action)
    task.status = move.target
    task.completed_at = now or timezone.now()
    task.save(update_fields=["status", "completed_at"])
    return task


# A hand-off waits until a clinician of the receiving organization acknowledges it.
HANDOFF_WAITING = "waiting"
HANDOFF_ACKNOWLEDGED = "acknowledged"
HANDOFF_MOVES: dict[str, Move] = {
    "acknowledge": Move(frozenset({HANDOFF_WAITING}), HANDOFF_ACKNOWLEDGED, "This hand-off is already acknowledged."),
}


def handoff_status(handoff: Handoff) -> str:
    return HANDOFF_WAITING if handoff.acknowledged_at is None else HANDOFF_ACKNOWLEDGED


def handoff_move(*, handoff: Handoff, action: str, user: User) -> Handoff:
    """Apply a move of ``HANDOFF_MOVES`` to a locked hand-off (who took it, and when)."""
    move = HANDOFF_MOVES[action]
    if handoff_status(handoff) not in move.sources:
        raise TransitionRefused(move.refusal)
    handoff.acknowledged_at = timezone.now()
    handoff.acknowledged_by = user
    handoff.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return handoff
