from __future__ import annotations

from typing import Any

from django import template

from portal.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notification_count(context: Any) -> int:
    request = context.get("request")
    if request is None or getattr(request, "membership", None) is None:
        return 0
    return unread_count(user=request.user)
