"""Which result answers a care-task occurrence: about the task's patient, of the test the task
asks for (``portal.care.panels``), collected in the occurrence's window, and not already the
result of another occurrence. Used by the service (which enforces it) and by the selectors
(which offer only such results and say why the others are not offered)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from portal.care.models import OCCURRENCE_GRACE_DAYS, CareTask, OccurrenceResult, TaskOccurrence
from portal.care.panels import Requirement, analytes_asked, requirement_for
from portal.patients.models import EntryStatus, RegistryEntry

if TYPE_CHECKING:
    from tenants.models import Organization

GRACE = dt.timedelta(days=OCCURRENCE_GRACE_DAYS)


def task_requirement(task: CareTask) -> Requirement:
    analytes = task.analytes or analytes_asked(code=task.code, title=task.title, instructions=task.instructions)
    return requirement_for(kind=task.result_kind, code=task.code, title=task.title, analytes=analytes)


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment <= self.end


def windows(task: CareTask, occurrences: Iterable[TaskOccurrence]) -> dict[int, Window]:
    """Each occurrence's window (``occurrences``: all of the task's, any order)."""
    result: dict[int, Window] = {}
    previous = task.starts_at
    for occurrence in sorted(occurrences, key=lambda o: (o.due_at, o.pk)):
        result[occurrence.pk] = Window(start=min(previous, occurrence.due_at), end=occurrence.due_at + GRACE)
        previous = occurrence.due_at
    return result


def occurrence_window(occurrence: TaskOccurrence) -> Window:
    task = occurrence.task
    previous = (
        TaskOccurrence.objects.filter(task=task, due_at__lt=occurrence.due_at)
        .order_by("-due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    start = previous if previous is not None else min(task.starts_at, occurrence.due_at)
    return Window(start=start, end=occurrence.due_at + GRACE)


@dataclass
class Candidate:
    """One result: the entries of one test collected together (same organization, same time)."""

    entries: list[RegistryEntry]
    reason: str = ""  # why it does not answer the occurrence; empty when it does
    missing: list[str] = field(default_factory=list)

    @property
    def primary(self) -> RegistryEntry:
        return self.entries[0]

    @property
    def organization(self) -> Organization:
        return self.primary.organization

    @property
    def effective_at(self) -> dt.datetime:
        return self.primary.effective_at

    @property
    def label(self) -> str:
        names = ", ".join(e.title for e in self.entries)
        when = timezone.localtime(self.effective_at)
        return f"{names} — {self.organization.name}, collected {when:%-d %b %Y}"


def _primary_first(entries: list[RegistryEntry], requirement: Requirement) -> list[RegistryEntry]:
    """The panel's own entry first, then the analytes in the order the task names them."""
    panel_codes = requirement.panel.codes if requirement.panel else frozenset()

    def rank(entry: RegistryEntry) -> tuple[int, str]:
        if (entry.code or "").upper() in panel_codes:
            return (-1, entry.title)
        for index, analyte in enumerate(requirement.analytes):
            if analyte.matches(code=entry.code, title=entry.title):
                return (index, entry.title)
        return (len(requirement.analytes), entry.title)

    return sorted(entries, key=rank)


def group(entries: Iterable[RegistryEntry], requirement: Requirement) -> tuple[list[Candidate], list[Candidate]]:
    """(results of the test asked for, results of other tests): entries of one organization
    collected at the same time form one result; other tests by their panel or alone."""
    mine: dict[tuple[Any, ...], list[RegistryEntry]] = {}
    others: dict[tuple[Any, ...], list[RegistryEntry]] = {}
    for entry in entries:
        if requirement.relevant(entry):
            mine.setdefault((entry.organization_id, entry.effective_at), []).append(entry)
        else:
            panel = str((entry.summary or {}).get("panel") or "").strip().lower()
            others.setdefault((entry.organization_id, entry.effective_at, panel or entry.pk), []).append(entry)
    return (
        [Candidate(entries=_primary_first(found, requirement)) for found in mine.values()],
        [Candidate(entries=found, reason="other_test") for found in others.values()],
    )


def judge(candidate: Candidate, *, requirement: Requirement, window: Window, used: set[int]) -> Candidate:
    """Say why the result does not answer the occurrence (``reason``), or leave it empty."""
    missing = requirement.missing(candidate.entries)
    if missing:
        candidate.reason, candidate.missing = "incomplete", [a.name for a in missing]
    elif any(e.pk in used for e in candidate.entries):
        candidate.reason = "used"
    elif candidate.effective_at < window.start:
        candidate.reason = "before"
    elif candidate.effective_at > window.end:
        candidate.reason = "after"
    else:
        candidate.reason = ""
    return candidate


def used_entry_ids(entry_ids: Iterable[int]) -> set[int]:
    """Entries already part of an occurrence's result."""
    return set(OccurrenceResult.objects.filter(entry_id__in=list(entry_ids)).values_list("entry_id", flat=True))


def result_of(entry: RegistryEntry, requirement: Requirement) -> list[RegistryEntry]:
    """The entries of the result ``entry`` belongs to: the same test's entries of its
    organization for this patient, collected at the same time, not withdrawn."""
    together = RegistryEntry.objects.filter(
        patient_id=entry.patient_id,
        organization_id=entry.organization_id,
        kind=entry.kind,
        effective_at=entry.effective_at,
    ).exclude(status=EntryStatus.WITHDRAWN)
    return _primary_first([e for e in together if requirement.relevant(e)], requirement)


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%-d %b %H:%M}"


def refusal(candidate: Candidate, *, requirement: Requirement, window: Window) -> str:
    """The reason in words, for one result."""
    when = timezone.localtime(candidate.effective_at)
    if candidate.reason == "other_test":
        return f"This result is not {requirement.describe()}."
    if candidate.reason == "incomplete":
        has = ", ".join(e.title for e in candidate.entries)
        return (
            f"This result has only {has}: the task asks for {requirement.describe()} "
            f"(missing: {', '.join(candidate.missing)})."
        )
    if candidate.reason == "used":
        return "This result already closes another occurrence."
    if candidate.reason == "before":
        return (
            f"This result was collected on {when:%-d %b}, before this occurrence's window "
            f"(from {_when(window.start)} to {_when(window.end)})."
        )
    if candidate.reason == "after":
        return (
            f"This result was collected on {when:%-d %b}, after this occurrence's grace period "
            f"(until {_when(window.end)})."
        )
    return ""


def not_offered(candidates: Iterable[Candidate], *, requirement: Requirement, window: Window) -> list[str]:
    """Why the other results are not offered, counted by reason, e.g. "3 results collected
    before this occurrence's window (from 3 Dec 07:00)"."""
    counts: dict[str, int] = {}
    for candidate in candidates:
        if candidate.reason:
            counts[candidate.reason] = counts.get(candidate.reason, 0) + 1

    def n(count: int) -> str:
        return f"{count} result{'s' if count != 1 else ''}"

    lines = []
    if counts.get("before"):
        lines.append(f"{n(counts['before'])} collected before this occurrence's window (from {_when(window.start)})")
    if counts.get("after"):
        lines.append(f"{n(counts['after'])} collected after its grace period (until {_when(window.end)})")
    if counts.get("incomplete"):
        lines.append(f"{n(counts['incomplete'])} without everything the task asks for ({requirement.describe()})")
    if counts.get("used"):
        lines.append(f"{n(counts['used'])} already closing another occurrence")
    if counts.get("other_test"):
        lines.append(f"{n(counts['other_test'])} of another test")
    return lines
