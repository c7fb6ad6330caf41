"""What the home page shows: the role's own work first (counts only, no clinical detail)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from django.db.models import Count, Q
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.audit.models import AuditEvent
from portal.care.models import OPEN_REFERRAL_STATES, Handoff, Referral, TaskOccurrence
from portal.messaging.selectors import unread_thread_count
from portal.patients.models import CareRelationship, RegistryEntry
from portal.patients.selectors import visible_patients


class HomeSummary(TypedDict, total=False):
    """The home page's tiles; a tile whose key is missing is not shown."""

    role: str
    is_clinical: bool
    is_admin: bool
    patient_count: int
    my_patient_count: int
    new_from_partners: int
    open_inbound_referrals: int
    overdue_occurrences: int
    handoffs_waiting: int
    unread_threads: int | None
    member_count: int
    active_member_count: int
    reads_this_week: int


def home_summary_for(*, user: User, membership: Membership) -> HomeSummary:
    """The tiles of this member's home page, for their role."""
    organization = membership.organization
    summary: HomeSummary = {
        "role": membership.get_role_display(),
        "is_clinical": membership.is_clinical,
        "is_admin": membership.is_admin,
    }
    if membership.is_clinical:
        relationships = CareRelationship.objects.active().filter(organization=organization)
        counts = relationships.aggregate(
            patients=Count("patient", distinct=True),
            mine=Count("patient", distinct=True, filter=Q(clinician=user)),
        )
        summary["patient_count"] = counts["patients"]
        summary["my_patient_count"] = counts["mine"]
        summary["new_from_partners"] = (
            RegistryEntry.objects.filter(
                # Partners' entries count only where the record is shared (not a bare registration).
                patient__in=relationships.filter(shares_record=True).values("patient"),
                published_at__gte=timezone.now() - timedelta(days=7),
            )
            .exclude(organization=organization)
            .count()
        )
        summary["open_inbound_referrals"] = Referral.objects.filter(
            receiving_organization=organization, state__in=OPEN_REFERRAL_STATES
        ).count()
        # Only what the care pages show this clinician: tasks and hand-offs about patients
        # they may see (never a count of rows whose link would answer "not found").
        visible = visible_patients(user=user, organization=organization)
        summary["overdue_occurrences"] = TaskOccurrence.objects.filter(
            task__owner_organization=organization,
            task__status="open",
            task__patient__in=visible,
            done_at__isnull=True,
            due_at__lt=timezone.now(),
        ).count()
        summary["handoffs_waiting"] = Handoff.objects.filter(
            to_organization=organization, acknowledged_at__isnull=True, patient__in=visible
        ).count()
    # Secure messaging is for clinical staff: no tile (and no link to a refusal) for others.
    summary["unread_threads"] = None
    if membership.is_clinical:
        summary["unread_threads"] = unread_thread_count(user=user, organization=organization)
    if membership.is_admin:
        members = Membership.objects.filter(organization=organization).aggregate(
            total=Count("pk"), active=Count("pk", filter=Q(status="active"))
        )
        summary["member_count"] = members["total"]
        summary["active_member_count"] = members["active"]
        summary["reads_this_week"] = AuditEvent.objects.filter(
            data_owner=organization, action="read", occurred_at__gte=timezone.now() - timedelta(days=7)
        ).count()
    return summary
