"""Hostile JSON gets a 4xx in the API's error shape, never a 500, and changes nothing: nesting
100,000 deep, NaN and Infinity, numbers too large, bytes that are not UTF-8, a list where an
object is expected, a body over the size limit."""

from __future__ import annotations

import pytest

from portal.api.parsers import MAX_DEPTH, depth_exceeds, json_parse
from tests.hostile.helpers import assert_api_error, everything

DEEP_LISTS = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECTS = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
BODIES = {
    "lists nested 100,000 deep": DEEP_LISTS,
    "objects nested 100,000 deep": DEEP_OBJECTS,
    "lists nested just past the limit": b'{"body": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}",
    "NaN": b'{"q": NaN, "body": NaN, "page": NaN}',
    "Infinity": b'{"q": "x", "page": Infinity, "limit": -Infinity, "body": "x"}',
    "a float too large": b'{"q": "x", "page": 1e999, "user_id": 1e999, "body": "x"}',
    "an integer of 5,000 digits": b'{"q": "x", "page": 1' + b"0" * 5000 + b', "body": "x"}',
    "an integer past 64 bits": b'{"q": "x", "page": 99999999999999999999, "occurrence": 99999999999999999999}',
    "bytes that are not UTF-8": b'{"q": "\xff\xfe\xc3\x28", "body": "\xc3\x28", "subject": "\xed\xa0\x80"}',
    "a list where an object is expected": b'[{"q": "alvarez", "body": "Hello", "subject": "Hi"}]',
    "a string where an object is expected": b'"alvarez"',
    "a number where an object is expected": b"42",
    "null": b"null",
    "not JSON": b"{'q': 'alvarez'}",
    "an unterminated string": b'{"q": "alvarez',
}


def _targets(cast, client):
    from portal.messaging.services import Recipient, thread_start

    thread = thread_start(
        sender=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        subject="Labs",
        patient=cast.patients["maria"],
        recipients=[Recipient(organization=cast.organizations["maple"], user=cast.users["park"])],
        body="Please draw a CBC.",
    )
    maria = cast.patients["maria"].uuid
    return [
        ("post", "/api/v1/threads/"),
        ("post", "/api/v1/threads/search/"),
        ("post", f"/api/v1/threads/{thread.uuid}/messages/"),
        ("post", f"/api/v1/threads/{thread.uuid}/participants/"),
        ("post", f"/api/v1/threads/{thread.uuid}/archive/"),
        ("post", "/api/v1/patients/search/"),
        ("post", f"/api/v1/patients/{maria}/items/"),
        ("post", "/api/v1/notifications/read/"),
        ("put", "/api/v1/notifications/preferences/"),
        ("post", "/api/v1/referrals/"),
        ("post", "/api/v1/care-tasks/"),
        ("post", "/api/v1/handoffs/"),
    ]


@pytest.mark.parametrize("name", list(BODIES))
def test_hostile_json_is_a_400_in_the_api_error_shape_and_changes_nothing(cast, sign_in, name):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    targets = _targets(cast, okafor)
    before = everything()
    for method, path in targets:
        response = getattr(okafor, method)(path, BODIES[name], content_type="application/json")
        assert_api_error(response, 400)
    assert everything() == before


def test_a_json_body_over_the_size_limit_is_a_413_and_changes_nothing(cast, sign_in, settings):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    targets = _targets(cast, okafor)
    before = everything()
    big = b'{"q": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    for method, path in targets:
        body = assert_api_error(getattr(okafor, method)(path, big, content_type="application/json"), 413)
        assert "larger than" in body["detail"]
    assert everything() == before


def test_a_json_body_under_the_depth_limit_still_parses():
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert json_parse(nested) == json_parse(nested) and not depth_exceeds(json_parse(nested))
    assert json_parse('{"name": "Zoë 李 😀", "n": 9223372036854775807, "x": 1.5e308}'.encode()) == {
        "name": "Zoë 李 😀",
        "n": 9223372036854775807,
        "x": 1.5e308,
    }


def test_numbers_at_the_edge_of_64_bits_never_reach_a_500(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    targets = _targets(cast, okafor)
    before = everything()
    edge = 2**63 - 1
    body = (
        f'{{"q": "alvarez", "page": {edge}, "limit": {edge}, "user_id": {edge}, "organization": "maple", '
        f'"occurrence": {edge}, "entry": "{cast.patients["maria"].uuid}", "archived": {edge}, "ids": [{edge}, -{edge}], '
        f'"values": {{"effective_date": {edge}, "value": 1e308}}, "kind": "lab_result"}}'
    )
    for method, path in targets:
        response = getattr(okafor, method)(path, body, content_type="application/json")
        assert response.status_code < 500, (path, response.content[:300])
    assert everything() == before
