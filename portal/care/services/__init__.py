"""Writes of the care app: referrals, care tasks and their occurrences, hand-offs, and the
escalation of what is overdue. One module per subject; the public names are re-exported here."""

from __future__ import annotations

from portal.care.models import OCCURRENCE_GRACE_DAYS
from portal.care.services.care_tasks import (
    MAX_OCCURRENCES,
    RESULT_KINDS,
    care_task_cancel,
    care_task_create,
    occurrence_dates,
    occurrence_link_result,
    recurrence_rule,
)
from portal.care.services.common import TransitionRefused
from portal.care.services.escalations import (
    HANDOFF_ACK_DAYS,
    LEVEL_2_AFTER_DAYS,
    REFERRAL_ACCEPT_DAYS,
    REFERRAL_RECEIVE_DAYS,
    escalate_step,
    escalation_record,
    escalations_run,
    navigators_of,
)
from portal.care.services.handoffs import handoff_acknowledge, handoff_send
from portal.care.services.referrals import (
    CONSULT_KINDS,
    REFERRAL_ACCESS_DAYS,
    referral_attach,
    referral_create,
    referral_side,
    referral_transition,
)

__all__ = [
    "CONSULT_KINDS",
    "HANDOFF_ACK_DAYS",
    "LEVEL_2_AFTER_DAYS",
    "MAX_OCCURRENCES",
    "OCCURRENCE_GRACE_DAYS",
    "REFERRAL_ACCEPT_DAYS",
    "REFERRAL_ACCESS_DAYS",
    "REFERRAL_RECEIVE_DAYS",
    "RESULT_KINDS",
    "TransitionRefused",
    "care_task_cancel",
    "care_task_create",
    "escalate_step",
    "escalation_record",
    "escalations_run",
    "handoff_acknowledge",
    "handoff_send",
    "navigators_of",
    "occurrence_dates",
    "occurrence_link_result",
    "recurrence_rule",
    "referral_attach",
    "referral_create",
    "referral_side",
    "referral_transition",
]
