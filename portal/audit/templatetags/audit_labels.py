from __future__ import annotations

from typing import TYPE_CHECKING

from django import template

from portal.audit.labels import event_label as _event_label

if TYPE_CHECKING:
    from portal.audit.models import AuditEvent

register = template.Library()


@register.filter
def event_label(event: AuditEvent) -> str:
    return _event_label(event)
