"""Demo data for closing the loop. Idempotent: each item is looked up before it is made."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from portal.care.models import CareTask, Handoff, HandoffKind, Referral, ReferralEvent
from portal.care.selectors import handoff_prefill
from portal.care.services import (
    care_task_create,
    handoff_send,
    recurrence_rule,
    referral_create,
    referral_transition,
)
from portal.patients.models import CareRelationship, NetworkPatient

if TYPE_CHECKING:
    from portal.demo.cast import Cast

DEMO_SPECIALTY = "Hematology/oncology consult"
# Other Maple patients referred to Northfield: what for, the steps taken, how long ago.
# (The referral's state shows in its badge, not in what it is for.)
OTHER_STEPS = [
    ("received", "Hematology consult", ["receive"], 3),
    ("accepted", "Medical oncology consult", ["receive", "accept"], 6),
    ("scheduled", "Hematology/oncology second opinion", ["receive", "accept", "schedule"], 9),
    ("declined", "Medical oncology consult", ["receive", "decline"], 12),
]


def _backdate(referral: Referral, days_ago: int) -> None:
    """Spread a demo referral's steps over the past days, one day apart (demo data only)."""
    start = timezone.now() - dt.timedelta(days=days_ago)
    moments = {}
    for index, event in enumerate(referral.events.order_by("at", "pk")):
        moment = start + dt.timedelta(days=index, hours=index * 3)
        ReferralEvent.objects.filter(pk=event.pk).update(at=moment)
        moments[event.action] = moment
    fields = {
        "created_at": "request",
        "received_at": "receive",
        "accepted_at": "accept",
        "declined_at": "decline",
        "scheduled_at": "schedule",
    }
    Referral.objects.filter(pk=referral.pk).update(
        **{field: moments[action] for field, action in fields.items() if action in moments},
        updated_at=max(moments.values()),
    )


def seed(cast: Cast) -> None:
    orgs, users = cast.organizations, cast.users
    maria = cast.patients["maria"]
    maple, northfield = orgs["maple"], orgs["northfield"]
    now = timezone.now()

    if not Referral.objects.filter(patient=maria, referring_organization=maple, specialty=DEMO_SPECIALTY).exists():
        referral = referral_create(
            user=users["park"],
            organization=maple,
            patient=maria,
            receiving_organization=northfield,
            specialty=DEMO_SPECIALTY,
            reason="Enlarged cervical lymph nodes for six weeks; night sweats.",
            checklist=["pathology", "imaging", "insurance"],
        )
        _backdate(referral, 1)

    # Other Maple patients referred to Northfield, at various steps.
    others = list(
        NetworkPatient.objects.filter(
            pk__in=CareRelationship.objects.filter(organization=maple).exclude(patient=maria).values("patient_id")
        ).order_by("pk")[: len(OTHER_STEPS)]
    )
    for patient, (label, specialty, steps, days_ago) in zip(others, OTHER_STEPS, strict=False):
        # Demo networks seeded before the specialties read naturally had the state in them.
        Referral.objects.filter(
            patient=patient, referring_organization=maple, specialty=f"Oncology consult ({label})"
        ).update(specialty=specialty)
        if Referral.objects.filter(
            patient=patient, referring_organization=maple, receiving_organization=northfield
        ).exists():
            continue
        referral = referral_create(
            user=users["park"],
            organization=maple,
            patient=patient,
            receiving_organization=northfield,
            specialty=specialty,
            reason="Abnormal blood count on routine check.",
            checklist=["pathology"],
        )
        for action in steps:
            extra: dict[str, Any] = {}
            if action == "decline":
                extra["reason"] = "Better served by Lakeside Oncology, closer to home."
            if action == "schedule":
                extra["appointment_at"] = now + dt.timedelta(days=5)
            referral = referral_transition(
                referral=referral, action=action, user=users["navarro"], organization=northfield, **extra
            )
        _backdate(referral, days_ago)

    # Northfield asks Maple for a CBC twice a week for three weeks after a chemotherapy cycle.
    if not CareTask.objects.filter(
        patient=maria, creating_organization=northfield, title="CBC with differential"
    ).exists():
        care_task_create(
            user=users["okafor"],
            organization=northfield,
            patient=maria,
            owner_organization=maple,
            owner_user=users["park"],
            title="CBC with differential",
            code="58410-2",
            instructions="Draw Monday and Thursday mornings; call oncology the same day if ANC < 1000.",
            recurrence=recurrence_rule(times_per_week=2, weeks=3),
            starts_at=now - dt.timedelta(days=4),
        )

    # A survivorship care plan awaiting Dr. Park's acknowledgement.
    if not Handoff.objects.filter(patient=maria, kind=HandoffKind.SURVIVORSHIP, from_organization=northfield).exists():
        plan = handoff_prefill(patient=maria, organization=northfield)
        summary = plan["treatment_summary"] or (
            "Diffuse large B-cell lymphoma, stage IIA. R-CHOP x6 completed; complete metabolic response on PET-CT."
        )
        handoff_send(
            user=users["okafor"],
            organization=northfield,
            patient=maria,
            to_organization=maple,
            to_user=users["park"],
            kind=HandoffKind.SURVIVORSHIP,
            treatment_summary=summary,
            items=plan["items"],
        )
