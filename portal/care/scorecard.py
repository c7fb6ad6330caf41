"""The scorecard: how well the network closes its loops, per organization or for the network.

Everything is computed from a handful of queries (values() rows), then in Python."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from portal.care.models import Handoff, Referral, ReferralState, TaskOccurrence, TaskStatus
from portal.db.replica import stale_reads

if TYPE_CHECKING:
    from tenants.models import Organization


@dataclass
class Bar:
    label: str
    value: float
    display: str
    y: int = 0
    width: float = 0.0


CHAR_PX = 7.4  # the width of a character of the charts' 13 px labels, roughly
FONT_PX = 13


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``: 0, 5, 10, 15 or 0, 0.5, 1…"""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 6))
    return ticks


def tick_label(value: float) -> str:
    return f"{value:g}"


@dataclass
class Tick:
    label: str
    x: float = 0.0
    y: float = 0.0


@dataclass
class Chart:
    """A horizontal bar chart drawn on the server: labels on the left (as wide as the
    longest needs, so none is cut), bars, their values, and an x axis with ticks."""

    title: str
    unit: str
    bars: list[Bar] = field(default_factory=list)
    height: int = 0
    width: int = 0
    label_width: int = 150
    plot_width: int = 200
    axis_y: int = 0
    ticks: list[Tick] = field(default_factory=list)

    def layout(self) -> Chart:
        top_value = max((bar.value for bar in self.bars), default=0) or 1
        values = nice_ticks(top_value)
        top = values[-1]
        longest = max((len(bar.label) for bar in self.bars), default=10)
        self.label_width = int(longest * CHAR_PX) + 16
        for index, bar in enumerate(self.bars):
            bar.y = 8 + index * 30
            bar.width = round(self.plot_width * bar.value / top, 1) if bar.value else 0
        self.axis_y = 8 + 30 * len(self.bars)
        self.ticks = [
            Tick(tick_label(v), x=round(self.label_width + self.plot_width * v / top, 1), y=self.axis_y) for v in values
        ]
        self.height = self.axis_y + 40
        longest_value = max((len(bar.display) for bar in self.bars), default=4)
        self.width = self.label_width + self.plot_width + max(int(longest_value * CHAR_PX) + 12, 24)
        return self


# Targets a network sets for its measures (lower is better for each). One place; a network
# changes them with the SCORECARD_TARGETS setting (e.g. {"days_to_consult": 10}).
DEFAULT_TARGETS: dict[str, float] = {
    "days_to_consult": 14,
    "message_response_hours": 24,
    "days_to_acknowledge": 7,
}


def targets() -> dict[str, float]:
    return {**DEFAULT_TARGETS, **getattr(settings, "SCORECARD_TARGETS", {})}


@dataclass
class Column:
    label: str
    year: str
    value: float | None
    display: str
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    center: float = 0.0


@dataclass
class TrendChart:
    """A measure per month over the chosen range, as columns, with a y axis (ticks and
    grid lines), month labels, and the network's target as a dashed line where it sets one."""

    title: str
    unit: str
    key: str
    columns: list[Column] = field(default_factory=list)
    target: float | None = None
    width: int = 480
    height: int = 240
    left: int = 48
    right: int = 16
    top: int = 28
    bottom: int = 46
    ticks: list[Tick] = field(default_factory=list)
    target_y: float = 0.0
    target_label: str = ""
    label_every: int = 1

    @property
    def has_data(self) -> bool:
        return any(c.value is not None for c in self.columns)

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    def layout(self) -> TrendChart:
        values = [c.value for c in self.columns if c.value is not None]
        peak = max([*values, self.target or 0, 0]) or 1
        ticks = nice_ticks(peak)
        top_value = ticks[-1]
        plot_height = self.plot_bottom - self.top
        plot_width = self.plot_right - self.left

        def y_of(value: float) -> float:
            return round(self.plot_bottom - plot_height * value / top_value, 1)

        self.ticks = [Tick(tick_label(v), x=self.left, y=y_of(v)) for v in ticks]
        slot = plot_width / max(len(self.columns), 1)
        # Month labels need about 30 px each: label every second or third month when many.
        self.label_every = max(1, math.ceil(30 / slot))
        for index, column in enumerate(self.columns):
            column.width = round(slot * 0.62, 1)
            column.center = round(self.left + slot * index + slot / 2, 1)
            column.x = round(column.center - column.width / 2, 1)
            if column.value is not None:
                column.y = y_of(column.value)
                column.height = round(self.plot_bottom - column.y, 1)
            if index % self.label_every:
                column.label = ""
        if self.target is not None:
            self.target_y = y_of(self.target)
            self.target_label = f"Target {tick_label(self.target)} {self.unit}"
        return self


MAX_TREND_MONTHS = 24  # a longer range shows its last two years month by month


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _month_of(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date().replace(day=1)


def _trend(
    *,
    title: str,
    unit: str,
    key: str,
    months: list[dt.date],
    by_month: dict[dt.date, list[float]],
    how: str,
    target: float | None = None,
) -> TrendChart:
    chart = TrendChart(title=title, unit=unit, key=key, target=target)
    for index, month in enumerate(months):
        values = by_month.get(month, [])
        value: float | None
        if how == "median":
            value = _median(values)
        elif how == "share":
            value = round(100 * sum(values) / len(values)) if values else None
        else:
            value = float(len(values))
        year = str(month.year) if index == 0 or month.month == 1 else ""
        chart.columns.append(Column(month.strftime("%b"), year, value, "" if value is None else tick_label(value)))
    return chart.layout()


def _days(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 86400


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _fmt(value: float | None, unit: str = "d") -> str:
    return "—" if value is None else f"{value:g} {unit}"


def message_response_hours(*, organization: Organization, since: dt.datetime, until: dt.datetime) -> list[float]:
    """Hours between a message from one organization and the first reply from another in the
    same thread (only timestamps are read, never content); for ``organization``: its replies."""
    return [hours for _, hours in message_response_points(organization=organization, since=since, until=until)]


def message_response_points(
    *, organization: Organization | None, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    """(when the reply came, hours it took), for the monthly trend."""
    from portal.messaging.models import Message

    messages = Message.objects.filter(created_at__gte=since, created_at__lt=until).order_by("thread_id", "created_at")
    hours: list[tuple[dt.datetime, float]] = []
    thread = None
    waiting: tuple[int, dt.datetime] | None = None
    for thread_id, sender_org, created_at in messages.values_list("thread_id", "sender_organization_id", "created_at"):
        if thread_id != thread:
            thread, waiting = thread_id, None
        if waiting is None:
            waiting = (sender_org, created_at)
        elif sender_org != waiting[0]:
            if organization is None or sender_org == organization.pk:
                hours.append((created_at, (created_at - waiting[1]).total_seconds() / 3600))
            waiting = (sender_org, created_at)
    return hours


def board_measures(*, organization: Organization | None, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """Tumor boards: cases submitted in the period per board and submitting organization,
    the share presented prospectively, days from submission to discussion, quorum met, and
    recommendations acknowledged and followed (for an organization: the cases it submitted
    or its boards discussed)."""
    from portal.boards.models import Case, CaseState

    cases = Case.objects.filter(submitted_at__gte=since, submitted_at__lt=until).exclude(state=CaseState.WITHDRAWN)
    if organization is not None:
        cases = cases.filter(Q(submitting_organization=organization) | Q(board__organization=organization))
    rows = list(
        cases.values(
            "board__name",
            "board__organization__name",
            "submitting_organization__name",
            "presentation",
            "submitted_at",
            "discussed_at",
            "finalised_at",
            "acknowledged_at",
            "recommendation__quorum_met",
            "recommendation__followup",
        )
    )
    groups: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (f"{row['board__name']} ({row['board__organization__name']})", row["submitting_organization__name"])
        groups[key] = groups.get(key, 0) + 1
    discussed = [row for row in rows if row["discussed_at"] is not None]
    finalised = [row for row in rows if row["finalised_at"] is not None]
    to_discussion = [d for row in discussed if (d := _days(row["submitted_at"], row["discussed_at"])) is not None]
    prospective = sum(1 for row in rows if row["presentation"] == "prospective")
    quorum = sum(1 for row in discussed if row["recommendation__quorum_met"])
    acknowledged = sum(1 for row in finalised if row["acknowledged_at"] is not None)
    followed = sum(1 for row in finalised if row["recommendation__followup"] == "followed")
    chart = Chart("Tumor-board cases by board and submitting organization", "cases")
    for (board, submitter), count in sorted(groups.items()):
        chart.bars.append(Bar(f"{board} ← {submitter}", count, str(count)))
    chart.label_width = 300
    return {
        "board_case_count": len(rows),
        "board_cases": [
            {"board": board, "organization": submitter, "cases": count}
            for (board, submitter), count in sorted(groups.items())
        ],
        "board_prospective_share": round(100 * prospective / len(rows)) if rows else None,
        "board_median_days_to_discussion": _median(to_discussion),
        "board_quorum_share": round(100 * quorum / len(discussed)) if discussed else None,
        "board_recommendations": len(finalised),
        "board_acknowledged": acknowledged,
        "board_followed": followed,
        "board_chart": chart.layout() if chart.bars else None,
    }


def scorecard(*, organization: Organization | None = None, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Measures for referrals, tasks and hand-offs started between ``start`` and ``end`` (inclusive).

    ``organization`` None: the whole network. Figures over months may be a moment stale: they
    are read from the read replica when there is one (portal.db.replica)."""
    with stale_reads():
        return _scorecard(organization=organization, start=start, end=end)


def _scorecard(*, organization: Organization | None, start: dt.date, end: dt.date) -> dict[str, Any]:
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
    response_points = message_response_points(organization=organization, since=since, until=until)
    response_hours = [hours for _, hours in response_points]
    months = _months(start, end)[-MAX_TREND_MONTHS:]
    goal = targets()
    consult_by_month: dict[dt.date, list[float]] = {}
    received_by_month: dict[dt.date, list[float]] = {}
    for r in rows:
        received_by_month.setdefault(_month_of(r["created_at"]), []).append(1)
        if (d := _days(r["created_at"], r["closed_at"])) is not None:
            consult_by_month.setdefault(_month_of(r["created_at"]), []).append(d)
    response_by_month: dict[dt.date, list[float]] = {}
    for at, hours in response_points:
        response_by_month.setdefault(_month_of(at), []).append(hours)
    ack_by_month: dict[dt.date, list[float]] = {}
    for h in handoff_rows:
        if (d := _days(h["sent_at"], h["acknowledged_at"])) is not None:
            ack_by_month.setdefault(_month_of(h["sent_at"]), []).append(d)
    overdue_by_month: dict[dt.date, list[float]] = {}
    for o in occurrence_rows:
        late = (o["done_at"] is None and o["due_at"] < now) or (o["done_at"] is not None and o["done_at"] > o["due_at"])
        if late:
            overdue_by_month.setdefault(_month_of(o["due_at"]), []).append(1)
    trends = [
        _trend(
            title="Referrals, by month referred",
            unit="referrals",
            key="referrals",
            months=months,
            by_month=received_by_month,
            how="count",
        ),
        _trend(
            title="Days from referral to consult (median, by month referred)",
            unit="d",
            key="days_to_consult",
            months=months,
            by_month=consult_by_month,
            how="median",
            target=goal.get("days_to_consult"),
        ),
        _trend(
            title="Message response time (median hours, by month)",
            unit="h",
            key="message_response_hours",
            months=months,
            by_month=response_by_month,
            how="median",
            target=goal.get("message_response_hours"),
        ),
        _trend(
            title="Days to acknowledge a hand-off (median, by month sent)",
            unit="d",
            key="days_to_acknowledge",
            months=months,
            by_month=ack_by_month,
            how="median",
            target=goal.get("days_to_acknowledge"),
        ),
        _trend(
            title="Task occurrences overdue or done late, by month due",
            unit="occurrences",
            key="overdue",
            months=months,
            by_month=overdue_by_month,
            how="count",
        ),
    ]
    boards = board_measures(organization=organization, since=since, until=until)
    charts = [c.layout() for c in (turnaround, by_state, consult_chart, tasks_chart, handoff_chart) if c.bars]
    if boards["board_chart"] is not None:
        charts.append(boards["board_chart"])
    return {
        **boards,
        "trends": trends,
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
        "charts": charts,
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
        "board_case_count",
        "board_prospective_share",
        "board_median_days_to_discussion",
        "board_quorum_share",
        "board_recommendations",
        "board_acknowledged",
        "board_followed",
    ):
        value = card[key]
        rows.append([key, "" if value is None else str(value)])
    for row in card["organizations"]:
        rows.append([f"received {row['name']}", str(row["received"])])
        rows.append([f"closed_with_outcome {row['name']}", str(row["closed_with_outcome"])])
    for row in card["board_cases"]:
        rows.append([f"board_cases {row['board']} from {row['organization']}", str(row["cases"])])
    for stage in card["stages"]:
        rows.append(
            [f"median_days {stage['label']}", "" if stage["median_days"] is None else str(stage["median_days"])]
        )
    return rows
