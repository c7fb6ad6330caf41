"""Escalating what is overdue: referrals not received or accepted, missed task occurrences,
hand-offs not acknowledged; once per level."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.care.models import (
    OCCURRENCE_GRACE_DAYS,
    Escalation,
    Handoff,
    Referral,
    ReferralState,
    TaskOccurrence,
    TaskStatus,
)
from portal.care.services.common import _navigators_and_clinicians
from portal.notifications.services import Subject, notification_send
from tenants.models import Organization


def escalation_record(
    *,
    object_type: str,
    object_id: int,
    level: int,
    reason: str,
    organization: Organization,
    recipients: list[User],
    link: str,
    subject: Subject | None = None,
    elsewhere: Sequence[tuple[Organization, list[User]]] = (),
) -> bool:
    """Record one escalation and notify, once: False if this level was already escalated.
    ``recipients`` are told at ``organization``'s address; ``elsewhere`` names people told at
    another organization's address (where they have their account), each person once."""
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                object_type=object_type, object_id=object_id, level=level, reason=reason, organization=organization
            )
            sent: list[Any] = []
            told: set[int] = set()
            for where, people in [(organization, list(recipients)), *elsewhere]:
                fresh = [person for person in people if person is not None and person.pk not in told]
                told |= {person.pk for person in fresh}
                sent += notification_send(
                    recipients=fresh,
                    kind="escalation",
                    title=f"Overdue: {reason}",
                    link=link,
                    organization=where,
                    urgent=level >= 2,
                    subject=subject,
                )
            escalation.recipient_count = len(sent)
            escalation.save(update_fields=["recipient_count"])
    except IntegrityError:
        return False
    return True


# Days before a step is overdue, and how many more before it reaches the navigators.
REFERRAL_RECEIVE_DAYS = 2

REFERRAL_ACCEPT_DAYS = 5

HANDOFF_ACK_DAYS = 7

LEVEL_2_AFTER_DAYS = 2


def navigators_of(*organizations: Organization) -> list[User]:
    from portal.accounts.roles import NAVIGATOR_ROLES

    return [
        m.user
        for m in Membership.objects.active()
        .select_related("user")
        .filter(organization__in=[o for o in organizations if o is not None], role__in=NAVIGATOR_ROLES)
    ]


def escalate_step(
    *,
    object_type: str,
    obj: Model,
    overdue_since: dt.datetime,
    now: dt.datetime,
    reason: str,
    organization: Organization,
    owners: list[User],
    navigators: list[User],
    link: str,
    subject: Subject | None = None,
    navigators_elsewhere: Sequence[tuple[Organization, list[User]]] = (),
) -> int:
    """Level 1 to the owners once the step is overdue, level 2 two days later to the
    navigators (at ``organization``'s address) and to ``navigators_elsewhere`` (each group at
    its own organization's address, where the link opens for them)."""
    sent = 0
    if (
        overdue_since <= now
        and not Escalation.objects.filter(object_type=object_type, object_id=obj.pk, level=1).exists()
    ):
        sent += escalation_record(
            object_type=object_type,
            object_id=obj.pk,
            level=1,
            reason=reason,
            organization=organization,
            recipients=owners,
            link=link,
            subject=subject,
        )
    if (
        overdue_since + dt.timedelta(days=LEVEL_2_AFTER_DAYS) <= now
        and not Escalation.objects.filter(object_type=object_type, object_id=obj.pk, level=2).exists()
    ):
        sent += escalation_record(
            object_type=object_type,
            object_id=obj.pk,
            level=2,
            reason=reason,
            organization=organization,
            recipients=navigators,
            link=link,
            subject=subject,
            elsewhere=navigators_elsewhere,
        )
    return sent


def escalations_run(*, now: dt.datetime | None = None) -> int:
    """Find overdue steps and escalate each level once. Returns how many escalations were recorded."""
    now = now or timezone.now()
    count = 0
    day = dt.timedelta(days=1)
    for referral in Referral.objects.filter(state__in=[ReferralState.REQUESTED, ReferralState.RECEIVED]).select_related(
        "receiving_organization", "referring_organization"
    ):
        if referral.state == ReferralState.REQUESTED:
            since, reason = referral.created_at + REFERRAL_RECEIVE_DAYS * day, "referral not received"
        else:
            since, reason = referral.created_at + REFERRAL_ACCEPT_DAYS * day, "referral not accepted"
        receiver = referral.receiving_organization
        count += escalate_step(
            object_type="referral",
            obj=referral,
            overdue_since=since,
            now=now,
            reason=reason,
            organization=receiver,
            owners=_navigators_and_clinicians(receiver),
            navigators=navigators_of(receiver),
            navigators_elsewhere=[
                (
                    referral.referring_organization,
                    navigators_of(referral.referring_organization) + [referral.referred_by],
                )
            ],
            link=f"/care/referrals/{referral.uuid}/",
            subject=referral,
        )
    occurrences = TaskOccurrence.objects.filter(
        done_at__isnull=True, task__status=TaskStatus.OPEN, due_at__lte=now - OCCURRENCE_GRACE_DAYS * day
    ).select_related("task__owner_organization", "task__creating_organization", "task__owner_user", "task__created_by")
    for occurrence in occurrences:
        task = occurrence.task
        owner_org = task.owner_organization
        count += escalate_step(
            object_type="occurrence",
            obj=occurrence,
            overdue_since=occurrence.due_at + OCCURRENCE_GRACE_DAYS * day,
            now=now,
            reason="care task result missing",
            organization=owner_org,
            owners=[task.owner_user] if task.owner_user else _navigators_and_clinicians(owner_org),
            navigators=navigators_of(owner_org),
            navigators_elsewhere=[(task.creating_organization, navigators_of(task.creating_organization))],
            link=f"/care/tasks/{task.uuid}/",
            subject=task,
        )
    for handoff in Handoff.objects.filter(acknowledged_at__isnull=True).select_related(
        "to_organization", "from_organization", "to_user"
    ):
        receiver = handoff.to_organization
        count += escalate_step(
            object_type="handoff",
            obj=handoff,
            overdue_since=handoff.sent_at + HANDOFF_ACK_DAYS * day,
            now=now,
            reason="hand-off not acknowledged",
            organization=receiver,
            owners=[handoff.to_user] if handoff.to_user else _navigators_and_clinicians(receiver),
            navigators=navigators_of(receiver),
            navigators_elsewhere=[(handoff.from_organization, navigators_of(handoff.from_organization))],
            link=f"/care/handoffs/{handoff.uuid}/",
            subject=handoff,
        )
    return count
