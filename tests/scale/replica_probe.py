"""Run by tests/scale/test_read_replica.py in a process of its own, whose DATABASE_URL is a
primary and DATABASE_REPLICA_URL its streaming standby: exercises the router through the
portal's own pages and prints what it saw as JSON (one line)."""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from typing import Any

import django


def main() -> None:
    django.setup()
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from portal.accounts.middleware import SESSION_SCHEMA_KEY
    from portal.db.replica import PIN_COOKIE, REPLICA
    from portal.demo.seed import cast_load
    from tests.conftest import host_of, second_factor_session

    seen: dict[str, Any] = {}
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        seen["replica_in_recovery"] = cursor.fetchone()[0]

    cast = cast_load()
    park, maple = cast.users["park"], cast.organizations["maple"]
    client = Client(HTTP_HOST=host_of(maple))
    with schema_context(maple.schema_name):
        client.force_login(park, backend="portal.accounts.backends.OrganizationMembershipBackend")
        session = client.session
        session[SESSION_SCHEMA_KEY] = maple.schema_name
        session.update(second_factor_session(park))
        session.save()

    def search(words: str, replica_up: bool = True) -> tuple[str, int, int]:
        """The search page's answer, the queries the replica ran for it, and the primary's
        queries that read patients."""
        with ExitStack() as stack:
            on_replica = stack.enter_context(CaptureQueriesContext(connections[REPLICA])) if replica_up else None
            on_primary = stack.enter_context(CaptureQueriesContext(connection))
            response = client.post("/patients/search/", {"q": words})
        assert response.status_code == 200, response.status_code
        searched = [q for q in on_primary.captured_queries if "patients_networkpatient" in q["sql"]]
        return response.content.decode(), len(on_replica.captured_queries) if on_replica else 0, len(searched)

    # A search (a POST that changes nothing) reads the replica and pins nothing.
    page, replica_queries, primary_queries = search("Maria Alvarez")
    seen["search_finds_maria"] = "Alvarez" in page
    seen["search_replica_queries"] = replica_queries
    seen["search_primary_patient_queries"] = primary_queries
    seen["search_pins"] = PIN_COOKIE in client.cookies

    # A write (registering a patient) pins Park's next reads to the primary: the search right
    # after finds her at once, from the primary.
    response = client.post(
        "/patients/register/",
        {
            "given_name": "Quilla",
            "family_name": "Replicata",
            "date_of_birth": "1970-03-04",
            "sex": "female",
            "mrn": "RPL-1",
        },
    )
    seen["register_status"] = response.status_code
    seen["register_pins"] = PIN_COOKIE in response.cookies
    page, replica_queries, primary_queries = search("Quilla Replicata")
    seen["pinned_search_finds_her"] = "Replicata" in page
    seen["pinned_search_replica_queries"] = replica_queries
    seen["pinned_search_primary_patient_queries"] = primary_queries

    # Once the pin has passed, the replica answers again, with what was streamed to it.
    client.cookies.pop(PIN_COOKIE, None)
    started = time.monotonic()
    while True:
        page, replica_queries, _ = search("Quilla Replicata")
        if "Replicata" in page or time.monotonic() - started > 10:
            break
        time.sleep(0.05)
    seen["replica_has_her_after_seconds"] = round(time.monotonic() - started, 3) if "Replicata" in page else None
    seen["unpinned_search_replica_queries"] = replica_queries

    # A write through the replica's connection is refused by PostgreSQL itself.
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("CREATE TABLE replica_write_probe (id int)")
        seen["replica_refuses_writes"] = False
    except Exception as error:  # noqa: BLE001  # any refusal will do; its text is reported
        seen["replica_refuses_writes"] = "read-only" in str(error)
    connections[REPLICA].close()

    print(json.dumps(seen))
    sys.stdout.flush()
    if "--then-replica-down" in sys.argv:
        # The test stops the standby, then presses Enter: search still answers (primary).
        sys.stdin.readline()
        page, replica_queries, primary_queries = search("Maria Alvarez", replica_up=False)
        print(json.dumps({"down_search_finds_maria": "Alvarez" in page, "down_primary_queries": primary_queries}))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    main()
