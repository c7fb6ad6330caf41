"""Reads that may be slightly stale from a streaming read replica, when one is configured.

With ``DATABASE_REPLICA_URL`` set, the ``replica`` database is a PostgreSQL hot standby of
the primary (streaming replication). Nothing goes there by default: every write and every
read stays on the primary, so a clinician always reads what was just written. Only the
reads named stale-tolerant run inside ``stale_reads()`` — patient search, the scorecard and
bulk export — and even those stay on the primary for a person who has just written
something (``REPLICA_PIN_SECONDS`` after a request that changed data: read your writes).

django-tenants selects the organization's schema per connection; ``stale_reads()`` gives
the replica's connection the primary's current schema, so the same query reads the same
tables on both.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
PIN_COOKIE = "continuum_primary"

_stale_ok: ContextVar[bool] = ContextVar("continuum_stale_reads", default=False)
_pinned: ContextVar[bool] = ContextVar("continuum_primary_pinned", default=False)

View = TypeVar("View", bound=Callable[..., HttpResponse])


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def stale_reads() -> Iterator[str]:
    """Run the reads inside on the replica (when there is one and this person has not just
    written); yields the alias the reads use."""
    if not replica_configured() or _pinned.get():
        yield DEFAULT_DB_ALIAS
        return
    primary, replica = connections[DEFAULT_DB_ALIAS], connections[REPLICA]
    try:
        replica.ensure_connection()
    except DatabaseError:  # the replica is down: the primary answers, a little slower
        logger.warning("read replica unreachable; reading from the primary")
        yield DEFAULT_DB_ALIAS
        return
    tenant = getattr(primary, "tenant", None)
    if tenant is not None:  # django-tenants' wrapper (portal.db), which django-stubs does not know
        cast(Any, replica).set_tenant(tenant)
    token = _stale_ok.set(True)
    try:
        yield REPLICA
    finally:
        _stale_ok.reset(token)


# The views marked ``reads_only``, and the requests being answered by one (gone with them).
_READS_ONLY_VIEWS: set[Callable[..., Any]] = set()
_READS_ONLY_REQUESTS: weakref.WeakSet[HttpRequest] = weakref.WeakSet()


def reads_only(view: View) -> View:
    """Mark a view that answers an unsafe method (a ``POST`` search) without changing data,
    so answering it does not keep the person's next reads on the primary."""
    _READS_ONLY_VIEWS.add(view)
    return view


def _is_reads_only(view: Callable[..., Any] | None) -> bool:
    """The view, or one it wraps (decorators applied after ``reads_only``), is marked."""
    while view is not None:
        if view in _READS_ONLY_VIEWS:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


class ReplicaRouter:
    """Reads inside ``stale_reads()`` go to the replica; everything else, explicitly, to the
    primary (also for instances that were read from the replica); only the primary is
    migrated (the replica is a copy of it)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return REPLICA if _stale_ok.get() else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


class ReadYourWritesMiddleware:
    """After a request that changed data (an unsafe method, answered without an error, by a
    view not marked ``reads_only``), the person's reads stay on the primary for
    ``REPLICA_PIN_SECONDS``: a signed cookie carries the moment, so pinning costs no
    database write. Does nothing without a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        until = request.get_signed_cookie(PIN_COOKIE, default=None, salt=PIN_COOKIE)
        token = _pinned.set(until is not None and float(until) > time.time())
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and response.status_code < 400:
            if request not in _READS_ONLY_REQUESTS:
                seconds = settings.REPLICA_PIN_SECONDS
                response.set_signed_cookie(
                    PIN_COOKIE,
                    str(time.time() + seconds),
                    salt=PIN_COOKIE,
                    max_age=seconds,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure(),
                )
        return response

    def process_view(self, request: HttpRequest, view: Callable[..., Any], *args: Any) -> None:
        if _is_reads_only(view):
            _READS_ONLY_REQUESTS.add(request)


def pinned_to_primary() -> bool:
    return _pinned.get()


__all__ = [
    "REPLICA",
    "ReadYourWritesMiddleware",
    "ReplicaRouter",
    "pinned_to_primary",
    "reads_only",
    "replica_configured",
    "stale_reads",
]
