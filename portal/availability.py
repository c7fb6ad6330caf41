"""Staying up when a part fails: health answers, and a clear 503 while the database is down.

``HealthMiddleware`` is the outermost middleware. It answers ``/healthz`` (liveness: 200
whenever the process runs, with the state of the database and of Redis) and ``/readyz``
(readiness for a load balancer: 503 while the database does not answer) at every address,
known or not, before tenant routing, sessions or anything else that could need the
database.

``DatabaseUnavailableMiddleware`` turns a request that failed because PostgreSQL could not
be reached (``OperationalError`` / ``InterfaceError``, raised anywhere below it: tenant
routing, the session, a view) into a 503: a short page in the portal's look, the API's JSON
error shape under ``/api/``, or the message shown in place for an HTMX request. Django turns
an exception into a 500 response in the middleware where it happened, so the exception is
noted on the request by a ``got_request_exception`` receiver and the 500 replaced here. The
failed connection is closed at the end of the request (``CONN_HEALTH_CHECKS``), so the
portal serves again as soon as the database is back, without a restart.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("portal.availability")

HEALTH_PATHS = ("/healthz", "/readyz")
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_DETAIL = (
    "Continuum is briefly unavailable; nothing you sent was lost. This request was not saved: try again in a minute."
)
# Where an HTMX request shows the message (an empty region of base.html).
UNAVAILABLE_TARGET = "#portal-unavailable"
_FLAG = "_continuum_database_unavailable"


def database_connection_error(error: BaseException | None) -> bool:
    """Is this the database being unreachable (rather than a bug or bad input)?"""
    import psycopg

    return isinstance(error, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError)


# --- health ------------------------------------------------------------------------

_redis_client: Any = None


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        try:
            connection.close()
        except Exception:
            pass
        return False


def _redis_answers() -> bool:
    global _redis_client
    import redis

    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(_redis_client.ping())
    except (redis.RedisError, OSError):
        return False


def health(*, readiness: bool) -> JsonResponse:
    database = _database_answers()
    redis_ok = _redis_answers()
    body = {
        "status": "ok" if database and redis_ok else ("degraded" if database else "unavailable"),
        "database": "ok" if database else "unavailable",
        "redis": "ok" if redis_ok else "unavailable",
    }
    # Liveness: the process answers, whatever its parts do (restarting it would not bring
    # them back). Readiness: without the database no page can be served; without Redis
    # pages are served and email waits (it is delivered once Redis is back).
    status = 503 if readiness and not database else 200
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in HEALTH_PATHS and request.method in ("GET", "HEAD"):
            return health(readiness=request.path_info == "/readyz")
        return self.get_response(request)


# --- the database is down ----------------------------------------------------------


def _note_database_error(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and database_connection_error(sys.exc_info()[1]):
        setattr(request, _FLAG, True)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": UNAVAILABLE_DETAIL, "errors": {}}, status=503)
    elif request.headers.get("HX-Request") == "true":
        response = HttpResponse(render_to_string("includes/unavailable.html"), status=503)
        response["HX-Retarget"] = UNAVAILABLE_TARGET
        response["HX-Reswap"] = "innerHTML"
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_note_database_error, dispatch_uid="continuum-database-unavailable")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _FLAG, False):
            logger.warning("database unavailable: 503 for %s %s", request.method, request.path_info)
            return unavailable_response(request)
        return response


class DropDatabaseUnavailableTracebacks(logging.Filter):
    """While the database is down every request would log a full traceback as a server
    error; ``DatabaseUnavailableMiddleware`` logs one line per request instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and record.exc_info:
            return not database_connection_error(record.exc_info[1])
        return True
