"""Reads of the care app, and who may see what: a member with a clinical role of one of
the organizations involved who may also see the patient (``visible_patients``), so a
task or hand-off that names an organization without a care relationship shows nothing
there. The one exception is a referral's receiver: a referral is how a new organization
comes to care for a patient, so the receiver sees the referral itself (the patient it is
about, what it asks and the entries attached to it), and nothing more of the record, until
accepting it opens a care relationship. Forbidden and missing give the same 404."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import Membership
from portal.care import panels, results
from portal.care.models import (
    CareTask,
    Escalation,
    Handoff,
    Priority,
    Referral,
    ReferralEvent,
    ReferralState,
    Responsible,
    TaskOccurrence,
    TaskStatus,
)
from portal.care.services import CONSULT_KINDS, referral_side
from portal.care.transitions import RECEIVER, REFERRER, Transition, allowed_actions, event_label
from portal.patients.models import EntryStatus, NetworkPatient, RegistryEntry
from portal.patients.selectors import (
    shared_entry_condition,
    user_can_view_patient,
    visible_entries,
    visible_patients,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from uuid import UUID

    from django.http import HttpRequest

    from portal.accounts.models import User
    from portal.records.selectors import OpenedItem
    from tenants.models import Organization

RECENT_TEST_DAYS = 30


def _is_clinical_member(*, user: User, organization: Organization) -> bool:
    if not getattr(user, "is_authenticated", False) or organization is None or organization.is_network:
        return False
    return Membership.objects.active().clinical().filter(user=user, organization=organization).exists()


# --- Referrals ------------------------------------------------------------------------


def _referrals_sent(*, user: User, organization: Organization) -> Q:
    """Referrals this organization sent, about patients this user may see."""
    return Q(referring_organization=organization, patient__in=visible_patients(user=user, organization=organization))


def _referrals_visible(*, user: User, organization: Organization) -> Q:
    """Referrals sent to this organization (what a referral carries is for its receiver to
    see), and referrals it sent about patients this user may see."""
    return Q(receiving_organization=organization) | _referrals_sent(user=user, organization=organization)


def referrals_for(*, user: User, organization: Organization, direction: str = "inbound") -> QuerySet[Referral]:
    if not _is_clinical_member(user=user, organization=organization):
        return Referral.objects.none()
    if direction == "inbound":
        referrals = Referral.objects.filter(receiving_organization=organization)
    else:
        referrals = Referral.objects.filter(_referrals_sent(user=user, organization=organization))
    return referrals.select_related("patient", "referring_organization", "receiving_organization", "referred_by")


def urgent_first(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """The navigator's order: urgent referrals first, then the oldest waiting."""
    urgent = Case(When(priority=Priority.URGENT, then=Value(0)), default=Value(1), output_field=IntegerField())
    return referrals.order_by(urgent, "created_at")


def referral_get_for_user(*, user: User, organization: Organization, referral_uuid: UUID | str) -> Referral:
    if not _is_clinical_member(user=user, organization=organization):
        raise Http404("No such referral")
    referral = (
        Referral.objects.select_related(
            "patient", "referring_organization", "receiving_organization", "referred_by", "outcome_entry"
        )
        .filter(uuid=referral_uuid)
        .filter(_referrals_visible(user=user, organization=organization))
        .first()
    )
    if referral is None:
        raise Http404("No such referral")
    return referral


def referral_history(*, referral: Referral) -> list[ReferralEvent]:
    """The referral's steps, oldest first, each with ``label``: what happened, in the past
    tense ("Marked received")."""
    events = list(referral.events.select_related("actor", "organization"))
    for event in events:
        event.label = event_label(event.action)
    return events


def referral_attachments(*, referral: Referral) -> QuerySet[RegistryEntry]:
    """The entries the referrer attached: all of the record its receiver sees before accepting."""
    return referral.attachments.select_related("organization").order_by("-effective_at")


# The same words for an entry that does not exist and for one the asker may not use.
ATTACH_ONLY_CURRENT = "Attach only current entries of this patient's record."


def referral_attachments_get(
    *, user: User, organization: Organization, patient: NetworkPatient, entry_uuids: Iterable[UUID | str]
) -> list[RegistryEntry]:
    """The entries to attach to a referral about ``patient`` (whom the referrer sees): current
    entries of that patient that this user sees here. Another patient's entry, one the user
    may not see, a withdrawn one and an id that is no entry get the same answer."""
    import uuid

    from django.core.exceptions import ValidationError

    wanted = {str(value).strip() for value in entry_uuids}
    if not wanted:
        return []
    try:
        ids = {uuid.UUID(value) for value in wanted}
    except ValueError as error:
        raise ValidationError({"attachments": [ATTACH_ONLY_CURRENT]}) from error
    entries = list(
        visible_entries(user=user, organization=organization, patient=patient)
        .filter(uuid__in=ids)
        .exclude(status=EntryStatus.WITHDRAWN)
    )
    if len(entries) != len(ids):
        raise ValidationError({"attachments": [ATTACH_ONLY_CURRENT]})
    return entries


def referral_actions(*, referral: Referral, organization: Organization) -> list[Transition]:
    return allowed_actions(state=referral.state, side=referral_side(referral=referral, organization=organization))


def referral_outcome_candidates(*, user: User, organization: Organization, referral: Referral) -> list[RegistryEntry]:
    """The consult reports that may close the referral, newest first: about the referred
    patient, published by the receiving organization (this one) after it accepted the
    referral, and not the outcome of another referral. Empty for anyone else."""
    if (
        referral_side(referral=referral, organization=organization) != RECEIVER
        or referral.accepted_at is None
        or not _is_clinical_member(user=user, organization=organization)
    ):
        return []
    taken = Referral.objects.exclude(outcome_entry=None).exclude(pk=referral.pk).values("outcome_entry_id")
    return list(
        _patient_entries(user=user, organization=organization, patient=referral.patient)
        .filter(organization=organization, kind__in=CONSULT_KINDS, published_at__gte=referral.accepted_at)
        .exclude(pk__in=taken)
        .order_by("-published_at")[:20]
    )


def referral_outcome_get(
    *, user: User, organization: Organization, referral: Referral, entry_uuid: UUID | str
) -> RegistryEntry | None:
    """The entry of the referred patient's record named as the outcome (the service says
    whether it may close the referral), or None."""
    return (
        _patient_entries(user=user, organization=organization, patient=referral.patient).filter(uuid=entry_uuid).first()
    )


def referral_consult_prefill(
    *, user: User, organization: Organization, referral_uuid: UUID | str
) -> dict[str, Any] | None:
    """What the consult report answering a referral starts with (the form of the records
    app, at the receiver's address): the referral's question, read here from the referral
    rather than carried in an address. None unless the referral is this organization's to
    answer and open."""
    try:
        referral = referral_get_for_user(user=user, organization=organization, referral_uuid=referral_uuid)
    except (Http404, ValueError, ValidationError):
        return None
    if referral_side(referral=referral, organization=organization) != RECEIVER or referral.accepted_at is None:
        return None
    if not referral.is_open:
        return None
    question = referral.reason.strip() or referral.specialty
    return {
        "referral": referral,
        "initial": {
            "effective_date": timezone.localdate(),
            "note_type": "consult",
            "subject": f"{referral.specialty}: consult report"[:150],
            "text": f"Referred by {referral.referred_by.display_name} ({referral.referring_organization.name}).\n"
            f"Question: {question}\n\n",
        },
    }


# A declined or cancelled referral asks nothing any more: its receiver no longer reads what it
# carries (the referrer's own access is the record's rule, unchanged).
ATTACHMENTS_CLOSED_STATES = frozenset({ReferralState.DECLINED, ReferralState.CANCELLED})


def referral_entry_get_for_user(
    *,
    user: User,
    organization: Organization,
    referral_uuid: UUID | str,
    entry_uuid: UUID | str,
    request: HttpRequest | None = None,
) -> OpenedItem:
    """Open an entry from a referral's page: for the receiving organization's navigators and
    clinicians, an entry the referral carries (from the request until it is declined or
    cancelled, before any care relationship exists); for the referring organization, the
    referral's outcome once returned (whatever else of the receiver's entries it may read).
    The item is read from its owner's schema and the read audited, as the record's own page
    does. Anyone else, another entry, or a missing one: the same 404, nothing audited."""
    from portal.records.selectors import entry_read

    referral = referral_get_for_user(user=user, organization=organization, referral_uuid=referral_uuid)
    side = referral_side(referral=referral, organization=organization)
    entry = None
    if side == RECEIVER and referral.state not in ATTACHMENTS_CLOSED_STATES:
        entry = referral.attachments.filter(uuid=entry_uuid).exclude(status=EntryStatus.WITHDRAWN).first()
    if entry is None and side in (RECEIVER, REFERRER) and referral.state == ReferralState.COMPLETED:
        outcome = referral.outcome_entry
        if outcome is not None and str(outcome.uuid) == str(entry_uuid):
            entry = outcome
    if entry is None:
        raise Http404("No such entry")
    entry = RegistryEntry.objects.select_related("organization", "published_by").get(pk=entry.pk)
    return entry_read(
        entry=entry,
        patient=referral.patient,
        user=user,
        organization=organization,
        request=request,
        detail={"via": "referral", "referral": str(referral.uuid)},
    )


# --- Care tasks -----------------------------------------------------------------------


def tasks_for(*, user: User, organization: Organization) -> QuerySet[CareTask]:
    """Tasks this organization owns or asked for, about patients this user may see."""
    if not _is_clinical_member(user=user, organization=organization):
        return CareTask.objects.none()
    return (
        CareTask.objects.filter(Q(owner_organization=organization) | Q(creating_organization=organization))
        .filter(patient__in=visible_patients(user=user, organization=organization))
        .select_related("patient", "owner_organization", "creating_organization", "owner_user", "created_by")
    )


def task_get_for_user(*, user: User, organization: Organization, task_uuid: UUID | str) -> CareTask:
    task = tasks_for(user=user, organization=organization).filter(uuid=task_uuid).first()
    if task is None:
        raise Http404("No such task")
    return task


def occurrence_get_for_user(
    *, user: User, organization: Organization, task: CareTask, occurrence_id: int | str
) -> TaskOccurrence:
    try:
        pk = int(occurrence_id)
    except (TypeError, ValueError) as error:
        raise Http404("No such occurrence") from error
    occurrence = (
        TaskOccurrence.objects.filter(pk=pk, task=task)
        .filter(task__in=tasks_for(user=user, organization=organization))
        .first()
    )
    if occurrence is None:
        raise Http404("No such occurrence")
    return occurrence


@dataclass
class LinkChoices:
    """What the page offers to close one occurrence: only the results that answer it (none
    chosen in advance), and why the others are not offered."""

    occurrence: TaskOccurrence
    window: results.Window
    offered: list[results.Candidate]
    not_offered: list[str]
    asks_for: str


def task_asks_for(*, task: CareTask) -> str:
    """What a result must be to answer the task, in words ("a CBC with white blood cells, …")."""
    return results.task_requirement(task).describe()


# How far before the first window the results considered for a task go back.
LINK_LOOKBACK_DAYS = 30
LINK_MAX_ENTRIES = 500


def _patient_entries(*, user: User, organization: Organization, patient: NetworkPatient) -> QuerySet[RegistryEntry]:
    """The patient's published entries as this user reads them here: every read of entries
    by the care pages starts from this (none unless the user may see the patient here)."""
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        return RegistryEntry.objects.none()
    return visible_entries(user=user, organization=organization, patient=patient).exclude(status=EntryStatus.WITHDRAWN)


def occurrence_link_choices(
    *, user: User, organization: Organization, task: CareTask, occurrences: list[TaskOccurrence]
) -> list[LinkChoices]:
    """For each open occurrence whose window has opened: the results that would close it
    (``portal.care.results``: the task's test, collected in its window, not already used),
    newest first, and the others counted by why they are not offered."""
    if task.status != TaskStatus.OPEN or not occurrences:
        return []
    now = timezone.now()
    spans = results.windows(task, occurrences)
    open_ones = [o for o in occurrences if o.done_at is None and spans[o.pk].start <= now]
    if not open_ones:
        return []
    requirement = results.task_requirement(task)
    since = min(spans[o.pk].start for o in open_ones) - dt.timedelta(days=LINK_LOOKBACK_DAYS)
    entries = list(
        _patient_entries(user=user, organization=organization, patient=task.patient)
        .filter(kind=task.result_kind, effective_at__gte=since)
        .select_related("organization")
        .order_by("-effective_at", "organization_id", "pk")[:LINK_MAX_ENTRIES]
    )
    used = results.used_entry_ids(e.pk for e in entries)
    mine, others = results.group(entries, requirement)
    choices = []
    for occurrence in open_ones:
        window = spans[occurrence.pk]
        judged = [
            results.judge(results.Candidate(entries=c.entries), requirement=requirement, window=window, used=used)
            for c in mine
        ]
        choices.append(
            LinkChoices(
                occurrence=occurrence,
                window=window,
                offered=[c for c in judged if not c.reason],
                not_offered=results.not_offered([*judged, *others], requirement=requirement, window=window),
                asks_for=requirement.describe(),
            )
        )
    return choices


def result_to_link_get(
    *, user: User, organization: Organization, task: CareTask, entry_uuid: UUID | str
) -> RegistryEntry | None:
    """The entry of the task's patient to link (the service says whether it answers the
    occurrence), or None: not on this patient's record, or this user may not see the patient here."""
    return _patient_entries(user=user, organization=organization, patient=task.patient).filter(uuid=entry_uuid).first()


# Panels are ordered as one test but published per analyte (Hemoglobin, ANC… each with the
# panel's name in ``summary["panel"]``): a panel by its LOINC codes and the names it goes by
# (defined once, in ``portal.care.panels``).
PANELS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (panel.codes, panel.aliases) for name, panel in panels.PANELS.items()
}


def _panel_names(*, code: str, title: str) -> set[str]:
    """The names (lowercase) of the panels a task's code or title asks for: by the panel's
    LOINC code, or a title naming it ("CBC with differential" asks for a CBC)."""
    words = re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()
    names: set[str] = set()
    for panel, (codes, aliases) in PANELS.items():
        if code.strip().upper() in codes or any(re.search(rf"\b{re.escape(a)}\b", words) for a in aliases):
            names |= {panel.lower(), *aliases}
    if words:
        names.add(title.strip().lower())
    return names


def same_test_done_elsewhere(
    *,
    patient: NetworkPatient,
    organization: Organization,
    kind: str,
    code: str = "",
    title: str = "",
    days: int = RECENT_TEST_DAYS,
    owner_organization: Organization | None = None,
) -> list[RegistryEntry]:
    """The same test done for this patient by another organization in the last ``days``
    days: a task asking for it again deserves a warning. The same test is the same code or
    title (an analyte: "718-7", "Hemoglobin"), or a result of the same panel (a CBC task,
    by its LOINC code 58410-2 or by a title such as "CBC with differential", matches the
    Hemoglobin, platelets… published as part of a CBC); case does not matter. Neither the
    asking organization's own results nor those of the organization that would do the
    task (``owner_organization``) are "elsewhere"."""
    since = timezone.now() - dt.timedelta(days=days)
    ours = [o.pk for o in (organization, owner_organization) if o is not None]
    same = Q()
    if code.strip():
        same |= Q(code__iexact=code.strip())
    if title.strip():
        same |= Q(title__iexact=title.strip())
    for name in _panel_names(code=code, title=title):
        same |= Q(summary__panel__iexact=name)
    if not same:
        return []
    return list(
        RegistryEntry.objects.filter(patient=patient, kind=kind, effective_at__gte=since)
        .filter(shared_entry_condition(organization=organization))
        .exclude(organization__in=ours)
        .exclude(status=EntryStatus.WITHDRAWN)
        .filter(same)
        .select_related("organization")
        .order_by("-effective_at", "title")[:8]
    )


def open_tasks_for_same_test(*, patient: NetworkPatient, code: str = "", title: str = "") -> list[CareTask]:
    """Open care tasks of this patient asking for the same test (same code, same title, or
    the same panel by code or name). The caller has checked that the user sees the patient."""
    wanted = _panel_names(code=code, title=title)
    code = code.strip().upper()
    if not wanted and not code:
        return []
    same = []
    for task in CareTask.objects.filter(patient=patient, status=TaskStatus.OPEN).select_related(
        "owner_organization", "creating_organization"
    ):
        if (code and task.code.strip().upper() == code) or wanted & _panel_names(code=task.code, title=task.title):
            same.append(task)
    return same


def open_handoffs_of_kind(*, patient: NetworkPatient, kind: str) -> list[Handoff]:
    """Hand-offs of this kind for the patient still waiting for acknowledgement. The caller
    has checked that the user sees the patient."""
    return list(
        Handoff.objects.filter(patient=patient, kind=kind, acknowledged_at__isnull=True)
        .select_related("from_organization", "to_organization")
        .order_by("-sent_at")
    )


# --- Hand-offs ------------------------------------------------------------------------


def handoffs_for(*, user: User, organization: Organization) -> QuerySet[Handoff]:
    """Hand-offs this organization sent or received, about patients this user may see."""
    if not _is_clinical_member(user=user, organization=organization):
        return Handoff.objects.none()
    return (
        Handoff.objects.filter(Q(from_organization=organization) | Q(to_organization=organization))
        .filter(patient__in=visible_patients(user=user, organization=organization))
        .select_related("patient", "from_organization", "to_organization", "from_user", "to_user", "acknowledged_by")
    )


def handoff_get_for_user(*, user: User, organization: Organization, handoff_uuid: UUID | str) -> Handoff:
    handoff = handoffs_for(user=user, organization=organization).filter(uuid=handoff_uuid).first()
    if handoff is None:
        raise Http404("No such hand-off")
    return handoff


# The summary fields of diagnoses and treatments, as a reader names them, in reading order.
SUMMARY_LABELS: dict[str, str] = {
    "stage": "Stage",
    "tnm": "TNM",
    "histology": "Histology",
    "markers": "Markers",
    "ecog": "ECOG",
    "disease_status": "Disease status",
    "staging_date": "Staged",
    "role": "Primary or secondary",
    "modality": "Modality",
    "intent": "Intent",
    "agents": "Agents",
    "status": "Status",
    "end_date": "Ended",
}
SUMMARY_VALUES: dict[str, str] = {
    "no_evidence": "No evidence of disease",
    "secondary": "Secondary (metastatic)",
    "hormonal": "Hormonal therapy",
    "targeted": "Targeted therapy",
}
_FIELD_BY_NAME = {
    **{key.replace("_", " "): key for key in SUMMARY_LABELS},
    **{label.lower(): key for key, label in SUMMARY_LABELS.items()},
}


def _summary_value(value: Any) -> str:
    text = str(value).strip()
    if re.fullmatch(r"[a-z]+(_[a-z]+)*", text):  # a coded value such as "no_evidence"
        return SUMMARY_VALUES.get(text, text.replace("_", " ").capitalize())
    return text


def summary_facts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The filled-in fields of a diagnosis or treatment summary, labelled, in reading order."""
    return [
        (label, _summary_value(summary[key]))
        for key, label in SUMMARY_LABELS.items()
        if summary.get(key) not in ("", None)
    ]


def handoff_summary(*, treatment_summary: str) -> list[dict[str, Any]]:
    """The treatment summary of a hand-off for reading: one block per line, and a line
    drafted from the record ("Diagnosis (Mar 2026): DLBCL — Stage: IIA; TNM: T2 N1 M0"; or,
    as older plans have it, "stage: IIA; tnm: T2 N1 M0") as its heading and labelled facts.
    Any other line is shown as written."""
    blocks: list[dict[str, Any]] = []
    for line in treatment_summary.splitlines():
        line = line.strip()
        if not line:
            continue
        heading, dash, detail = line.rpartition(" — ")
        facts: dict[str, str] = {}
        for part in detail.split("; ") if dash else []:
            name, colon, value = part.partition(": ")
            key = _FIELD_BY_NAME.get(name.strip().lower())
            if not colon or key is None or not value.strip():
                facts = {}
                break
            facts[key] = value
        if facts:
            blocks.append({"heading": heading, "facts": summary_facts(facts), "text": ""})
        else:
            blocks.append({"heading": "", "facts": [], "text": line})
    return blocks


def handoff_prefill(*, patient: NetworkPatient, organization: Organization) -> dict[str, Any]:
    """A survivorship care plan drafted from the diagnoses and treatments on the record that
    this organization sees."""
    entries = list(
        RegistryEntry.objects.filter(patient=patient, kind__in=["cancer_diagnosis", "treatment"])
        .filter(shared_entry_condition(organization=organization))
        .exclude(status=EntryStatus.WITHDRAWN)
        .order_by("effective_at")
    )
    lines = []
    for item in entries:
        detail = "; ".join(f"{label}: {value}" for label, value in summary_facts(item.summary or {}))
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


def pcp_of_record(*, patient: NetworkPatient, organization: Organization) -> User | None:
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
    *, user: User, organization: Organization, patient: NetworkPatient, access_checked: bool = False
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
