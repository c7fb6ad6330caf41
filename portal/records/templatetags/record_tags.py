import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portal.records.models import ItemKind

register = template.Library()
LABELS = {kind.value: kind.label for kind in ItemKind}
DATE_FORMAT = "M j, Y"


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


def describe_trend(group: Any, points: list[tuple[dt.datetime, Decimal]]) -> str:
    """What a trend chart shows, in words (its accessible name)."""
    summary = group.latest.summary or {}
    unit = summary.get("unit", "")
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


@register.simple_tag
def sparkline(group: Any, width: int = 100, height: int = 32) -> SafeString | str:
    """A small inline SVG of a test's numeric values (a ``ResultGroup``), oldest to newest,
    with the latest result's reference range as a band; nothing under two values."""
    points = group.values()
    if len(points) < 2:
        return ""
    summary = group.latest.summary or {}
    ref_low, ref_high = _decimal(summary.get("reference_low")), _decimal(summary.get("reference_high"))
    values = [value for _, value in points]
    low, high = min(values), max(values)
    # The values set the scale (so that a trend shows); the reference band is cut to it.
    margin = (high - low) / 8 or max(abs(high) / 20, Decimal("0.5"))
    domain_low, domain_high = low - margin, high + margin
    pad = 4
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds()

    def x(index: int, when: dt.datetime) -> float:
        share = (when - start).total_seconds() / span if span else index / (len(points) - 1)
        return round(pad + share * (width - 2 * pad), 1)

    def y(value: Decimal) -> float:
        share = float((value - domain_low) / (domain_high - domain_low))
        return round(height - pad - share * (height - 2 * pad), 1)

    coords = [(x(i, when), y(value), value) for i, (when, value) in enumerate(points)]
    band = ""
    if ref_low is not None or ref_high is not None:
        band_top = min(ref_high, domain_high) if ref_high is not None else domain_high
        band_bottom = max(ref_low, domain_low) if ref_low is not None else domain_low
        if band_top > band_bottom:
            top, bottom = y(band_top), y(band_bottom)
            band = format_html(
                '<rect class="spark-band" x="0" y="{}" width="{}" height="{}"></rect>',
                top,
                width,
                round(bottom - top, 1),
            )

    def out_of_range(value: Decimal) -> bool:
        return (ref_low is not None and value < ref_low) or (ref_high is not None and value > ref_high)

    dots = format_html_join(
        "",
        '<circle class="{}" cx="{}" cy="{}" r="{}"></circle>',
        (
            (
                "spark-dot spark-flag" if out_of_range(value) else "spark-dot",
                cx,
                cy,
                "2.6" if index == len(coords) - 1 else "1.8",
            )
            for index, (cx, cy, value) in enumerate(coords)
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
        " ".join(f"{cx},{cy}" for cx, cy, _ in coords),
        dots,
    )


@register.simple_tag
def trend_chart(group: Any, current: Any = None, width: int = 560, height: int = 170) -> SafeString | str:
    """A labelled SVG chart of a test's results over the past year (a ``ResultGroup``), the
    reference range as a band, ``current`` (the entry on the page) ringed; nothing under two values."""
    numeric = group.numeric()
    if len(numeric) < 2:
        return ""
    points = [(entry.effective_at, value) for entry, value in numeric]
    summary = group.latest.summary or {}
    ref_low, ref_high = _decimal(summary.get("reference_low")), _decimal(summary.get("reference_high"))
    values = [value for _, value in points]
    low, high = min(values), max(values)
    margin = (high - low) / 6 or max(abs(high) / 10, Decimal("0.5"))
    domain_low, domain_high = low - margin, high + margin
    left, right, top, bottom = 48, 16, 18, 28
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds()

    def x(index: int, when: dt.datetime) -> float:
        share = (when - start).total_seconds() / span if span else index / (len(points) - 1)
        return round(left + share * (width - left - right), 1)

    def y(value: Decimal) -> float:
        share = float((value - domain_low) / (domain_high - domain_low))
        return round(height - bottom - share * (height - top - bottom), 1)

    parts: list[SafeString] = []
    if ref_low is not None or ref_high is not None:
        band_top = min(ref_high, domain_high) if ref_high is not None else domain_high
        band_bottom = max(ref_low, domain_low) if ref_low is not None else domain_low
        if band_top > band_bottom:
            parts.append(
                format_html(
                    '<rect class="spark-band" x="{}" y="{}" width="{}" height="{}"></rect>',
                    left,
                    y(band_top),
                    width - left - right,
                    round(y(band_bottom) - y(band_top), 1),
                )
            )
    for value in sorted({low, high}):
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
    coords = [(x(i, when), y(value)) for i, (when, value) in enumerate(points)]
    parts.append(
        format_html('<polyline class="spark-line" points="{}"></polyline>', " ".join(f"{cx},{cy}" for cx, cy in coords))
    )
    current_uuid = getattr(current, "uuid", None)
    for (cx, cy), (entry, value) in zip(coords, numeric, strict=True):
        when = entry.effective_at
        is_current = entry.uuid == current_uuid
        flagged = (ref_low is not None and value < ref_low) or (ref_high is not None and value > ref_high)
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
