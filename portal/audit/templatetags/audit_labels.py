from typing import Any

from django import template

from portal.audit.labels import event_label as _event_label

register = template.Library()


@register.filter
def event_label(event: Any) -> str:
    return _event_label(event)
