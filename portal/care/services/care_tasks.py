"""Care tasks and their occurrences: the schedule, linking a result, cancelling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dateutil.rrule import rrulestr
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.care import results
from portal.care.models import (
    CareTask,
    OccurrenceResult,
    TaskOccurrence,
)
from portal.care.panels import ANALYTES, analytes_asked
from portal.care.services.common import TransitionRefused, _clinical_member, _navigators_and_clinicians
from portal.care.transitions import task_move, task_move_check
from portal.notifications.services import notification_send, notifications_mark_read_for
from portal.patients.models import EntryStatus, NetworkPatient, RegistryEntry
from portal.patients.selectors import has_regular_access, user_can_view_patient
from portal.text import text_clean
from tenants.models import Organization

MAX_OCCURRENCES = 60

RESULT_KINDS = frozenset({"lab_result", "imaging_report", "pathology_report"})


def recurrence_rule(*, times_per_week: int, weeks: int | None = None, until: dt.date | None = None) -> str:
    """An RRULE for 'N times a week for M weeks' (e.g. twice a week for three weeks), or
    'N times a week until a date' (that day included)."""
    days = {1: "MO", 2: "MO,TH", 3: "MO,WE,FR", 4: "MO,TU,TH,FR", 5: "MO,TU,WE,TH,FR"}
    if times_per_week not in days:
        raise ValidationError({"recurrence": ["Choose 1 to 5 times a week."]})
    if until is not None:
        end = dt.datetime.combine(until, dt.time(23, 59, 59), tzinfo=timezone.get_current_timezone())
        stamp = end.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"FREQ=WEEKLY;BYDAY={days[times_per_week]};UNTIL={stamp}"
    if weeks is None or not 1 <= weeks <= 26:
        raise ValidationError({"recurrence": ["Choose 1 to 5 times a week, for 1 to 26 weeks."]})
    return f"FREQ=WEEKLY;BYDAY={days[times_per_week]};COUNT={times_per_week * weeks}"


def occurrence_dates(*, recurrence: str, starts_at: dt.datetime) -> list[dt.datetime]:
    try:
        rule = rrulestr(recurrence, dtstart=starts_at)
    except (ValueError, TypeError) as error:
        raise ValidationError({"recurrence": [f"Not a valid recurrence rule: {error}"]}) from error
    dates = []
    for moment in rule:
        dates.append(moment)
        if len(dates) > MAX_OCCURRENCES:
            raise ValidationError({"recurrence": [f"At most {MAX_OCCURRENCES} occurrences."]})
    if not dates:
        raise ValidationError({"recurrence": ["This rule gives no occurrence."]})
    return dates


@transaction.atomic
def care_task_create(
    *,
    user: User,
    organization: Organization,
    patient: NetworkPatient,
    owner_organization: Organization,
    title: str,
    instructions: str = "",
    owner_user: User | None = None,
    result_kind: str = "lab_result",
    code: str = "",
    due_at: dt.datetime | None = None,
    recurrence: str = "",
    starts_at: dt.datetime | None = None,
    analytes: Iterable[str] | None = None,
) -> CareTask:
    """``analytes``: what a result must carry to answer the task (keys of
    ``portal.care.panels.ANALYTES``); by default read from the code, title and instructions
    (a CBC's white cells, hemoglobin and platelets, and the differential it names).
    ``starts_at``: where the first occurrence's window opens (now by default)."""
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("You cannot create a task for this patient here.")
    errors: dict[str, list[str]] = {}
    if not text_clean(title):
        errors["title"] = ["Say what is to be done."]
    if owner_organization is None or owner_organization.is_network or not owner_organization.is_active:
        errors["owner_organization"] = ["Choose an organization of the network."]
    elif not has_regular_access(organization=owner_organization, patient=patient):
        # A task shows the patient to its owner: only an organization already caring for
        # the patient may own one (a referral is the way to bring in another).
        errors["owner_organization"] = [
            f"{owner_organization.name} does not care for this patient. "
            "Choose an organization that does, or refer the patient to them first."
        ]
    elif (
        owner_user is not None
        and not Membership.objects.active().filter(user=owner_user, organization=owner_organization).exists()
    ):
        errors["owner_user"] = ["This person does not work at the owner organization."]
    if result_kind not in RESULT_KINDS:
        errors["result_kind"] = [f"Results are one of: {', '.join(sorted(RESULT_KINDS))}."]
    if bool(due_at) == bool(recurrence):
        errors["due_at"] = ["Give either a due date or a recurrence."]
    wanted = (
        list(dict.fromkeys(analytes))
        if analytes is not None
        else analytes_asked(code=code, title=title, instructions=instructions)
    )
    unknown = [key for key in wanted if key not in ANALYTES]
    if unknown:
        errors["analytes"] = [f"Unknown analytes: {', '.join(unknown)}. Known: {', '.join(ANALYTES)}."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    starts_at = starts_at or now
    if recurrence:
        dates = occurrence_dates(recurrence=recurrence, starts_at=starts_at)
    else:
        assert due_at is not None
        dates = [due_at]
    task = CareTask.objects.create(
        patient=patient,
        created_by=user,
        creating_organization=organization,
        owner_organization=owner_organization,
        owner_user=owner_user,
        title=text_clean(title),
        instructions=text_clean(instructions),
        result_kind=result_kind,
        code=text_clean(code),
        recurrence=recurrence,
        analytes=wanted,
        starts_at=min(starts_at, *dates),
    )
    TaskOccurrence.objects.bulk_create([TaskOccurrence(task=task, due_at=moment) for moment in dates])
    if owner_organization.pk != organization.pk:
        recipients = [owner_user] if owner_user else _navigators_and_clinicians(owner_organization)
        notification_send(
            recipients=recipients,
            kind="care_task",
            title="New care task for your organization",
            link=f"/care/tasks/{task.uuid}/",
            organization=owner_organization,
            subject=task,
            subject_label=task.title,
        )
    return task


@transaction.atomic
def occurrence_link_result(
    *, occurrence: TaskOccurrence, entry: RegistryEntry, user: User, organization: Organization
) -> TaskOccurrence:
    """Mark an occurrence done by the published result that answers it; tell the task's creator.

    The result answers it when it is about the task's patient, of the test the task asks
    for (the panel's own entry, or every analyte the task needs collected together), was
    collected in the occurrence's window (``portal.care.results``), and closes no other
    occurrence (also a constraint of the database). ``entry`` is any entry of the result."""
    occurrence = TaskOccurrence.objects.select_for_update().select_related("task").get(pk=occurrence.pk)
    task = occurrence.task
    if (
        organization.pk not in (task.owner_organization_id, task.creating_organization_id)
        or not _clinical_member(user=user, organization=organization)
        or not user_can_view_patient(user=user, organization=organization, patient=task.patient)
    ):
        raise TransitionRefused("Only the owner or the creator of the task may link its results.")
    if occurrence.done_at is not None:
        raise TransitionRefused("This occurrence already has its result.")
    task_move_check(task=task, action="complete")
    if entry.patient_id != task.patient_id or entry.kind not in RESULT_KINDS or entry.status == EntryStatus.WITHDRAWN:
        raise ValidationError({"entry": ["Link a published result of this task's patient."]})
    requirement = results.task_requirement(task)
    window = results.occurrence_window(occurrence)
    if not requirement.relevant(entry):
        candidate = results.Candidate(entries=[entry], reason="other_test")
    else:
        entries = results.result_of(entry, requirement)
        candidate = results.judge(
            results.Candidate(entries=entries),
            requirement=requirement,
            window=window,
            used=results.used_entry_ids(e.pk for e in entries),
        )
    if candidate.reason:
        raise ValidationError({"entry": [results.refusal(candidate, requirement=requirement, window=window)]})
    try:
        with transaction.atomic():
            OccurrenceResult.objects.bulk_create(
                [OccurrenceResult(occurrence=occurrence, entry=item) for item in candidate.entries]
            )
    except IntegrityError as error:  # linked to another occurrence at the same moment
        raise ValidationError({"entry": ["This result already closes another occurrence."]}) from error
    now = timezone.now()
    occurrence.result_entry = candidate.primary
    occurrence.done_at = now
    occurrence.done_by = user
    occurrence.save(update_fields=["result_entry", "done_at", "done_by"])
    if not task.occurrences.filter(done_at__isnull=True).exists():
        task_move(task=task, action="complete", now=now)
    notification_send(
        recipients=[task.created_by],
        kind="care_task",
        title="A result for your care task is on the shared record",
        link=f"/care/tasks/{task.uuid}/",
        organization=task.creating_organization,
        subject=task,
        subject_label=task.title,
    )
    # Closing the occurrence answers what this side was told about the task.
    notifications_mark_read_for(user=user, subject=task, organization=organization)
    return occurrence


@transaction.atomic
def care_task_cancel(*, task: CareTask, user: User, organization: Organization) -> CareTask:
    if organization.pk != task.creating_organization_id or not _clinical_member(user=user, organization=organization):
        raise TransitionRefused("Only the organization that created the task may cancel it.")
    return task_move(task=task, action="cancel")
