"""Reads of the care app, and who may see what: a member with a clinical role of one of
the organizations involved. Forbidden and missing give the same 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import Membership
from portal.care.models import CareTask, Escalation, Handoff, Referral, Responsible, TaskOccurrence, TaskStatus
from portal.care.services import referral_side
from portal.care.transitions import Transition, allowed_actions
from portal.patients.models import EntryStatus, NetworkPatient, RegistryEntry
from portal.patients.selectors import user_can_view_patient

RECENT_TEST_DAYS = 30


def _is_clinical_member(*, user: Any, organization: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or organization is None or organization.is_network:
        return False
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


# --- Referrals ------------------------------------------------------------------------


def referrals_for(*, user: Any, organization: Any, direction: str = "inbound") -> QuerySet[Referral]:
    if not _is_clinical_member(user=user, organization=organization):
        return Referral.objects.none()
    field = "receiving_organization" if direction == "inbound" else "referring_organization"
    return Referral.objects.filter(**{field: organization}).select_related(
        "patient", "referring_organization", "receiving_organization", "referred_by"
    )


def referral_get_for_user(*, user: Any, organization: Any, referral_uuid: Any) -> Referral:
    if not _is_clinical_member(user=user, organization=organization):
        raise Http404("No such referral")
    referral = (
        Referral.objects.select_related(
            "patient", "referring_organization", "receiving_organization", "referred_by", "outcome_entry"
        )
        .filter(uuid=referral_uuid)
        .filter(Q(referring_organization=organization) | Q(receiving_organization=organization))
        .first()
    )
    if referral is None:
        raise Http404("No such referral")
    return referral


def referral_actions(*, referral: Referral, organization: Any) -> list[Transition]:
    return allowed_actions(state=referral.state, side=referral_side(referral=referral, organization=organization))


# --- Care tasks -----------------------------------------------------------------------


def tasks_for(*, user: Any, organization: Any) -> QuerySet[CareTask]:
    if not _is_clinical_member(user=user, organization=organization):
        return CareTask.objects.none()
    return CareTask.objects.filter(
        Q(owner_organization=organization) | Q(creating_organization=organization)
    ).select_related("patient", "owner_organization", "creating_organization", "owner_user", "created_by")


def task_get_for_user(*, user: Any, organization: Any, task_uuid: Any) -> CareTask:
    task = tasks_for(user=user, organization=organization).filter(uuid=task_uuid).first()
    if task is None:
        raise Http404("No such task")
    return task


def occurrence_get_for_user(*, user: Any, organization: Any, task: CareTask, occurrence_id: Any) -> TaskOccurrence:
    try:
        pk = int(occurrence_id)
    except (TypeError, ValueError) as error:
        raise Http404("No such occurrence") from error
    occurrence = task.occurrences.filter(pk=pk).first()
    if occurrence is None:
        raise Http404("No such occurrence")
    return occurrence


def results_to_link(*, task: CareTask) -> QuerySet[RegistryEntry]:
    """Published results of the task's patient not yet linked to this task, newest first."""
    linked = task.occurrences.exclude(result_entry=None).values("result_entry_id")
    return (
        RegistryEntry.objects.filter(patient_id=task.patient_id, kind=task.result_kind)
        .exclude(status=EntryStatus.WITHDRAWN)
        .exclude(pk__in=linked)
        .select_related("organization")[:20]
    )


def same_test_done_elsewhere(
    *,
    patient: NetworkPatient,
    organization: Any,
    kind: str,
    code: str = "",
    title: str = "",
    days: int = RECENT_TEST_DAYS,
) -> list[RegistryEntry]:
    """The same test (same kind and code, or same title) done for this patient by another
    organization in the last ``days`` days: a task asking for it again deserves a warning."""
    since = timezone.now() - dt.timedelta(days=days)
    same = Q()
    if code:
        same |= Q(code=code)
    if title:
        same |= Q(title__iexact=title.strip())
    if not same:
        return []
    return list(
        RegistryEntry.objects.filter(patient=patient, kind=kind, effective_at__gte=since)
        .exclude(organization=organization)
        .exclude(status=EntryStatus.WITHDRAWN)
        .filter(same)
        .select_related("organization")
        .order_by("-effective_at")[:5]
    )


# --- Hand-offs ------------------------------------------------------------------------


def handoffs_for(*, user: Any, organization: Any) -> QuerySet[Handoff]:
    if not _is_clinical_member(user=user, organization=organization):
        return Handoff.objects.none()
    return Handoff.objects.filter(Q(from_organization=organization) | Q(to_organization=organization)).select_related(
        "patient", "from_organization", "to_organization", "from_user", "to_user", "acknowledged_by"
    )


def handoff_get_for_user(*, user: Any, organization: Any, handoff_uuid: Any) -> Handoff:
    handoff = handoffs_for(user=user, organization=organization).filter(uuid=handoff_uuid).first()
    if handoff is None:
        raise Http404("No such hand-off")
    return handoff


def handoff_prefill(*, patient: NetworkPatient) -> dict[str, Any]:
    """A survivorship care plan drafted from the record's diagnoses and treatments."""
    entries = list(
        RegistryEntry.objects.filter(patient=patient, kind__in=["cancer_diagnosis", "treatment"])
        .exclude(status=EntryStatus.WITHDRAWN)
        .order_by("effective_at")
    )
    lines = []
    for item in entries:
        detail = "; ".join(
            f"{k.replace('_', ' ')}: {v}" for k, v in (item.summary or {}).items() if v not in ("", None)
        )
        label = "Diagnosis" if item.kind == "cancer_diagnosis" else "Treatment"
        lines.append(f"{label} ({item.effective_at:%b %Y}): {item.title}" + (f" — {detail}" if detail else ""))
    items = [
        {
            "section": "follow_up",
            "text": "Oncology visit every 3 months for 2 years, then every 6 months",
            "responsible": Responsible.ONCOLOGY,
        },
        {
            "section": "follow_up",
            "text": "Primary-care visit every 6 months; vaccinations and general health",
            "responsible": Responsible.PRIMARY_CARE,
        },
        {
            "section": "surveillance",
            "text": "CBC and metabolic panel at each primary-care visit",
            "responsible": Responsible.PRIMARY_CARE,
        },
        {"section": "surveillance", "text": "Imaging only if symptoms recur", "responsible": Responsible.ONCOLOGY},
        {
            "section": "late_effects",
            "text": "Cardiac function, thyroid function, fatigue, neuropathy",
            "responsible": Responsible.PRIMARY_CARE,
        },
        {
            "section": "symptoms",
            "text": "Fever, night sweats, weight loss, new lumps: call oncology",
            "responsible": Responsible.ONCOLOGY,
        },
    ]
    return {"treatment_summary": "\n".join(lines), "items": items, "entries": entries}


def pcp_of_record(*, patient: NetworkPatient, organization: Any) -> Any:
    """The clinician of the organization's active care relationship with the patient, if named."""
    from portal.patients.models import CareRelationship

    relationship = (
        CareRelationship.objects.active()
        .filter(patient=patient, organization=organization, clinician__isnull=False)
        .select_related("clinician")
        .first()
    )
    return relationship.clinician if relationship else None


def escalations_for(*, object_type: str, object_ids: list[int]) -> list[Escalation]:
    """Escalations already recorded for these objects (for the detail pages)."""
    return list(Escalation.objects.filter(object_type=object_type, object_id__in=object_ids).order_by("created_at"))


# --- The chart ------------------------------------------------------------------------


def care_items_for_patient(
    *, user: Any, organization: Any, patient: NetworkPatient, access_checked: bool = False
) -> dict[str, Any]:
    """Open referrals, tasks and hand-offs of a patient, for the chart (empty if not allowed).

    ``access_checked``: the caller has just read this patient through the access rule in
    this request (the chart page), so it is not asked again."""
    if not access_checked and not user_can_view_patient(user=user, organization=organization, patient=patient):
        return {"referrals": [], "tasks": [], "handoffs": [], "allowed": False}
    involved = Q(referring_organization=organization) | Q(receiving_organization=organization)
    referrals = list(
        Referral.objects.filter(patient=patient)
        .filter(involved)
        .select_related("referring_organization", "receiving_organization")[:20]
    )
    tasks = list(
        CareTask.objects.filter(patient=patient)
        .filter(Q(owner_organization=organization) | Q(creating_organization=organization))
        .filter(status=TaskStatus.OPEN)
        .select_related("owner_organization", "creating_organization")[:20]
    )
    handoffs = list(
        Handoff.objects.filter(patient=patient)
        .filter(Q(from_organization=organization) | Q(to_organization=organization))
        .select_related("from_organization", "to_organization", "acknowledged_by")[:20]
    )
    return {"referrals": referrals, "tasks": tasks, "handoffs": handoffs, "allowed": True}
