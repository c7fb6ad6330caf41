from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portal.records.models import ItemKind
from portal.records.units import unit_display

if TYPE_CHECKING:
    from portal.patients.models import NetworkPatient, RegistryEntry
    from portal.records.selectors import ResultGroup
    from tenants.models import Organization

register = template.Library()
LABELS = {kind.value: kind.label for kind in ItemKind}
DATE_FORMAT = "M j, Y"


@register.filter(name="unit")
def unit_filter(value: Any) -> str:
    """A UCUM unit as clinicians write it (``10^3/uL`` → ``×10³/µL``)."""
    return unit_display(value)


@register.filter
def kind_label(kind: str) -> str:
    return LABELS.get(kind, kind.replace("_", " ").capitalize())


@register.filter
def humanize_key(value: Any) -> str:
    return str(value or "").replace("_", " ")


@register.filter
def iso_date(value: Any) -> str:
    """An ISO date string of an item's data (``2026-06-24``) as the portal writes dates: Jun 24, 2026."""
    if isinstance(value, dt.datetime):
        return dateformat.format(timezone.localtime(value) if timezone.is_aware(value) else value, DATE_FORMAT)
    if isinstance(value, dt.date):
        return dateformat.format(value, DATE_FORMAT)
    try:
        return dateformat.format(dt.date.fromisoformat(str(value)), DATE_FORMAT)
    except ValueError:
        return str(value or "")


@register.simple_tag
def lab_range(summary: dict[str, Any]) -> str:
    low, high = summary.get("reference_low"), summary.get("reference_high")
    if low not in (None, "") and high not in (None, ""):
        return f"{low}–{high}"
    if low not in (None, ""):
        return f"≥ {low}"
    if high not in (None, ""):
        return f"≤ {high}"
    return ""


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def trend_words(first: Decimal, last: Decimal) -> str:
    """Rising, falling or stable from the first value to the last: less than 5% is stable."""
    threshold = abs(first) / 20
    if last - first > threshold:
        return "rising"
    if first - last > threshold:
        return "falling"
    return "stable"


def describe_trend(group: ResultGroup, points: list[tuple[dt.datetime, Decimal]]) -> str:
    """What a trend chart shows, in words (its accessible name)."""
    summary = group.latest.summary or {}
    unit = unit_display(summary.get("unit", ""))
    values = [value for _, value in points]
    first, last = values[0], values[-1]
    start, end = points[0][0], points[-1][0]
    label = (
        f"{group.title}, {len(values)} results over the past year, {trend_words(first, last)}: "
        f"from {_number(first)} on {dateformat.format(timezone.localtime(start), DATE_FORMAT)} "
        f"to {_number(last)} {unit} on {dateformat.format(timezone.localtime(end), DATE_FORMAT)}; "
        f"lowest {_number(min(values))}, highest {_number(max(values))}"
    ).replace("  ", " ")
    if summary.get("reference_low") not in (None, "") or summary.get("reference_high") not in (None, ""):
        label += f"; reference range {lab_range(summary)} {unit}".rstrip()
    return label + "."


class _Scale:
    """Where a test's values go on a chart: the values set the scale (so a trend shows,
    with ``margin`` of the spread above and below), and the latest result's reference
    range is a band cut to it. The plot area is the box inside the given padding."""

    def __init__(
        self,
        points: list[tuple[dt.datetime, Decimal]],
        summary: dict[str, Any],
        *,
        width: int,
        height: int,
        padding: tuple[int, int, int, int],
        margin: tuple[int, int],
    ) -> None:
        self.points = points
        self.left, self.right, self.top, self.bottom = padding
        self.width, self.height = width, height
        self.ref_low, self.ref_high = _decimal(summary.get("reference_low")), _decimal(summary.get("reference_high"))
        values = [value for _, value in points]
        self.low, self.high = min(values), max(values)
        spread_share, flat_share = margin
        pad = (self.high - self.low) / spread_share or max(abs(self.high) / flat_share, Decimal("0.5"))
        self.domain_low, self.domain_high = self.low - pad, self.high + pad
        self.start, self.end = points[0][0], points[-1][0]
        self.span = (self.end - self.start).total_seconds()

    def x(self, index: int, when: dt.datetime) -> float:
        share = (when - self.start).total_seconds() / self.span if self.span else index / (len(self.points) - 1)
        return round(self.left + share * (self.width - self.left - self.right), 1)

    def y(self, value: Decimal) -> float:
        share = float((value - self.domain_low) / (self.domain_high - self.domain_low))
        return round(self.height - self.bottom - share * (self.height - self.top - self.bottom), 1)

    def coords(self) -> list[tuple[float, float]]:
        return [(self.x(i, when), self.y(value)) for i, (when, value) in enumerate(self.points)]

    def band(self, *, x: float, width: float) -> SafeString | str:
        """The reference range as a rectangle, or nothing when there is none in view."""
        if self.ref_low is None and self.ref_high is None:
            return ""
        band_top = min(self.ref_high, self.domain_high) if self.ref_high is not None else self.domain_high
        band_bottom = max(self.ref_low, self.domain_low) if self.ref_low is not None else self.domain_low
        if band_top <= band_bottom:
            return ""
        top = self.y(band_top)
        return format_html(
            '<rect class="spark-band" x="{}" y="{}" width="{}" height="{}"></rect>',
            x,
            top,
            width,
            round(self.y(band_bottom) - top, 1),
        )

    def out_of_range(self, value: Decimal) -> bool:
        return (self.ref_low is not None and value < self.ref_low) or (
            self.ref_high is not None and value > self.ref_high
        )


@register.simple_tag
def sparkline(group: ResultGroup, width: int = 100, height: int = 32) -> SafeString | str:
    """A small inline SVG of a test's numeric values (a ``ResultGroup``), oldest to newest,
    with the latest result's reference range as a band; nothing under two values."""
    points = group.values()
    if len(points) < 2:
        return ""
    pad = 4
    scale = _Scale(
        points, group.latest.summary or {}, width=width, height=height, padding=(pad, pad, pad, pad), margin=(8, 20)
    )
    coords = scale.coords()
    band = scale.band(x=0, width=width)
    dots = format_html_join(
        "",
        '<circle class="{}" cx="{}" cy="{}" r="{}"></circle>',
        (
            (
                "spark-dot spark-flag" if scale.out_of_range(value) else "spark-dot",
                cx,
                cy,
                "2.6" if index == len(coords) - 1 else "1.8",
            )
            for index, ((cx, cy), (_, value)) in enumerate(zip(coords, points, strict=True))
        ),
    )
    label = describe_trend(group, points)
    return format_html(
        '<svg class="sparkline" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}">'
        "<title>{}</title>{}"
        '<polyline class="spark-line" points="{}"></polyline>{}</svg>',
        label,
        width,
        height,
        width,
        height,
        label,
        band,
        " ".join(f"{cx},{cy}" for cx, cy in coords),
        dots,
    )


@register.simple_tag
def trend_chart(
    group: ResultGroup, current: RegistryEntry | None = None, width: int = 560, height: int = 170
) -> SafeString | str:
    """A labelled SVG chart of a test's results over the past year (a ``ResultGroup``), the
    reference range as a band, ``current`` (the entry on the page) ringed; nothing under two values."""
    numeric = group.numeric()
    if len(numeric) < 2:
        return ""
    points = [(entry.effective_at, value) for entry, value in numeric]
    left, right, top, bottom = 48, 16, 18, 28
    scale = _Scale(
        points,
        group.latest.summary or {},
        width=width,
        height=height,
        padding=(left, right, top, bottom),
        margin=(6, 10),
    )
    y, start, end = scale.y, scale.start, scale.end
    parts: list[SafeString | str] = []
    band = scale.band(x=left, width=width - left - right)
    if band:
        parts.append(band)
    for value in sorted({scale.low, scale.high}):
        parts.append(
            format_html(
                '<line class="trend-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                width - right,
                y(value),
                y(value),
                left - 6,
                y(value) + 4,
                _number(value),
            )
        )
    for anchor, when in (("start", start), ("end", end)):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="{}">{}</text>',
                left if anchor == "start" else width - right,
                height - 8,
                anchor,
                dateformat.format(timezone.localtime(when), DATE_FORMAT),
            )
        )
    coords = scale.coords()
    parts.append(
        format_html('<polyline class="spark-line" points="{}"></polyline>', " ".join(f"{cx},{cy}" for cx, cy in coords))
    )
    current_uuid = getattr(current, "uuid", None)
    for (cx, cy), (entry, value) in zip(coords, numeric, strict=True):
        when = entry.effective_at
        is_current = entry.uuid == current_uuid
        flagged = scale.out_of_range(value)
        parts.append(
            format_html(
                '<circle class="{}" cx="{}" cy="{}" r="{}"><title>{}: {}</title></circle>',
                " ".join(
                    filter(None, ["spark-dot", "spark-flag" if flagged else "", "trend-current" if is_current else ""])
                ),
                cx,
                cy,
                5 if is_current else 3.5,
                dateformat.format(timezone.localtime(when), DATE_FORMAT),
                _number(value),
            )
        )
    label = describe_trend(group, points)
    return format_html(
        '<svg class="trend-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" preserveAspectRatio="xMidYMid meet">'
        "<title>{}</title>{}</svg>",
        label,
        width,
        height,
        label,
        SafeString("".join(parts)),
    )


class _ShortDates:
    """``date:"M j, Y"`` and ``date:"Y-m-d"`` of the current time zone, for many datetimes
    in one page: the month names are looked up once, not once per value."""

    def __init__(self) -> None:
        self.months = {month: str(name).title() for month, name in MONTHS_3.items()}

    def local(self, value: dt.datetime) -> dt.date:
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()

    def text(self, day: dt.date) -> str:
        return f"{self.months[day.month]} {day.day}, {day.year}"


def _lab_value(summary: dict[str, Any]) -> str:
    """`` — 4.2 ×10³/µL ↓`` of a lab result's summary (HTML), its flag in words for screen readers."""
    flag = summary.get("flag", "")
    flagged = flag in ("high", "low")
    arrow = (
        f' <span aria-hidden="true">{"↑" if flag == "high" else "↓"}</span><span class="visually-hidden">({flag})</span>'
        if flagged
        else ""
    )
    value, unit = _escape(summary.get("value", "")), _escape(unit_display(summary.get("unit", "")))
    return f' — <span class="{"flag-" + flag if flagged else ""}">{value} {unit}{arrow}</span>'


def _escape(value: Any) -> str:
    # What Django's ``escape`` does, without its lazy-string wrapper: 200 rows of ten values.
    return html.escape(str(value), quote=True)


STATUS_BADGES = {
    "amended": ' <span class="badge badge-amended">amended</span>',
    "withdrawn": ' <span class="badge badge-withdrawn">withdrawn</span>',
}
NEW_DOT = '<span class="new-dot" title="New since you last looked"></span><span class="visually-hidden">New:</span> '


@register.simple_tag
def timeline_rows(
    entries: Iterable[RegistryEntry],
    patient: NetworkPatient,
    organization: Organization | None,
    new_since: dt.datetime | None = None,
) -> SafeString:
    """The chart's timeline, one ``<li>`` per entry (up to 200 on a page), every value
    escaped. Written here rather than as a loop in the template: a template loop over 200
    entries took most of the chart page's time (issue #18). The entries' address is
    reversed once."""
    placeholder = str(uuid.UUID(int=0))
    address = reverse("patients:entry", args=[patient.uuid, placeholder])
    dates = _ShortDates()
    own = getattr(organization, "pk", None)
    rows = []
    for entry in entries:
        day = dates.local(entry.effective_at)
        is_new = new_since is not None and entry.published_at > new_since and entry.organization_id != own
        lab = _lab_value(entry.summary or {}) if entry.kind == "lab_result" else ""
        rows.append(
            f'<li class="{_escape(entry.status)}"><span class="when"><time datetime="{day.isoformat()}">'
            f"{dates.text(day)}</time></span>"
            f'<span class="what"><span class="kind">{_escape(kind_label(entry.kind))}</span> '
            f'{NEW_DOT if is_new else ""}<a href="{_escape(address.replace(placeholder, str(entry.uuid)))}">'
            f"{_escape(entry.title)}</a>{lab}{STATUS_BADGES.get(entry.status, '')}</span>"
            f'<span class="src"><span class="badge badge-source">{_escape(entry.organization.name)}</span></span></li>'
        )
    return SafeString("\n".join(rows))
