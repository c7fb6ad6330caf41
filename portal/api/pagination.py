"""The API's one pagination rule: bounded input on every list.

Every list of the API is paged by ``limit`` and ``offset`` (``BoundedLimitOffsetPagination``,
the default pagination class) or, for the inbox, by ``page`` and ``limit``; the numbers are
read here and nowhere else. A page holds at most ``PAGE_SIZE_MAX`` rows: a larger ``limit``
gives that many. A value that is not a whole number, is negative (or zero for ``limit`` and
``page``), or is beyond ``NUMBER_MAX`` is refused with a 400 in the API's error shape,
``{"detail": ..., "errors": {"limit": [...]}}`` — never a 500 from the database."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from django.db.models import QuerySet
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 100
# The largest number a list accepts for any of its paging parameters (PostgreSQL's integer).
NUMBER_MAX = 2_147_483_647
WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def number_schema(*, minimum: int) -> dict[str, Any]:
    """The OpenAPI schema of a paging number."""
    return {"type": "integer", "minimum": minimum, "maximum": NUMBER_MAX}


def paging_number(query_params: Any, name: str, *, default: int, minimum: int) -> int:
    """The value of ``name`` in the query string (``default`` when absent), or a 400."""
    if name not in query_params:
        return default
    raw = str(query_params.get(name, "")).strip()
    if not WHOLE_NUMBER.fullmatch(raw) or not minimum <= int(raw) <= NUMBER_MAX:
        raise ValidationError({name: [f"Give a whole number from {minimum} to {NUMBER_MAX:,}."]})
    return int(raw)


def page_size(query_params: Any, *, default: int = PAGE_SIZE_DEFAULT) -> int:
    """``limit``: rows per page, at most ``PAGE_SIZE_MAX`` (a larger valid number gives the most)."""
    return min(paging_number(query_params, "limit", default=default, minimum=1), PAGE_SIZE_MAX)


def page_number(query_params: Any) -> int:
    """``page``: from 1; a page past the last gives the last page."""
    return paging_number(query_params, "page", default=1, minimum=1)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pages with checked numbers and a page-size cap."""

    default_limit = PAGE_SIZE_DEFAULT
    max_limit = PAGE_SIZE_MAX
    limit_query_description = f"Rows per page, from 1 ({PAGE_SIZE_DEFAULT} by default, at most {PAGE_SIZE_MAX})."
    offset_query_description = "How many rows to skip, from 0."

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """The schema says the bounds, so a client (or a generated test) knows the 400s."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = number_schema(minimum=1 if parameter["name"] == self.limit_query_param else 0)
        return parameters

    def get_limit(self, request: Request) -> int:
        return page_size(request.query_params, default=self.default_limit)

    def get_offset(self, request: Request) -> int:
        return paging_number(request.query_params, self.offset_query_param, default=0, minimum=0)

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        # Check both numbers before counting anything, so a bad offset costs no query.
        self.get_offset(request)
        return super().paginate_queryset(queryset, request, view)


def limit_offset_parameters() -> list[Any]:
    """The ``limit`` and ``offset`` query parameters, for the schema of a list that is not a
    generic view (``extend_schema(parameters=limit_offset_parameters())``)."""
    from drf_spectacular.utils import OpenApiParameter

    return [
        OpenApiParameter(
            "limit", number_schema(minimum=1), description=BoundedLimitOffsetPagination.limit_query_description
        ),
        OpenApiParameter(
            "offset", number_schema(minimum=0), description=BoundedLimitOffsetPagination.offset_query_description
        ),
    ]


def paged(
    request: Request,
    rows: QuerySet[Any] | Sequence[Any],
    view: APIView,
    *,
    serialize: Callable[[list[Any]], Any],
    **extra: Any,
) -> Response:
    """One page of ``rows`` as ``{"count", "next", "previous", "results", **extra}``, for a list
    view that is not a generic view; ``serialize(page_rows)`` gives the results' data."""
    paginator = BoundedLimitOffsetPagination()
    page = paginator.paginate_queryset(rows, request, view=view) or []
    response = paginator.get_paginated_response(serialize(page))
    response.data = {**extra, **response.data}
    return response
