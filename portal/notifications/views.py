"""Pages of notifications: the list, mark-read, preferences, the bell, failed deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.notifications import selectors, services
from portal.notifications.models import Channel, Kind
from tenants.addresses import absolute_url, organization_host

if TYPE_CHECKING:
    from portal.accounts.models import Membership
    from portal.accounts.typing import AuthenticatedRequest
    from portal.notifications.models import Notification


def _member(request: AuthenticatedRequest) -> Membership:
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404("Not here")
    return membership


@never_cache
@login_required
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    _member(request)
    page = Paginator(selectors.notification_groups(user=request.user), 30).get_page(request.GET.get("page"))
    items = _with_href(request, selectors.notification_lines(user=request.user, groups=page.object_list))
    context = {"page": page, "items": items, "unread": selectors.unread_count(user=request.user)}
    if request.htmx:
        return render(request, "notifications/partials/list.html", context)
    return render(request, "notifications/list.html", context)


def _with_href(request: AuthenticatedRequest, items: list[Notification]) -> list[Notification]:
    for item in items:  # a notification of another of the person's organizations opens at its address
        item.href = item.link or "/"
        if item.organization is not None and item.organization_id != request.tenant.pk:
            item.href = absolute_url(organization_host(item.organization.slug), item.href)
    return items


BELL_LINES = 6


@never_cache
@login_required
def bell(request: AuthenticatedRequest) -> HttpResponse:
    _member(request)
    return render(request, "notifications/partials/bell.html")


@never_cache
@login_required
def bell_panel(request: AuthenticatedRequest) -> HttpResponse:
    """What the bell opens on: the unread lines, urgent first (one per thread or referral)."""
    _member(request)
    groups = selectors.notification_groups(user=request.user, unread_only=True)[:BELL_LINES]
    lines = _with_href(request, selectors.notification_lines(user=request.user, groups=groups))
    return render(request, "notifications/partials/bell_panel.html", {"lines": lines})


@require_POST
@login_required
def mark_read(request: AuthenticatedRequest) -> HttpResponse:
    _member(request)
    raw = request.POST.get("notification")
    if raw is not None:
        try:
            notification_id = int(raw)
        except ValueError:
            notification_id = 0
        # One line of the list stands for every unread notification about its subject.
        services.notification_mark_read_group(user=request.user, notification_id=notification_id)
    elif request.POST.get("all") == "1":
        services.notification_mark_read(user=request.user, everything=True)
    else:
        return HttpResponse("Say which notification to mark read, or all of them.", status=400)
    if request.htmx:
        return notification_list(request)
    return redirect("notifications:list")


@never_cache
@login_required
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    _member(request)
    errors: list[str] = []
    if request.method == "POST":
        choices = {kind: request.POST.get(kind, "") for kind in Kind.values if kind in request.POST}
        try:
            services.preferences_set(user=request.user, choices=choices)
        except ValidationError as error:
            errors = [m for ms in error.message_dict.values() for m in ms]
        else:
            flash.success(request, "Your notification preferences are saved.")
            return redirect("notifications:preferences")
    chosen = selectors.preferences_for(user=request.user)
    rows = [{"kind": kind, "label": label, "channel": chosen[kind]} for kind, label in Kind.choices]
    return render(
        request,
        "notifications/preferences.html",
        {"rows": rows, "channels": Channel.choices, "errors": errors},
        status=400 if errors else 200,
    )


def _admin(request: AuthenticatedRequest) -> Membership:
    membership = _member(request)
    if not membership.is_admin:
        raise PermissionDenied("Only the organization's admins see failed deliveries.")
    return membership


@never_cache
@login_required
def deliveries(request: AuthenticatedRequest) -> HttpResponse:
    _admin(request)
    failed = list(selectors.deliveries_failed_for_organization(organization=request.tenant)[:200])
    pending = selectors.deliveries_pending_count(organization=request.tenant)
    return render(request, "notifications/deliveries.html", {"failed": failed, "pending": pending})


@require_POST
@login_required
def delivery_retry(request: AuthenticatedRequest, delivery_id: int) -> HttpResponse:
    _admin(request)
    delivery = selectors.delivery_get_for_admin(organization=request.tenant, delivery_id=delivery_id)
    services.delivery_retry(delivery=delivery, actor=request.user)
    flash.success(request, "The email will be tried again.")
    return redirect("notifications:deliveries")
