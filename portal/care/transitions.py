"""The referral's allowed transitions (after HL7 360X and FHIR Task): which action, from
which states, to which state, by which side."""

from __future__ import annotations

from dataclasses import dataclass

from portal.care.models import ReferralState as S

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
