"""Twelve months of synthetic history for the demo network, so the scorecard and the lists
look like a network in use: referrals in every state (declined with reasons, with interim
notes, completed with their consult reports, cancelled), care tasks with occurrences done
on time, late or still overdue, hand-offs acknowledged and pending, and message threads
answered over the months.

All invented, and seeded only by ``seed_demo`` (``make run``), not by the test session.
Fast: referrals, events, notes, tasks, hand-offs and messages are written with
``bulk_create``; what grants access (a care relationship when a referral is accepted) and
what is published (consult reports, results) goes through the services, so the record and
the access rules hold as if people had done it. The past is not announced: no
notifications, and overdue steps carry the escalations they would already have had, so the
periodic escalation does not wake everyone at once. Idempotent: nothing is written when
the history is already there.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from portal.care.models import (
    CareTask,
    Escalation,
    Handoff,
    HandoffKind,
    Priority,
    Referral,
    ReferralEvent,
    ReferralNote,
    ReferralState,
    Responsible,
    TaskOccurrence,
    TaskStatus,
)
from portal.care.services import (
    HANDOFF_ACK_DAYS,
    OCCURRENCE_GRACE_DAYS,
    REFERRAL_ACCEPT_DAYS,
    REFERRAL_ACCESS_DAYS,
    REFERRAL_RECEIVE_DAYS,
)
from portal.messaging.models import Message, Participant, ReadState, Thread
from portal.patients.access import relationships_expire
from portal.patients.models import CareRelationship, RelationshipKind
from portal.patients.services import care_relationship_start
from portal.records.services import PastItem, items_publish_past

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.demo.cast import Cast
    from tenants.models import Organization

MONTHS = 12
ONCOLOGY = ("northfield", "lakeside", "stbrendans")
PRIMARY = ("maple", "cedarvalley")
CLINICIAN = {
    "northfield": "okafor",
    "lakeside": "ortega",
    "stbrendans": "brooks",
    "maple": "park",
    "cedarvalley": "chen",
}
NAVIGATOR = {"northfield": "navarro"}
SPECIALTIES = [
    "Medical oncology consult",
    "Hematology consult",
    "Surgical oncology evaluation",
    "Radiation oncology consult",
    "Breast surgery evaluation",
    "Second opinion: treatment plan",
]
QUESTIONS = [
    "Rising PSA over two checks; please advise on work-up.",
    "Unexplained anemia and weight loss over three months.",
    "New breast mass on screening mammogram, BI-RADS 4.",
    "Persistent lymphadenopathy after antibiotics.",
    "Incidental lung nodule, 9 mm, on CT for cough.",
    "Family history of colon cancer; positive FIT.",
]
DECLINE_REASONS = [
    "Better served closer to home: please refer to Lakeside Oncology.",
    "Outside our scope: please refer to hematology.",
    "Missing pathology: please resend with the biopsy report.",
]
CANCEL_REASONS = ["Patient chose to be seen elsewhere.", "Patient moved out of the area."]
NOTES = [
    "Imaging reviewed; biopsy booked before the visit.",
    "Insurance authorization received.",
    "Patient asked to bring prior scans on disc.",
]
THREAD_SUBJECTS = [
    "Labs before the next cycle",
    "Medication question after discharge",
    "Follow-up imaging timing",
    "Blood pressure on the new regimen",
    "Neuropathy: dose adjustment?",
    "Vaccinations during treatment",
]
TASKS = [  # (title, LOINC, unit, low, high, typical value)
    ("Hemoglobin", "718-7", "g/dL", "12.0", "15.5", 12.6),
    ("Creatinine", "2160-0", "mg/dL", "0.6", "1.2", 0.9),
    ("eGFR", "33914-3", "mL/min/{1.73_m2}", "60", "120", 78.0),
    ("TSH", "3016-3", "m[IU]/L", "0.4", "4.0", 2.1),
]


def month_windows(now: dt.datetime, months: int = MONTHS) -> dict[int, tuple[dt.datetime, dt.datetime]]:
    """{n: (start, end)} of the calendar month n months back (0: this month, up to now), in
    the current time zone; the current month only once a day of it has passed."""
    local = timezone.localtime(now)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    windows = {}
    end = now
    for back in range(months + 1):
        if back or end - start > dt.timedelta(days=1):
            windows[back] = (start, end)
        end = start
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return windows


def _at(rng: random.Random, window: tuple[dt.datetime, dt.datetime], upto: float = 1.0) -> dt.datetime:
    start, end = window
    return start + (end - start) * rng.uniform(0.02, upto)


def history_present() -> bool:
    return Referral.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=200)).exists()


def _receiver_user(cast: Cast, slug: str) -> User:
    return cast.users[NAVIGATOR.get(slug, CLINICIAN[slug])]


def _patients_by_pair(cast: Cast) -> list[tuple[Any, str, str]]:
    """(patient, oncology slug, primary-care slug) for the synthetic panel (Maria aside)."""
    slug_of = {org.pk: slug for slug, org in cast.organizations.items()}
    pairs: dict[int, dict[str, str]] = {}
    patients = {}
    for rel in CareRelationship.objects.active().exclude(patient=cast.patients["maria"]).select_related("patient"):
        slug = slug_of.get(rel.organization_id)
        if slug is None:
            continue
        patients[rel.patient_id] = rel.patient
        kind = "onc" if slug in ONCOLOGY else "pcp" if slug in PRIMARY else None
        if kind:
            pairs.setdefault(rel.patient_id, {}).setdefault(kind, slug)
    return [
        (patients[pk], both["onc"], both["pcp"])
        for pk, both in sorted(pairs.items())
        if "onc" in both and "pcp" in both
    ]


def _publish_all(cast: Cast, wanted: list[tuple[str, PastItem, Any]]) -> None:
    """Publish each (organization slug, item, owner) in its organization's schema, in one
    batch per organization, and give the owner (a referral, an occurrence) its entry."""
    by_slug: dict[str, list[tuple[PastItem, Any]]] = {}
    for slug, item, owner in wanted:
        by_slug.setdefault(slug, []).append((item, owner))
    for slug, pairs in by_slug.items():
        organization = cast.organizations[slug]
        with schema_context(organization.schema_name):
            entries = items_publish_past(organization=organization, items=[item for item, _ in pairs])
        for (_, owner), entry in zip(pairs, entries, strict=True):
            if isinstance(owner, Referral):
                owner.outcome_entry = entry
            else:
                owner.result_entry = entry


@transaction.atomic
def seed(cast: Cast) -> None:
    if history_present():
        return
    rng = random.Random(2026)
    now = timezone.now()
    orgs = cast.organizations
    panel = _patients_by_pair(cast)
    if not panel:
        return
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)
    windows = month_windows(now)

    # --- Referrals: about six a month, the older the further along. -----------------------
    referrals: list[Referral] = []
    plans: list[dict[str, Any]] = []
    # (when, how far it goes) of each referral: about six a month, and a few recent ones
    # at each open step, so every state shows.
    starts: list[tuple[dt.datetime, int, int | None, float | None]] = [
        (_at(rng, window), month, None, None)
        for month, window in sorted(windows.items(), reverse=True)
        for _ in range(rng.randint(5, 7))
    ]
    # requested, received, accepted, scheduled; and a cancellation asked for, not yet confirmed
    starts += [(now - hours * hour, 0, steps, 1.0) for hours, steps in ((5, 0), (30, 1), (70, 2), (100, 3))]
    starts += [(now - 80 * hour, 0, 2, 0.0)]
    for created, month, steps, forced in starts:
        patient, onc, pcp = rng.choice(panel)
        receiver = onc if rng.random() < 0.7 else rng.choice([o for o in ONCOLOGY if o != onc])
        # Newer referrals move a little faster: the network is getting better at it.
        pace = 1.0 - 0.03 * (MONTHS - month)
        moments = {"request": created}
        moments["receive"] = created + rng.uniform(0.1, 2.0) * day * pace
        outcome = rng.random() if forced is None else forced
        path = ["receive"]
        if outcome < 0.06:
            path += ["request_cancel", "confirm_cancel"]
            moments["request_cancel"] = moments["receive"] + rng.uniform(0.5, 3) * day
            moments["confirm_cancel"] = moments["request_cancel"] + rng.uniform(1, 12) * hour
        elif outcome < 0.2:
            path += ["decline"]
            moments["decline"] = moments["receive"] + rng.uniform(0.5, 3) * day * pace
        else:
            path += ["accept", "schedule", "complete"]
            moments["accept"] = moments["receive"] + rng.uniform(0.5, 3.5) * day * pace
            moments["schedule"] = moments["accept"] + rng.uniform(0.3, 2.5) * day * pace
            moments["appointment"] = moments["schedule"] + rng.uniform(3, 12) * day * pace
            moments["complete"] = moments["appointment"] + rng.uniform(0.3, 3) * day
            if rng.random() < 0.4:
                path.insert(path.index("complete"), "note")
                moments["note"] = moments["schedule"] + rng.uniform(0.2, 2) * day
        done = [a for a in path if moments[a] <= now]
        if steps is not None:  # a recent one stopped at a given step, whatever the clock
            done = path[:steps]
            for index, action in enumerate(done):
                moments[action] = created + (index + 1) * (now - created) / (len(done) + 1)
            moments["appointment"] = now + rng.uniform(2, 9) * day
        referral = Referral(
            patient=patient,
            referring_organization=orgs[pcp],
            receiving_organization=orgs[receiver],
            referred_by=cast.users[CLINICIAN[pcp]],
            specialty=rng.choice(SPECIALTIES),
            reason=rng.choice(QUESTIONS),
            priority=Priority.URGENT if rng.random() < 0.15 else Priority.ROUTINE,
            checklist={"pathology": True, "imaging": rng.random() < 0.7, "insurance": rng.random() < 0.8},
            created_at=created,
            updated_at=moments[done[-1]] if done else created,
        )
        state = ReferralState.REQUESTED
        for action in done:
            at = moments[action]
            if action == "receive":
                referral.received_at, state = at, ReferralState.RECEIVED
            elif action == "accept":
                referral.accepted_at, state = at, ReferralState.ACCEPTED
            elif action == "decline":
                referral.declined_at, state = at, ReferralState.DECLINED
                referral.decline_reason = rng.choice(DECLINE_REASONS)
            elif action == "schedule":
                referral.scheduled_at, state = at, ReferralState.SCHEDULED
                referral.appointment_at = moments["appointment"]
            elif action == "request_cancel":
                referral.cancel_reason, referral.state_before_cancel = rng.choice(CANCEL_REASONS), state
                state = ReferralState.CANCEL_REQUESTED
            elif action == "confirm_cancel":
                referral.cancelled_at, state = at, ReferralState.CANCELLED
            elif action == "complete":
                referral.closed_at, state = at, ReferralState.COMPLETED
        referral.state = state
        referrals.append(referral)
        plans.append({"done": done, "moments": moments, "onc": onc, "pcp": pcp, "receiver": receiver})
    Referral.objects.bulk_create(referrals)

    events, notes = [], []
    for referral, plan in zip(referrals, plans, strict=True):
        receiver_user = _receiver_user(cast, plan["receiver"])
        referrer_user = cast.users[CLINICIAN[plan["pcp"]]]
        before: str = ""
        for action in ["request", *plan["done"]]:
            by_referrer = action in ("request", "request_cancel")
            target = {
                "request": ReferralState.REQUESTED,
                "receive": ReferralState.RECEIVED,
                "accept": ReferralState.ACCEPTED,
                "decline": ReferralState.DECLINED,
                "schedule": ReferralState.SCHEDULED,
                "note": before,
                "complete": ReferralState.COMPLETED,
                "request_cancel": ReferralState.CANCEL_REQUESTED,
                "confirm_cancel": ReferralState.CANCELLED,
            }[action]
            text = ""
            if action == "decline":
                text = referral.decline_reason
            elif action == "request_cancel":
                text = referral.cancel_reason
            elif action == "note":
                text = rng.choice(NOTES)
                notes.append(
                    ReferralNote(
                        referral=referral,
                        author=receiver_user,
                        organization=referral.receiving_organization,
                        text=text,
                        created_at=plan["moments"]["note"],
                    )
                )
            events.append(
                ReferralEvent(
                    referral=referral,
                    action=action,
                    from_state=before,
                    to_state=target,
                    actor=referrer_user if by_referrer else receiver_user,
                    organization=referral.referring_organization if by_referrer else referral.receiving_organization,
                    note=text,
                    at=plan["moments"][action],
                )
            )
            before = target
    ReferralEvent.objects.bulk_create(events)
    ReferralNote.objects.bulk_create(notes)

    # Accepting gave the receiver 180 days of access (through the service: the relationship,
    # its permission, the audit event); each completed one returned its consult report.
    shortened = []
    outcomes: list[tuple[str, PastItem, Any]] = []
    for referral, plan in zip(referrals, plans, strict=True):
        if referral.accepted_at is None:
            continue
        ends = referral.accepted_at + dt.timedelta(days=REFERRAL_ACCESS_DAYS)
        relationship = care_relationship_start(
            patient=referral.patient,
            organization=referral.receiving_organization,
            kind=RelationshipKind.REFERRAL,
            granted_by=_receiver_user(cast, plan["receiver"]),
            starts_at=referral.accepted_at,
            ends_at=max(ends, now + hour),
            note=f"Referral {referral.uuid}",
        )
        referral.relationship = relationship
        if ends < now:
            shortened.append((relationship.pk, ends))
        if referral.closed_at is not None:
            consult = PastItem(
                author=cast.users[CLINICIAN[plan["receiver"]]],
                patient=referral.patient,
                kind="consult_note",
                values={
                    "effective_date": timezone.localtime(plan["moments"]["appointment"]).date().isoformat(),
                    "note_type": "consult",
                    "subject": f"Consult: {referral.specialty}",
                    "text": "Seen in clinic. History, examination and imaging reviewed; plan discussed with the "
                    "patient. Recommendations and follow-up as below; the referring practice continues primary care.",
                },
                published_at=referral.closed_at - rng.uniform(1, 6) * hour,
            )
            outcomes.append((plan["receiver"], consult, referral))
    _publish_all(cast, outcomes)
    Referral.objects.bulk_update(
        [r for r in referrals if r.relationship_id is not None], ["relationship", "outcome_entry"]
    )
    for pk, ends in shortened:
        CareRelationship.objects.filter(pk=pk).update(ends_at=ends)
    relationships_expire()

    # --- Care tasks: a lab after each month's treatment, done by primary care. ------------
    tasks, occurrences = [], []
    task_of: list[CareTask] = []  # the task of each occurrence (the same objects, before and after saving)
    results_due: list[tuple[TaskOccurrence, Any, str, tuple[Any, ...], dt.datetime]] = []
    for month, window in sorted(windows.items(), reverse=True):
        patient, onc, pcp = rng.choice(panel)
        title, loinc, unit, low, high, typical = spec = rng.choice(TASKS)
        created = _at(rng, window, 0.6) - 3 * day
        task = CareTask(
            patient=patient,
            created_by=cast.users[CLINICIAN[onc]],
            creating_organization=orgs[onc],
            owner_organization=orgs[pcp],
            owner_user=cast.users[CLINICIAN[pcp]],
            title=title,
            code=loinc,
            instructions="Draw before the next visit; call oncology the same day if out of range.",
            recurrence="FREQ=WEEKLY;COUNT=3",
            created_at=created,
        )
        tasks.append(task)
        for week in range(3):
            due = created + dt.timedelta(days=3 + 7 * week)
            occurrence = TaskOccurrence(task=task, due_at=due)
            occurrences.append(occurrence)
            task_of.append(task)
            # Most results come in on time, some late, a few never (overdue).
            chance = rng.random()
            if due > now - OCCURRENCE_GRACE_DAYS * day and chance < 0.5:
                continue  # still to come
            if chance < 0.08 and month <= 3:
                continue  # overdue
            drawn = due - rng.uniform(0, 1) * day if chance < 0.8 else due + rng.uniform(1.5, 5) * day
            if drawn < now:
                results_due.append((occurrence, task, pcp, spec, drawn))
    CareTask.objects.bulk_create(tasks)
    for occurrence, task in zip(occurrences, task_of, strict=True):
        occurrence.task_id = task.pk
    TaskOccurrence.objects.bulk_create(occurrences)
    labs: list[tuple[str, PastItem, Any]] = []
    for occurrence, task, pcp, spec, drawn in results_due:
        title, loinc, unit, low, high, typical = spec
        value = round(typical * rng.uniform(0.85, 1.15), 1)
        labs.append(
            (
                pcp,
                PastItem(
                    author=cast.users[CLINICIAN[pcp]],
                    patient=task.patient,
                    kind="lab_result",
                    values={
                        "effective_date": timezone.localtime(drawn).date().isoformat(),
                        "test": title,
                        "loinc": loinc,
                        "value": str(value),
                        "unit": unit,
                        "reference_low": low,
                        "reference_high": high,
                    },
                    published_at=min(drawn + 3 * hour, now),
                ),
                occurrence,
            )
        )
        occurrence.done_at = min(drawn + 3 * hour, now)
        occurrence.done_by = task.owner_user
    _publish_all(cast, labs)
    TaskOccurrence.objects.bulk_update([o for o, *_ in results_due], ["result_entry", "done_at", "done_by"])
    done_ids = {o.pk for o, *_ in results_due}
    for task in tasks:
        own = [o for o, t in zip(occurrences, task_of, strict=True) if t is task]
        if all(o.pk in done_ids for o in own):
            task.status = TaskStatus.DONE
            task.completed_at = max(o.done_at for o in own if o.done_at is not None)
    CareTask.objects.bulk_update(tasks, ["status", "completed_at"])

    # --- Hand-offs: survivorship plans and discharges, most acknowledged. -----------------
    handoffs = []
    for month, window in sorted(windows.items(), reverse=True):
        if rng.random() < 0.2 and month > 1:
            continue
        patient, onc, pcp = rng.choice(panel)
        sent = _at(rng, window)
        kind = HandoffKind.SURVIVORSHIP if rng.random() < 0.6 else HandoffKind.DISCHARGE
        pending = month <= 1 and rng.random() < 0.7 or sent > now - 2 * day
        acknowledged = None if pending else min(sent + rng.uniform(0.5, 9) * day, now - hour)
        handoffs.append(
            Handoff(
                kind=kind,
                patient=patient,
                from_organization=orgs[onc],
                from_user=cast.users[CLINICIAN[onc]],
                to_organization=orgs[pcp],
                to_user=cast.users[CLINICIAN[pcp]],
                treatment_summary="Treatment completed as planned; no evidence of disease on the last scan.",
                items=[
                    {
                        "section": "follow_up",
                        "text": "Oncology visit every 3 months for 2 years,\nthen every 6 months",
                        "responsible": Responsible.ONCOLOGY,
                    },
                    {
                        "section": "surveillance",
                        "text": "CBC and metabolic panel at each primary-care visit",
                        "responsible": Responsible.PRIMARY_CARE,
                    },
                ],
                sent_at=sent,
                acknowledged_at=acknowledged,
                acknowledged_by=None if acknowledged is None else cast.users[CLINICIAN[pcp]],
            )
        )
    Handoff.objects.bulk_create(handoffs)

    # --- Messages: threads between oncology and primary care, answered in hours. ----------
    threads, participants, messages, read_states = [], [], [], []
    sent_at: list[dt.datetime] = []  # bulk_create stamps auto_now_add fields with now
    for month, window in sorted(windows.items(), reverse=True):
        for _ in range(rng.randint(3, 5)):
            patient, onc, pcp = rng.choice(panel)
            start = _at(rng, window, 0.8)
            onc_user, pcp_user = cast.users[CLINICIAN[onc]], cast.users[CLINICIAN[pcp]]
            first_onc = rng.random() < 0.6
            people = [(onc, onc_user), (pcp, pcp_user)] if first_onc else [(pcp, pcp_user), (onc, onc_user)]
            thread = Thread(
                subject=rng.choice(THREAD_SUBJECTS),
                patient=patient,
                created_by=people[0][1],
                organization=orgs[people[0][0]],
                last_message_at=start,
            )
            threads.append(thread)
            participants += [Participant(thread=thread, organization=orgs[slug], user=user) for slug, user in people]
            at = start
            for index in range(rng.randint(2, 4)):
                if at > now:
                    break
                slug, user = people[index % 2]
                messages.append(
                    Message(
                        thread=thread,
                        sender=user,
                        sender_organization=orgs[slug],
                        body="Thanks — noted; see the plan in the chart." if index else "Could you look at this?",
                    )
                )
                sent_at.append(at)
                thread.last_message_at = at
                at += dt.timedelta(hours=rng.uniform(1, 40) * (1.0 - 0.03 * (MONTHS - month)))
            read_states += [
                ReadState(thread=thread, user=user, organization=orgs[slug], last_read_at=thread.last_message_at)
                for slug, user in people
            ]
    Thread.objects.bulk_create(threads)
    for row in participants + messages + read_states:
        row.thread_id = row.thread.pk
    Participant.objects.bulk_create(participants)
    Message.objects.bulk_create(messages)
    ReadState.objects.bulk_create(read_states)
    # auto_now_add set the creation times to now: give them back their moments.
    first: dict[int, dt.datetime] = {}
    for message, at in zip(messages, sent_at, strict=True):
        message.created_at = at
        first[message.thread_id] = min(first.get(message.thread_id, at), at)
    Message.objects.bulk_update(messages, ["created_at"])
    for thread in threads:
        thread.created_at = first[thread.pk]
    Thread.objects.bulk_update(threads, ["created_at"])

    # --- What the periodic escalation would already have done for the overdue. ------------
    escalations = []
    for referral in referrals:
        limit = REFERRAL_RECEIVE_DAYS if referral.state == ReferralState.REQUESTED else REFERRAL_ACCEPT_DAYS
        if referral.state in (ReferralState.REQUESTED, ReferralState.RECEIVED):
            overdue = referral.created_at + limit * day
            reason = "referral not received" if referral.state == ReferralState.REQUESTED else "referral not accepted"
            escalations += _escalated("referral", referral.pk, overdue, now, referral.receiving_organization, reason)
    for occurrence, task in zip(occurrences, task_of, strict=True):
        if occurrence.pk not in done_ids and task.status == TaskStatus.OPEN:
            overdue = occurrence.due_at + OCCURRENCE_GRACE_DAYS * day
            owner = task.owner_organization
            escalations += _escalated("occurrence", occurrence.pk, overdue, now, owner, "care task result missing")
    for handoff in handoffs:
        if handoff.acknowledged_at is None:
            overdue = handoff.sent_at + HANDOFF_ACK_DAYS * day
            receiver = handoff.to_organization
            escalations += _escalated("handoff", handoff.pk, overdue, now, receiver, "hand-off not acknowledged")
    Escalation.objects.bulk_create(escalations, ignore_conflicts=True)


def _escalated(
    object_type: str, object_id: int, overdue: dt.datetime, now: dt.datetime, organization: Organization, reason: str
) -> list[Any]:
    rows = []
    for level, at in ((1, overdue), (2, overdue + dt.timedelta(days=2))):
        if at <= now:
            rows.append(
                Escalation(
                    object_type=object_type,
                    object_id=object_id,
                    level=level,
                    reason=reason,
                    organization=organization,
                    created_at=at,
                )
            )
    return rows
