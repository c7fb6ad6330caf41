"""The portal's own error pages: 403 with the reason, 404, 500, and a failed CSRF check.

Pages render in the portal's look. The 403 page shows the reason a refusal gave
(``PermissionDenied("Secure messaging is for clinical staff.")``); the HTMX error module
(``static/js/htmx-errors.js``) reads it from the element marked ``data-reason`` and shows
it next to the form that was refused. The 500 page is rendered without a request context:
no context processor (and so no database query) runs while something is already wrong.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

DEFAULT_REFUSAL = "You may not do this here."


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    reason = str(exception or "").strip() or DEFAULT_REFUSAL
    return render(request, "403.html", {"reason": reason}, status=403)


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    # Forbidden and missing are the same answer: no reason that could tell them apart.
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(
        request,
        "403.html",
        {
            "reason": "This form has expired (its security token no longer matches your session). "
            "Reload the page and try again: nothing was sent."
        },
        status=403,
    )
