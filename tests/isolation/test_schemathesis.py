"""Schemathesis over the OpenAPI schema, as Dr. Park signed in at Maple, in-process against
the WSGI application (inside the test's rolled-back transaction): a bounded, derandomized
number of generated requests per operation; no answer may be a 5xx, and every answer must
be one the schema declares (its status code, content type and body)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings

EXAMPLES_PER_OPERATION = 5


@pytest.fixture
def connection_kept_between_requests() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request (which would end
    the test's transaction); Django's own test client disconnects that signal the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_api_answers_as_its_schema_says_for_generated_requests(
    cast: Any, sign_in: Callable[..., Any], connection_kept_between_requests: None
) -> None:
    import schemathesis
    from django.middleware.csrf import _get_new_csrf_string
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from portal.wsgi import application
    from tests.conftest import host_of

    maple = cast.organizations["maple"]
    park = sign_in(cast.users["park"], maple)
    csrf = _get_new_csrf_string()
    session = park.cookies[settings.SESSION_COOKIE_NAME].value

    def as_park_at_maple(environ: dict[str, Any], start_response: Any) -> Any:
        # Dr. Park's browser: Maple's address, her session and CSRF cookies, the CSRF header.
        # (Werkzeug's cookie jar would keep cookies to the domain "localhost" only.)
        environ["HTTP_HOST"] = host_of(maple)
        environ["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={csrf}"
        environ["HTTP_X_CSRFTOKEN"] = csrf
        return application(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", as_park_at_maple)
    base_url = f"http://{host_of(maple)}"
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures: list[str] = []
    operations = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(base_url=base_url)
            case.validate_response(response, checks=checks)

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # every operation is tried; all failures reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:600]}")
    print(f"schemathesis: {operations} operations in {time.monotonic() - started:.1f} s")
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
