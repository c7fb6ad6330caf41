"""Response headers a security review expects, on every answer of the portal.

``NoStoreMiddleware``: nothing the portal answers is kept by a browser's or a proxy's
cache — a chart, an entry, an API answer, a file, the sign-in gate's redirects — except
its static files (WhiteNoise gives those their own long-lived ``Cache-Control``). A
clinician's shared workstation must not show the previous user's patient from the cache,
nor a proxy keep it. It sits with the other header middlewares at the top of ``MIDDLEWARE``
(``portal/settings/base.py``), outside the sign-in gate and the API's error shaping, so
their answers carry the headers too."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


def is_static(request: HttpRequest) -> bool:
    static_url = settings.STATIC_URL or "/static/"
    return request.path_info.startswith(static_url if static_url.startswith("/") else f"/{static_url}")


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_static(request):
            return response
        if "no-store" not in response.get("Cache-Control", ""):
            # Expires in the past and "max-age=0, no-cache, no-store, must-revalidate, private".
            del response["Cache-Control"]
            add_never_cache_headers(response)
        return response
