"""What every care page shares: who may open it, and small parsing helpers."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.cache import never_cache

from portal.accounts.typing import AuthenticatedRequest, TenantRequest
from tenants.models import Organization

View = Callable[..., HttpResponseBase]


def clinical_member(view: View) -> View:
    """Signed in at this address with a clinical role; everyone else gets the same 404."""

    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        membership = getattr(request, "membership", None)
        if membership is None or not membership.is_clinical:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return wrapper


def member(view: View) -> View:
    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "membership", None) is None:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return wrapper


def _org(request: AuthenticatedRequest) -> Organization:
    return request.tenant


def _age_days(moment: dt.datetime) -> int:
    return (timezone.now() - moment).days


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _uuid_or_404(value: object) -> uuid.UUID:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise Http404("No such patient") from error
