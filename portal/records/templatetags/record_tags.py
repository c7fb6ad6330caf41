from typing import Any

from django import template

from portal.records.models import ItemKind

register = template.Library()
LABELS = {kind.value: kind.label for kind in ItemKind}


@register.filter
def kind_label(kind: str) -> str:
    return LABELS.get(kind, kind.replace("_", " ").capitalize())


@register.filter
def humanize_key(value: Any) -> str:
    return str(value or "").replace("_", " ")


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
