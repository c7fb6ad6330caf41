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
