"""Pages of closing the loop: the navigator's queue, referrals, tasks, hand-offs, scorecard.
One module per subject; the URL conf reaches the views through this package."""

from __future__ import annotations

from portal.care.views.care_tasks import task_check, task_detail, task_list, task_new
from portal.care.views.common import View, clinical_member, member
from portal.care.views.handoffs import handoff_check, handoff_detail, handoff_list, handoff_new
from portal.care.views.referrals import (
    ATTACHABLE_KINDS,
    outbound,
    queue,
    referral_act,
    referral_detail,
    referral_entry,
    referral_entry_file,
    referral_new,
)
from portal.care.views.scorecard import scorecard_default_range, scorecard_view

__all__ = [
    "ATTACHABLE_KINDS",
    "View",
    "clinical_member",
    "handoff_check",
    "handoff_detail",
    "handoff_list",
    "handoff_new",
    "member",
    "outbound",
    "queue",
    "referral_act",
    "referral_detail",
    "referral_entry",
    "referral_entry_file",
    "referral_new",
    "scorecard_default_range",
    "scorecard_view",
    "task_check",
    "task_detail",
    "task_list",
    "task_new",
]
