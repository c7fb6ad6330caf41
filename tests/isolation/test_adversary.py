"""The adversary: every route of the portal and of the API, with the id of every object
about Maria Alvarez, requested by everyone who must not reach her — Dr. Carla Chen and a
site admin of Cedar Valley (no relationship with her), anonymous visitors, and sessions
replayed at another organization's address — for reads and for writes.

Nothing may come back that betrays her (a clinical marker of her Northfield and Maple
record, her identity where the actor did not type it), no row may change, and nothing may
answer 5xx. A route added later is covered without editing this file (see routes.py); a
route whose parameters it cannot classify fails ``test_every_route_is_classified``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction

from tests.isolation.routes import (
    CONSTANT_KINDS,
    Route,
    form_body,
    json_body,
    openapi_schema,
    route_urls,
    routes_of,
)
from tests.isolation.world import World, rows_changed, rows_checksum, world_build

# The alert to a person's own site admins after repeated refusals, and its rows.
ALERT_KIND = "denied_reads"
ALERT_TABLES = {"public.notifications_notification", "public.notifications_delivery"}

READS = ("GET", "HEAD")
WRITES = ("POST", "PUT", "PATCH", "DELETE")

# Routes whose write by a hostile actor may legitimately change rows of the actor's own
# organization or account (never Maria's, never another organization's): the tables
# each may touch. Everything else must change nothing at all.
OWN_WRITES: dict[str, set[str]] = {
    # Cedar Valley registers a person of its own (the filler name matches nobody); what
    # registering Maria herself gives is the scenario test below.
    "patients/register/": {
        "public.patients_networkpatient",
        "public.patients_patientidentifier",
        "public.patients_carerelationship",
        "public.patients_networkpatientgroupobjectpermission",
    },
    # Break-the-glass on the person Cedar Valley just registered: a grant, its admins told.
    "patients/emergency/": {
        "public.patients_emergencyaccess",
        "public.notifications_notification",
        "public.notifications_delivery",
    },
    # Cedar Valley's site admin invites someone to Cedar Valley.
    "admin/users/invite/": {"public.accounts_invitation"},
    # Opening the enrollment page prepares an unconfirmed authenticator for oneself.
    "accounts/second-factor/setup/": {"public.otp_totp_totpdevice"},
}


@pytest.fixture
def world(cast: Any) -> Iterator[World]:
    from django.contrib.auth.tokens import default_token_generator
    from django.contrib.contenttypes.models import ContentType
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.patients.models import NetworkPatient
    from tenants.services import organization_export

    built = world_build(cast)
    ids = built.ids
    users, orgs = cast.users, cast.organizations
    ids["recipient"] += [f"u:{orgs['northfield'].pk}:{users['okafor'].pk}", f"p:{orgs['northfield'].pk}"]
    ids["content_type"].append(ContentType.objects.get_for_model(NetworkPatient).pk)
    ids["otp_device"] += list(TOTPDevice.objects.filter(user=users["okafor"]).values_list("pk", flat=True))
    ids["admin_object"] += [orgs["northfield"].pk, users["okafor"].pk]
    # A reset link for Dr. Okafor's account with a token that is not hers (the attacker's own).
    ids["reset_uid"].append(urlsafe_base64_encode(force_bytes(users["okafor"].pk)))
    ids["reset_token"].append(default_token_generator.make_token(users["chen"]))
    export = organization_export(organization=orgs["northfield"], actor=users["network_admin"])
    ids["export"].append(str(export.uuid))
    for kind, values in CONSTANT_KINDS.items():
        ids[kind] = list(values)
    # FHIR ids of Maria's resources: her Patient, her entries' resources and what derives from
    # them, her referral's Task, her care team.
    ids["fhir_id"] = [
        *ids["patient"],
        *ids["entry"],
        *[f"{entry}-{suffix}" for entry in ids["entry"] for suffix in ("stage", "provenance")],
        *[f"{referral}-task" for referral in ids["referral"]],
        *ids["task"],
        *ids["handoff"],
        *[f"{patient}-careteam" for patient in ids["patient"]],
    ]
    # A bulk export of Maria's record by Dr. Park at Maple (run here, in the test's
    # transaction), and the Groups of Maria's organizations.
    from portal.fhir.bulk.services import Principal, export_run, export_start
    from portal.fhir.bulk.stream import folder_remove

    fhir_export = export_start(
        organization=orgs["maple"],
        principal=Principal(user=users["park"]),
        level="patient",
        types=None,
        since=None,
        request_url="https://maple.localhost/fhir/R4/Patient/$export",
    )
    export_run(job_uuid=str(fhir_export.uuid))
    ids["fhir_export"] = [str(fhir_export.uuid)]
    ids["fhir_group"] = [str(orgs[slug].uuid) for slug in ("maple", "northfield")]
    try:
        yield built
    finally:
        folder_remove(fhir_export)
        for path in [*built.files, export.path]:
            if os.path.exists(path):
                os.remove(path)


@dataclass
class Actor:
    name: str
    client: Any
    methods: tuple[str, ...]
    markers: list[str]
    resign: Callable[[], Any] | None = None  # a fresh session after a sign-out route
    every_id: tuple[str, ...] = ("GET", "HEAD", "POST")  # the methods tried with every id (others: the first)


@dataclass
class Findings:
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    requests: int = 0
    checksum_seconds: float = 0.0

    def report(self) -> str:
        parts = []
        for title, items in (("marker in an answer", self.leaks), ("5xx", self.errors), ("rows changed", self.writes)):
            if items:
                parts.append(f"{len(items)} × {title}:\n  " + "\n  ".join(items[:40]))
        return "\n".join(parts)


def _content(response: Any) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return (headers + "\n" + body.decode("utf-8", "replace")).lower()


def _send(client: Any, method: str, url: str, route: Route, body: Any) -> Any:
    with transaction.atomic():  # a failing request cannot poison the test's transaction
        if method == "GET":
            return client.get(url)
        if method == "HEAD":
            return client.head(url)
        if route.is_api:
            return client.generic(method, url, data=_json(body), content_type="application/json")
        if method == "POST":
            return client.post(url, body)
        from urllib.parse import urlencode

        return client.generic(
            method, url, data=urlencode(body, doseq=True), content_type="application/x-www-form-urlencoded"
        )


def _json(body: Any) -> str:
    import json

    return json.dumps(body)


def crawl(
    routes: list[Route],
    actors: list[Actor],
    ids: dict[str, list[Any]],
    schemas: list[str],
    findings: Findings,
    check_rows: bool = True,
) -> None:
    from portal.notifications.models import Notification

    api = openapi_schema()
    before = rows_checksum(schemas) if check_rows else {}
    seen_notification = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for route in routes:
        urls = route_urls(route, ids)
        operations = api["paths"].get(route.openapi_path, {}) if route.is_api else {}
        bodies = {m: json_body(api, operations.get(m.lower()), ids) for m in WRITES} if route.is_api else {}
        html_body = form_body(route, ids) if not route.is_api else {}
        for actor in actors:
            for method in actor.methods:
                for url in urls if method in actor.every_id else urls[:1]:
                    response = _send(actor.client, method, url, route, bodies.get(method, html_body))
                    findings.requests += 1
                    where = f"{actor.name}: {method} {url}"
                    if response.status_code >= 500:
                        findings.errors.append(f"{where} → {response.status_code}")
                    text = _content(response)
                    found = [m for m in actor.markers if m in text]
                    if found:
                        findings.leaks.append(f"{where} → {response.status_code} shows {found[:5]}")
        if not check_rows:
            continue
        checking = time.monotonic()
        after = rows_checksum(schemas)
        findings.checksum_seconds += time.monotonic() - checking
        changed = [c for c in rows_changed(before, after) if c.split(":")[0] not in OWN_WRITES.get(route.template, ())]
        # Refused again and again, a person's own site admins are told once (issue #12, item
        # 4): that alert, and only it, may appear on any route.
        new_notifications = Notification.objects.filter(pk__gt=seen_notification)
        if new_notifications.exists() and not new_notifications.exclude(kind=ALERT_KIND).exists():
            changed = [c for c in changed if c.split(":")[0] not in ALERT_TABLES]
        seen_notification = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        if changed:
            findings.writes.append(f"/{route.template}: {changed}")
        before = after
        if route.template.startswith("accounts/"):
            # A sign-out route ended the session: sign in again (which itself writes the
            # person's last sign-in, so the next route compares from here).
            for actor in actors:
                if actor.resign is not None:
                    actor.client = actor.resign()
            before = rows_checksum(schemas)


def _replayed(sign_in: Callable[..., Any], user: Any, opened_at: Any, presented_at: Any) -> Any:
    from tests.conftest import host_of

    client = sign_in(user, opened_at)
    client.defaults["HTTP_HOST"] = host_of(presented_at)
    client.raise_request_exception = False
    return client


def _bearer(cast: Any, issued_at: Any, presented_at: Any, admin: str, clinician: str) -> Any:
    """A test client sending the bearer token of a client registered at ``issued_at`` (every
    scope, importing for ``clinician``), at ``presented_at``'s address; the token is kept valid
    for the whole crawl."""
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from portal.fhir.models import AccessToken
    from tests.conftest import host_of
    from tests.fhir.clients import access_token, register

    client = register(
        issued_at,
        cast.users[admin],
        "system/*.cruds",
        name=f"{issued_at.name} adversary",
        import_as=cast.users[clinician],
    )
    token = access_token(Client(HTTP_HOST=host_of(issued_at)), issued_at, client, "system/*.cruds")
    AccessToken.objects.filter(client=client).update(expires_at=timezone.now() + dt.timedelta(hours=2))
    http = Client(HTTP_HOST=host_of(presented_at), HTTP_AUTHORIZATION=f"Bearer {token}")
    http.raise_request_exception = False
    return http


def _signed_in(sign_in: Callable[..., Any], user: Any, organization: Any) -> Callable[[], Any]:
    def fresh() -> Any:
        client = sign_in(user, organization)
        client.raise_request_exception = False
        return client

    return fresh


def _anonymous(anonymous: Callable[[Any], Any], organization: Any) -> Any:
    client = anonymous(organization)
    client.raise_request_exception = False
    return client


def _all_schemas(cast: Any) -> list[str]:
    """The network's tables and the repositories of Maria's organizations and of Cedar Valley."""
    return ["public", *[cast.organizations[slug].schema_name for slug in ("northfield", "maple", "cedarvalley")]]


def test_every_route_is_classified() -> None:
    """Each parameter of each route names a known kind of object, and each operation of the
    OpenAPI schema is a route of the organization URL configuration."""
    tenant_routes, unclassified = routes_of(settings.ROOT_URLCONF)
    public_routes, unclassified_public = routes_of(settings.PUBLIC_SCHEMA_URLCONF)
    assert not unclassified + unclassified_public, "\n".join(unclassified + unclassified_public)
    assert len(tenant_routes) > 80 and len(public_routes) > 20
    api_paths = {route.openapi_path for route in tenant_routes if route.is_api}
    operations = openapi_schema()["paths"]
    missing = sorted(path for path in operations if path not in api_paths)
    assert not missing, f"OpenAPI operations that are not routes: {missing}"
    assert len(operations) >= 25


def _alerts_already_sent(cast: Any, users: list[Any], organization: Any) -> None:
    from portal.audit.middleware import ALERT_OBJECT_TYPE
    from portal.audit.models import AuditAction, AuditOutcome
    from portal.audit.services import audit_record

    for user in users:
        audit_record(
            action=AuditAction.ADMIN,
            actor=user,
            organization=organization,
            outcome=AuditOutcome.DENIED,
            object_type=ALERT_OBJECT_TYPE,
            data_owner=organization,
            detail={"window_minutes": 0},
        )


def test_no_hostile_actor_reads_or_changes_anything_of_maria_on_any_route(
    cast: Any, world: World, sign_in: Callable[..., Any], anonymous: Callable[[Any], Any]
) -> None:
    orgs, users = cast.organizations, cast.users
    cedar, northfield, maple = orgs["cedarvalley"], orgs["northfield"], orgs["maple"]
    every_marker = [m.lower() for m in world.markers + world.identity_markers]
    chen = _signed_in(sign_in, users["chen"], cedar)
    holt = _signed_in(sign_in, users["cedarvalley_admin"], cedar)
    light: tuple[str, ...] = ("GET", "POST")
    tenant_actors = [
        Actor("Dr. Chen (Cedar Valley)", chen(), READS + WRITES, every_marker, chen, ("GET", "POST")),
        Actor("Cedar Valley's site admin", holt(), READS + WRITES, every_marker, holt, ("GET", "POST")),
        Actor("anonymous at Cedar Valley", _anonymous(anonymous, cedar), light, every_marker, every_id=()),
        Actor("anonymous at Northfield", _anonymous(anonymous, northfield), light, every_marker, every_id=()),
        Actor(
            "Dr. Park's session at Cedar Valley",
            _replayed(sign_in, users["park"], maple, cedar),
            light,
            every_marker,
            every_id=(),
        ),
        Actor(
            "Dr. Chen's session at Northfield",
            _replayed(sign_in, users["chen"], cedar, northfield),
            light,
            every_marker,
            every_id=(),
        ),
        Actor(
            "Dr. Chen's session at Maple",
            _replayed(sign_in, users["chen"], cedar, maple),
            light,
            every_marker,
            every_id=(),
        ),
    ]
    # Backend API clients: Cedar Valley's own (every scope: what Cedar Valley may see bounds
    # it), and Northfield's token presented at Cedar Valley's address.
    tenant_actors += [
        Actor(
            "Cedar Valley's API client (system/*.cruds)",
            _bearer(cast, cedar, cedar, "cedarvalley_admin", "chen"),
            READS + WRITES,
            every_marker,
            every_id=("GET", "POST"),
        ),
        Actor(
            "Northfield's API client's token at Cedar Valley",
            _bearer(cast, northfield, cedar, "northfield_admin", "okafor"),
            light,
            every_marker,
            every_id=(),
        ),
    ]
    public_actors = [
        Actor("anonymous at the network", _anonymous(anonymous, cast.network), light, every_marker, every_id=()),
        Actor(
            "Dr. Chen's session at the network",
            _replayed(sign_in, users["chen"], cedar, cast.network),
            light,
            every_marker,
            every_id=(),
        ),
    ]
    # Refused reads by one person alert their organization's site admins once per window (a
    # write to Cedar Valley's own notifications, tested in test_no_back_door). Which route
    # happens to cross the threshold depends on the routes and their order, so the alert is
    # taken as already sent for this crawl: every route must then change nothing at all.
    _alerts_already_sent(cast, [users["chen"], users["cedarvalley_admin"]], cedar)
    tenant_routes, _ = routes_of(settings.ROOT_URLCONF)
    public_routes, _ = routes_of(settings.PUBLIC_SCHEMA_URLCONF)
    findings = Findings()
    started = time.monotonic()
    crawl(tenant_routes, tenant_actors, world.ids, _all_schemas(cast), findings)
    crawl(public_routes, public_actors, world.ids, _all_schemas(cast), findings)
    elapsed = time.monotonic() - started
    print(
        f"adversary: {findings.requests} requests in {elapsed:.1f} s ({findings.checksum_seconds:.1f} s of checksums)"
    )
    # The crawl really was signed in: Dr. Chen still sees her own home page.
    home = tenant_actors[0].client.get("/")
    assert home.status_code == 200 and b"Carla Chen" in home.content
    # … and Cedar Valley's API client really was authenticated: refused by the access rule
    # (404), not for its token (401), while Northfield's token at Cedar Valley is a 401.
    maria_uuid = world.first("patient")
    cedar_client, northfield_token = tenant_actors[-2].client, tenant_actors[-1].client
    assert cedar_client.get(f"/fhir/R4/Observation?patient={maria_uuid}").status_code == 404
    assert cedar_client.get("/fhir/R4/Patient?birthdate=1961-04-12").status_code == 200
    assert northfield_token.get(f"/fhir/R4/Patient/{maria_uuid}").status_code == 401
    assert not (findings.leaks or findings.errors or findings.writes), findings.report()


def _chen_reads_everything(cast: Any, world: World, sign_in: Callable[..., Any], markers: list[str]) -> Findings:
    """Dr. Chen requests every route of her organization with every id (reads)."""
    chen = _signed_in(sign_in, cast.users["chen"], cast.organizations["cedarvalley"])
    actor = Actor("Dr. Chen (Cedar Valley)", chen(), READS, [m.lower() for m in markers], chen, READS)
    findings = Findings()
    routes, _ = routes_of(settings.ROOT_URLCONF)
    crawl(routes, [actor], world.ids, _all_schemas(cast), findings, check_rows=False)
    return findings


def _northfield_and_maple_markers(world: World) -> list[str]:
    """What Cedar Valley did not type itself: Maria's clinical detail and her other MRNs."""
    return [*world.markers, "NCI-100234", "MFM-55871"]


def test_registering_maria_at_cedar_valley_opens_nothing_of_northfield_or_maple(
    cast: Any, world: World, sign_in: Callable[..., Any]
) -> None:
    """Dr. Chen registers Maria with her exact name, birth date and sex under a new Cedar
    Valley MRN: the identity is linked, and nothing another organization shared opens."""
    from portal.patients.models import PatientIdentifier

    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    chen = sign_in(cast.users["chen"], cedar)
    answer = chen.post(
        "/patients/register/",
        {
            "given_name": maria.given_name,
            "family_name": maria.family_name,
            "date_of_birth": maria.date_of_birth.isoformat(),
            "sex": maria.sex,
            "mrn": "CVC-ADV-4471",
        },
    )
    assert answer.status_code in (200, 302)
    assert PatientIdentifier.objects.filter(organization=cedar, mrn="CVC-ADV-4471", patient=maria).exists()
    findings = _chen_reads_everything(cast, world, sign_in, _northfield_and_maple_markers(world))
    assert not (findings.leaks or findings.errors), findings.report()


def test_cedar_valley_site_admin_cannot_decide_a_match_onto_maria(
    cast: Any, world: World, sign_in: Callable[..., Any]
) -> None:
    """Dr. Chen registers "Mary Alvarez" with Maria's birth date: a probable match is queued.
    Cedar Valley's site admin sees only Cedar Valley's side of it, and deciding "same"
    gives Cedar Valley nothing of Maria's record."""
    from portal.patients.models import PatientIdentifier, PatientMatchCandidate

    maria, cedar = cast.patients["maria"], cast.organizations["cedarvalley"]
    chen = sign_in(cast.users["chen"], cedar)
    chen.post(
        "/patients/register/",
        {
            "given_name": "Mary",
            "family_name": maria.family_name,
            "date_of_birth": maria.date_of_birth.isoformat(),
            "sex": maria.sex,
            "mrn": "CVC-ADV-4472",
        },
    )
    registered = PatientIdentifier.objects.get(organization=cedar, mrn="CVC-ADV-4472").patient
    matches = list(PatientMatchCandidate.objects.filter(patient=registered, candidate=maria))
    assert matches, "the probable match was not queued"
    admin = sign_in(cast.users["cedarvalley_admin"], cedar)
    queue = admin.get("/patients/matches/")
    text = queue.content.decode().lower()
    shown = [m for m in [*_northfield_and_maple_markers(world), "Maria Alvarez", "Alvarez, Maria"] if m.lower() in text]
    assert queue.status_code in (200, 404) and not shown, shown
    for match in matches:
        decided = admin.post(f"/patients/matches/{match.pk}/decide/", {"decision": "same"})
        assert decided.status_code < 500
    findings = _chen_reads_everything(cast, world, sign_in, _northfield_and_maple_markers(world))
    assert not (findings.leaks or findings.errors), findings.report()
