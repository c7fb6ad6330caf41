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


@register.simple_tag
def sparkline(group: Any, width: int = 120, height: int = 34) -> SafeString | str:
    """A small inline SVG of a test's numeric values (a ``ResultGroup``), oldest to newest,
    with the latest result's reference range as a band; nothing under two values."""
    points = group.values()
    if len(points) < 2:
        return ""
    summary = group.latest.summary or {}
    unit = summary.get("unit", "")
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
    first, last = values[0], values[-1]
    label = (
        f"{group.title}, {len(values)} results over the past year, {trend_words(first, last)}: "
        f"from {_number(first)} on {dateformat.format(timezone.localtime(start), DATE_FORMAT)} "
        f"to {_number(last)} {unit} on {dateformat.format(timezone.localtime(end), DATE_FORMAT)}; "
        f"lowest {_number(low)}, highest {_number(high)}"
    ).replace("  ", " ")
    if ref_low is not None or ref_high is not None:
        label += f"; reference range {lab_range(summary)} {unit}".rstrip()
    label += "."
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
