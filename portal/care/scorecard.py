"""The scorecard: how well the network closes its loops, per organization or for the network.

Everything is computed from a handful of queries (values() rows), then in Python."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from portal.care.models import Handoff, Referral, ReferralState, TaskOccurrence, TaskStatus


@dataclass
class Bar:
    label: str
    value: float
    display: str
    y: int = 0
    width: float = 0.0


@dataclass
class Chart:
    title: str
    unit: str
    bars: list[Bar] = field(default_factory=list)
    height: int = 0
    label_width: int = 150
    plot_width: int = 160

    def layout(self) -> Chart:
        top = max((bar.value for bar in self.bars), default=0) or 1
        for index, bar in enumerate(self.bars):
            bar.y = 6 + index * 30
            bar.width = round(self.plot_width * bar.value / top, 1) if bar.value else 0
        self.height = 12 + 30 * len(self.bars)
        return self


def _days(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 86400


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _fmt(value: float | None, unit: str = "d") -> str:
    return "—" if value is None else f"{value:g} {unit}"


def message_response_hours(*, organization: Any, since: dt.datetime, until: dt.datetime) -> list[float]:
    """Hours between a message from one organization and the first reply from another in the
    same thread (only timestamps are read, never content); for ``organization``: its replies."""
    from portal.messaging.models import Message

    messages = Message.objects.filter(created_at__gte=since, created_at__lt=until).order_by("thread_id", "created_at")
    hours: list[float] = []
    thread = None
    waiting: tuple[int, dt.datetime] | None = None
    for thread_id, sender_org, created_at in messages.values_list("thread_id", "sender_organization_id", "created_at"):
        if thread_id != thread:
            thread, waiting = thread_id, None
        if waiting is None:
            waiting = (sender_org, created_at)
        elif sender_org != waiting[0]:
            if organization is None or sender_org == organization.pk:
                hours.append((created_at - waiting[1]).total_seconds() / 3600)
            waiting = (sender_org, created_at)
    return hours


def scorecard(*, organization: Any = None, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Measures for referrals, tasks and hand-offs started between ``start`` and ``end`` (inclusive).

    ``organization`` None: the whole network."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    referrals = Referral.objects.filter(created_at__gte=since, created_at__lt=until)
    occurrences = TaskOccurrence.objects.filter(due_at__gte=since, due_at__lt=until)
    handoffs = Handoff.objects.filter(sent_at__gte=since, sent_at__lt=until)
    if organization is not None:
        referrals = referrals.filter(Q(referring_organization=organization) | Q(receiving_organization=organization))
        occurrences = occurrences.filter(
            Q(task__owner_organization=organization) | Q(task__creating_organization=organization)
        )
        handoffs = handoffs.filter(Q(from_organization=organization) | Q(to_organization=organization))
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in referrals.values(
            "state",
            "created_at",
            "received_at",
            "accepted_at",
            "declined_at",
            "scheduled_at",
            "closed_at",
            "receiving_organization__name",
        )
    ]
    now = timezone.now()
    occurrence_rows = list(occurrences.filter(task__status=TaskStatus.OPEN).values("due_at", "done_at"))
    occurrence_rows += list(
        occurrences.exclude(task__status=TaskStatus.OPEN).exclude(done_at=None).values("due_at", "done_at")
    )
    handoff_rows = list(handoffs.values("sent_at", "acknowledged_at"))

    to_consult = [d for r in rows if (d := _days(r["created_at"], r["closed_at"])) is not None]
    stages = [
        ("Request → received", "created_at", "received_at"),
        ("Received → decision", "received_at", "decided"),
        ("Accepted → scheduled", "accepted_at", "scheduled_at"),
        ("Scheduled → outcome", "scheduled_at", "closed_at"),
    ]
    for r in rows:
        r["decided"] = r["accepted_at"] or r["declined_at"]
    turnaround = Chart("Referral turnaround by step (median days)", "days")
    stage_rows = []
    for label, a, b in stages:
        values = [d for r in rows if (d := _days(r[a], r[b])) is not None]
        median = _median(values)
        turnaround.bars.append(Bar(label, median or 0, _fmt(median)))
        stage_rows.append({"label": label, "median_days": median, "count": len(values)})
    by_state = Chart("Referrals by state", "referrals")
    for state in ReferralState:
        count = sum(1 for r in rows if r["state"] == state.value)
        if count:
            by_state.bars.append(Bar(state.label, count, str(count)))
    per_org: dict[str, list[float]] = {}
    for r in rows:
        if (d := _days(r["created_at"], r["closed_at"])) is not None:
            per_org.setdefault(r["receiving_organization__name"], []).append(d)
    consult_chart = Chart("Days from referral to consult, by receiving organization (median)", "days")
    for name in sorted(per_org):
        median = _median(per_org[name])
        consult_chart.bars.append(Bar(name, median or 0, _fmt(median)))

    by_receiver: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_receiver.setdefault(r["receiving_organization__name"], []).append(r)
    organizations = []
    for name in sorted(by_receiver):
        group = by_receiver[name]
        done = sum(1 for r in group if r["state"] == ReferralState.COMPLETED)
        organizations.append(
            {
                "name": name,
                "received": len(group),
                "closed_with_outcome": done,
                "closed_share": round(100 * done / len(group)),
                "median_days_to_consult": _median(per_org.get(name, [])),
            }
        )
    closed = sum(1 for r in rows if r["state"] == ReferralState.COMPLETED)
    finished = sum(
        1 for r in rows if r["state"] in (ReferralState.COMPLETED, ReferralState.DECLINED, ReferralState.CANCELLED)
    )
    overdue = sum(1 for o in occurrence_rows if o["done_at"] is None and o["due_at"] < now)
    late_done = sum(1 for o in occurrence_rows if o["done_at"] is not None and o["done_at"] > o["due_at"])
    acked = [d for h in handoff_rows if (d := _days(h["sent_at"], h["acknowledged_at"])) is not None]
    tasks_chart = Chart("Task occurrences", "occurrences")
    tasks_chart.bars = [
        Bar(
            "Done",
            sum(1 for o in occurrence_rows if o["done_at"] is not None),
            str(sum(1 for o in occurrence_rows if o["done_at"] is not None)),
        ),
        Bar("Overdue", overdue, str(overdue)),
        Bar("Done late", late_done, str(late_done)),
    ]
    handoff_chart = Chart("Hand-offs", "hand-offs")
    handoff_chart.bars = [
        Bar("Acknowledged", len(acked), str(len(acked))),
        Bar("Waiting", len(handoff_rows) - len(acked), str(len(handoff_rows) - len(acked))),
    ]
    response_hours = message_response_hours(organization=organization, since=since, until=until)
    return {
        "median_message_response_hours": _median(response_hours),
        "message_replies": len(response_hours),
        "start": start,
        "end": end,
        "referral_count": len(rows),
        "closed_with_outcome": closed,
        "closed_share": round(100 * closed / len(rows)) if rows else None,
        "finished_count": finished,
        "median_days_to_consult": _median(to_consult),
        "stages": stage_rows,
        "organizations": organizations,
        "overdue_occurrences": overdue,
        "occurrence_count": len(occurrence_rows),
        "handoff_count": len(handoff_rows),
        "handoffs_acknowledged": len(acked),
        "median_days_to_acknowledge": _median(acked),
        "charts": [c.layout() for c in (turnaround, by_state, consult_chart, tasks_chart, handoff_chart) if c.bars],
    }


def scorecard_csv_rows(card: dict[str, Any]) -> list[list[str]]:
    rows = [["measure", "value"]]
    rows.append(["period", f"{card['start']} to {card['end']}"])
    for key in (
        "referral_count",
        "closed_with_outcome",
        "message_replies",
        "median_message_response_hours",
        "closed_share",
        "median_days_to_consult",
        "occurrence_count",
        "overdue_occurrences",
        "handoff_count",
        "handoffs_acknowledged",
        "median_days_to_acknowledge",
    ):
        value = card[key]
        rows.append([key, "" if value is None else str(value)])
    for row in card["organizations"]:
        rows.append([f"received {row['name']}", str(row["received"])])
        rows.append([f"closed_with_outcome {row['name']}", str(row["closed_with_outcome"])])
    for stage in card["stages"]:
        rows.append(
            [f"median_days {stage['label']}", "" if stage["median_days"] is None else str(stage["median_days"])]
        )
    return rows
