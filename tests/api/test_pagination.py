"""Bounded input on every list of the API: every list is found in the OpenAPI schema (so a
list added later is covered without editing this test); a page holds at most
PAGE_SIZE_MAX rows, and a paging number out of range, negative or not a number is a 400 in
the API's error shape — never a 500 from the database."""

from __future__ import annotations

from typing import Any

import pytest

from portal.api.pagination import NUMBER_MAX, PAGE_SIZE_MAX

# Lists that take no paging parameter, and why they are bounded all the same.
UNPAGED_LISTS = {
    "/api/v1/patients/{patient_uuid}/entries/": "the newest TIMELINE_LIMIT entries of one patient",
}
HUGE = "1841693581128317704077312"
BAD_VALUES = [HUGE, str(NUMBER_MAX + 1), "-1", "-0x10", "ten", "1e3", "4.5", "", " ", "0x10", "١٢"]


def _schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _is_list(schema: dict[str, Any], operation: dict[str, Any]) -> bool:
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    body = content.get("application/json", {}).get("schema")
    if not body:
        return False
    body = _resolve(schema, body)
    if body.get("type") == "array":
        return True
    results = body.get("properties", {}).get("results")
    return bool(results) and _resolve(schema, results).get("type") == "array"


def _lists() -> list[tuple[str, list[str]]]:
    schema = _schema()
    found = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get and _is_list(schema, get):
            paging = sorted(p["name"] for p in get.get("parameters", []) if p["name"] in {"limit", "offset", "page"})
            found.append((path, paging))
    return sorted(found)


LISTS = _lists()
PAGED = [(path, paging) for path, paging in LISTS if path not in UNPAGED_LISTS]


def test_the_schema_lists_are_found_and_each_pages_or_is_known_bounded():
    paths = {path for path, _ in LISTS}
    assert {"/api/v1/care-tasks/", "/api/v1/handoffs/", "/api/v1/referrals/", "/api/v1/threads/"} <= paths
    assert set(UNPAGED_LISTS) <= paths, "a list named in UNPAGED_LISTS is no longer in the schema"
    for path, paging in PAGED:
        assert "limit" in paging, f"{path} is a list without a limit parameter: page it (portal/api/pagination.py)"


def _ids(path: str, cast: Any) -> dict[str, str]:
    """The ids a list's path names: Maria, and Northfield's breast board and its next meeting."""
    ids = {"patient_uuid": str(cast.patients["maria"].uuid)}
    if "{board_uuid}" in path or "{meeting_uuid}" in path:
        from portal.boards.services import next_open_meeting
        from tests.boards.helpers import breast_board

        board = breast_board(cast)
        ids["board_uuid"] = str(board.uuid)
        ids["meeting_uuid"] = str(next_open_meeting(board=board).uuid)
    return ids


def _url(path: str, ids: dict[str, str]) -> str:
    filled = path
    for name, value in ids.items():
        filled = filled.replace("{" + name + "}", value)
    assert "{" not in filled, f"teach this test an id for {path}"
    return filled


def _reader(url: str, cast: Any, sign_in: Any) -> Any:
    """Someone for whom the list answers 200: of Maple Family Medicine (a clinician, else the
    site admin), else Northfield's navigator (a board's coordinator)."""
    for name, slug in (("park", "maple"), ("maple_admin", "maple"), ("navarro", "northfield")):
        client = sign_in(cast.users[name], cast.organizations[slug])
        if client.get(url).status_code == 200:
            return client
    raise AssertionError(f"nobody may read {url}")


def _changed_rows() -> tuple[int, ...]:
    from portal.care.models import CareTask, Handoff, Referral
    from portal.messaging.models import Message, Thread
    from portal.notifications.models import Notification

    return tuple(model.objects.count() for model in (CareTask, Handoff, Referral, Message, Thread, Notification))


@pytest.mark.parametrize("path, paging", PAGED, ids=[path for path, _ in PAGED])
def test_every_paged_list_refuses_bad_paging_numbers_with_a_400(path, paging, cast, sign_in):
    url = _url(path, _ids(path, cast))
    client = _reader(url, cast, sign_in)
    before = _changed_rows()
    for name in paging:
        for value in BAD_VALUES:
            response = client.get(url, {name: value})
            assert response.status_code == 400, (path, name, value, response.status_code)
            body = response.json()
            assert isinstance(body["detail"], str) and body["detail"], (path, name, value)
            assert list(body["errors"]) == [name] and body["errors"][name], (path, name, value, body)
            assert response["Content-Type"].startswith("application/json")
    zero = client.get(url, {"limit": "0"})
    assert zero.status_code == 400 and "limit" in zero.json()["errors"]
    assert _changed_rows() == before


@pytest.mark.parametrize("path, paging", PAGED, ids=[path for path, _ in PAGED])
def test_every_paged_list_gives_at_most_the_cap(path, paging, cast, sign_in):
    url = _url(path, _ids(path, cast))
    client = _reader(url, cast, sign_in)
    for limit in (str(PAGE_SIZE_MAX + 1), "5000", str(NUMBER_MAX)):
        response = client.get(url, {"limit": limit})
        assert response.status_code == 200, (path, limit)
        assert len(response.json()["results"]) <= PAGE_SIZE_MAX
    for name in paging:
        edge = client.get(url, {name: str(NUMBER_MAX)})
        assert edge.status_code == 200, (path, name)


def test_a_limit_above_the_cap_gives_exactly_the_cap_when_there_are_more_rows(cast, sign_in):
    from portal.notifications.models import Kind, Notification

    park = cast.users["park"]
    Notification.objects.bulk_create(
        Notification(recipient=park, kind=Kind.MESSAGE, title=f"Waiting {n}", link="/messages/")
        for n in range(PAGE_SIZE_MAX + 5)
    )
    client = sign_in(park, cast.organizations["maple"])
    body = client.get("/api/v1/notifications/", {"limit": "1000"}).json()
    assert body["count"] >= PAGE_SIZE_MAX + 5 and len(body["results"]) == PAGE_SIZE_MAX
    assert body["next"] and "limit=100" in body["next"]
    last = client.get("/api/v1/notifications/", {"limit": "10", "offset": str(body["count"] - 3)}).json()
    assert len(last["results"]) == 3
    past = client.get("/api/v1/notifications/", {"offset": str(NUMBER_MAX)}).json()
    assert past["results"] == []


def test_the_inbox_search_caps_its_page_and_refuses_numbers_out_of_range(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    for value in (HUGE, -1, 0, "ten"):
        for name in ("limit", "page"):
            response = park.post("/api/v1/threads/search/", {"q": "labs", name: value}, content_type="application/json")
            assert response.status_code == 400 and name in response.json()["errors"], (name, value)
    fine = park.post("/api/v1/threads/search/", {"q": "labs", "limit": 5000}, content_type="application/json")
    assert fine.status_code == 200


@pytest.mark.parametrize(
    "actor, path",
    [("park", "/messages/"), ("park", "/notifications/"), ("maple_admin", "/audit/")],
)
def test_list_pages_answer_junk_page_numbers_with_a_page_never_a_500(actor, path, cast, sign_in):
    client = sign_in(cast.users[actor], cast.organizations["maple"])
    for value in (HUGE, "-1", "0", "ten", "1e400", "inf", "nan", "", "%00"):
        response = client.get(path, {"page": value, "offset": value, "limit": value})
        assert response.status_code == 200, (path, value, response.status_code)
