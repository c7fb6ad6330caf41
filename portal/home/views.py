"""The home pages: an organization's (tiles for the member's role) and the network's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from portal.accounts.typing import AuthenticatedRequest
from portal.home.selectors import home_summary_for


@never_cache
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """An organization's home page, for the signed-in member's role."""
    membership = request.membership
    if membership is None:  # not reached: the session middleware signs out whoever is not a member here
        raise Http404("Not found")
    summary = home_summary_for(user=request.user, membership=membership)
    return render(request, "home/home.html", {"summary": summary})


@never_cache
def network_home(request: HttpRequest) -> HttpResponse:
    """The network's own address: a landing page, or the network admin's console."""
    if not request.user.is_authenticated:
        return render(request, "home/network_landing.html")
    return redirect("console:organizations")
