"""The FHIR R4 endpoint at ``/fhir/R4/`` of each organization's address.

Thin views: parse, ask ``record`` (which asks the selectors), answer plain JSON as
``application/fhir+json``. Every answer that carries clinical data writes its audit
events (one per patient and per organization whose data it returned). Errors are
OperationOutcomes; forbidden and missing are the same 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from portal.accounts.typing import TenantRequest
from portal.fhir import mapping as m
from portal.fhir import record
from portal.fhir import selectors as s
from portal.fhir.capability import RESOURCES, capability_statement
from portal.fhir.clients.access import (
    ScopeRefused,
    actor,
    bearer_refusal,
    client_denied_record,
    csrf_refusal,
    principal_of,
    readable,
    types_for_client,
)
from portal.fhir.errors import NOT_FOUND, fhir_response, outcome_response
from portal.fhir.render import bundle_bytes, collector_paused
from portal.fhir.search import Search, SearchError, _date_range, parse

PREFIX = "/fhir/R4/"
SOFTWARE_DATE = "2026-12-02"


class FhirError(Exception):
    def __init__(self, status: int, diagnostics: str, code: str = "processing") -> None:
        super().__init__(diagnostics)
        self.status, self.diagnostics, self.code = status, diagnostics, code


def fhir_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in at this address with an active membership (the portal's session, CSRF token
    on a POST), or a backend client's bearer token of this organization whose scopes allow the
    interaction (``portal.fhir.clients.access``); errors as OperationOutcome."""

    @wraps(view)
    def wrapper(request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = bearer_refusal(request, view.__name__, kwargs)
        if refused is not None:
            return refused
        if principal_of(request) is None:
            if not request.user.is_authenticated:
                response = outcome_response(401, "Sign in at this organization's address.", "login")
                response["WWW-Authenticate"] = 'Bearer realm="fhir"'
                return response
            if getattr(request, "membership", None) is None:
                return outcome_response(
                    403, "Sign in at this organization's address with an active account.", "forbidden"
                )
            csrf = csrf_refusal(request)
            if csrf is not None:
                return csrf
        try:
            return view(request, *args, **kwargs)
        except Http404:
            client_denied_record(request)
            return outcome_response(404, NOT_FOUND, "not-found")
        except SearchError as error:
            return outcome_response(400, str(error), "invalid")
        except FhirError as error:
            return outcome_response(error.status, error.diagnostics, error.code)
        except ScopeRefused as error:
            return outcome_response(403, str(error), "forbidden")

    # A bearer request has no CSRF token to give; a session's is checked above (csrf_refusal).
    return csrf_exempt(wrapper)


def _base(request: TenantRequest) -> str:
    return request.build_absolute_uri(PREFIX)


def _params(request: TenantRequest) -> Any:
    return request.POST if request.method == "POST" else request.GET


def _strict(request: TenantRequest) -> bool:
    return "handling=strict" in request.headers.get("Prefer", "").replace(" ", "")


def _known_type(resource_type: str) -> None:
    if resource_type not in RESOURCES:
        raise FhirError(404, f"{resource_type} is not a resource type this server has.", "not-supported")


def _audit(request: TenantRequest, scopes: list[s.Scope], interaction: str) -> None:
    s.fhir_audit(
        user=actor(request), organization=request.tenant, request=request, scopes=scopes, interaction=interaction
    )


# --- metadata ------------------------------------------------------------------------


@require_http_methods(["GET"])
def metadata(request: TenantRequest) -> HttpResponse:
    return fhir_response(capability_statement(base=_base(request), software_date=SOFTWARE_DATE))


# --- search --------------------------------------------------------------------------


def _page_links(request: TenantRequest, resource_path: str, query: Search, total: int) -> dict[str, str]:
    params = _params(request).copy()
    params.pop("_offset", None)
    base = _base(request) + resource_path
    links = {"self": _url(base, params, query.offset)}
    if query.offset + query.count < total:
        links["next"] = _url(base, params, query.offset + query.count)
    if query.offset > 0:
        links["previous"] = _url(base, params, max(0, query.offset - query.count))
    return links


def _cursor_links(request: TenantRequest, resource_path: str, next_cursor: str | None) -> dict[str, str]:
    params = _params(request)
    base = _base(request) + resource_path
    pairs = [(key, value) for key, values in params.lists() for value in values]
    links = {"self": f"{base}?{urlencode(pairs)}" if pairs else base}
    if next_cursor is not None:
        kept = [(key, value) for key, value in pairs if key not in ("_cursor", "_offset")]
        links["next"] = f"{base}?{urlencode([*kept, ('_cursor', next_cursor)])}"
    return links


def _url(base: str, params: Any, offset: int) -> str:
    pairs = [(key, value) for key, values in params.lists() for value in values if key != "_offset"]
    if offset:
        pairs.append(("_offset", str(offset)))
    return f"{base}?{urlencode(pairs)}" if pairs else base


@fhir_view
@require_http_methods(["GET", "POST"])
def search_type(request: TenantRequest, resource_type: str) -> HttpResponse:
    _known_type(resource_type)
    query = parse(resource_type, _params(request), strict=_strict(request))
    user, organization = actor(request), request.tenant
    if resource_type in ("Organization", "Practitioner", "Binary"):
        raise FhirError(400, f"{resource_type} is read by its id here; search it through $everything or _include.")
    if resource_type == "AuditEvent":
        return _audit_search(request, query)
    if resource_type == "Patient" and query.patient is None and query.ids is None and query.identifier is None:
        if not query.birthdate:
            raise FhirError(400, "Search patients by _id, identifier or birthdate.", "required")
    if resource_type == "Patient":
        return _patient_search(request, query)
    if query.patient is None:
        raise FhirError(400, f"Search {resource_type} for one patient: add patient=<id>.", "required")
    scope = s.scope_for_patient(user=user, organization=organization, patient_uuid=_uuid(query.patient))
    with collector_paused():
        found = record.search(scope, query)
        page, included = found.matches, readable(request, found.included)
        if found.total is not None:
            links = _page_links(request, resource_type, query, found.total)
        else:
            links = _cursor_links(request, resource_type, found.next_cursor)
        body = bundle_bytes(
            kind="searchset",
            matches=page,
            includes=included,
            base=_base(request),
            total=found.total,
            links=links,
        )
    if page or included:
        _audit(request, [scope], f"search {resource_type}")
    return fhir_response(body)


def _uuid(value: str) -> str:
    return s.split_id(value)[0]


def _patient_search(request: TenantRequest, query: Search) -> HttpResponse:
    user, organization = actor(request), request.tenant
    patients = s.patients_visible(user=user, organization=organization)
    ids = set(query.ids or set())
    if query.patient:
        ids.add(query.patient)
    if ids:
        valid = set()
        for value in ids:
            try:
                valid.add(s.split_id(value)[0])
            except Http404:
                continue
        patients = patients.filter(uuid__in=valid)
    if query.identifier is not None:
        patients = patients.filter(identifiers__mrn=query.identifier.code)
        if query.identifier.system and query.identifier.system.startswith("urn:continuum:fhir:mrn:"):
            patients = patients.filter(identifiers__organization__uuid=_uuid(query.identifier.system.rsplit(":", 1)[1]))
    found = list(patients.order_by("family_name", "given_name", "pk")[:1000])
    scopes = []
    resources = []
    for patient in found:
        scope = s.scope_for_patient(user=user, organization=organization, patient_uuid=patient.uuid)
        resource = record.compartment(scope, types={"Patient"}).resources[0]
        if query.birthdate and not all(bound.matches(resource.get("birthDate")) for bound in query.birthdate):
            continue
        if not query.matches(resource):
            continue
        scopes.append(scope)
        resources.append(resource)
    total = len(resources)
    page = resources[query.offset : query.offset + query.count]
    page_ids = {r["id"] for r in page}
    body = m.bundle(
        "searchset",
        [(r, "match") for r in page],
        base=_base(request),
        total=total,
        links=_page_links(request, "Patient", query, total),
    )
    shown = [scope for scope in scopes if str(scope.patient.uuid) in page_ids]
    if shown:
        _audit(request, shown, "search Patient")
    return fhir_response(body)


def _audit_search(request: TenantRequest, query: Search) -> HttpResponse:
    events = s.audit_events_for(membership=getattr(request, "membership", None))
    if query.patient:
        events = events.filter(patient__uuid=_uuid(query.patient))
    if query.ids:
        events = events.filter(uuid__in=[s.split_id(value)[0] for value in query.ids])
    for bound in query.dates:
        if bound.prefix in ("ge", "gt", "sa"):
            events = events.filter(occurred_at__gte=bound.start)
        elif bound.prefix in ("le", "lt", "eb"):
            events = events.filter(occurred_at__lt=bound.end)
        else:
            events = events.filter(occurred_at__gte=bound.start, occurred_at__lt=bound.end)
    total = events.count()
    page = [
        m.audit_event_resource(e) for e in events.order_by("-occurred_at")[query.offset : query.offset + query.count]
    ]
    body = m.bundle(
        "searchset",
        [(r, "match") for r in page],
        base=_base(request),
        total=total,
        links=_page_links(request, "AuditEvent", query, total),
    )
    return fhir_response(body)


# --- read, vread, history ------------------------------------------------------------


def _scope_for(request: TenantRequest, resource_type: str, resource_id: str) -> s.Scope:
    return s.scope_for_resource(
        user=actor(request),
        organization=request.tenant,
        resource_type=resource_type,
        resource_id=resource_id,
        entry_types=record.ENTRY_TYPES,
    )


@fhir_view
@require_http_methods(["GET"])
def read(request: TenantRequest, resource_type: str, resource_id: str) -> HttpResponse:
    _known_type(resource_type)
    user, organization = actor(request), request.tenant
    if resource_type == "Organization":
        if (
            principal_of(request) is None
            and s.clinical_membership(user=request.user, organization=organization) is None
        ):
            if request.membership is None or not request.membership.is_admin:
                raise Http404("No such resource")
        found = s.organizations_by_uuid([s.split_id(resource_id)[0]])
        if not found:
            raise Http404("No such resource")
        return fhir_response(m.organization_resource(found[0]))
    if resource_type == "Practitioner":
        person = s.practitioner_get(user=user, organization=organization, practitioner_id=resource_id)
        return fhir_response(m.practitioner_resource(person))
    if resource_type == "AuditEvent":
        event = s.audit_events_for(membership=request.membership).filter(uuid=s.split_id(resource_id)[0]).first()
        if event is None:
            raise Http404("No such resource")
        return fhir_response(m.audit_event_resource(event))
    scope = _scope_for(request, resource_type, resource_id)
    if resource_type == "Binary":
        return _binary(request, scope, resource_id)
    resource = record.read(scope, resource_type, resource_id)
    _audit(request, [scope], f"read {resource_type}/{resource_id}")
    response = fhir_response(resource)
    version = resource.get("meta", {}).get("versionId")
    if version:
        response["ETag"] = f'W/"{version}"'
    return response


def _binary(request: TenantRequest, scope: s.Scope, resource_id: str) -> HttpResponse:
    entries = s.scope_entries(scope, kinds=["document"], entry_uuids=[resource_id])
    if not entries:
        raise Http404("No such resource")
    content_type, content = s.document_content(scope, entries[0])
    scope.owners.add(entries[0].organization)
    _audit(request, [scope], f"read Binary/{resource_id}")
    accept = request.headers.get("Accept", "")
    if "fhir" in accept or "json" in accept or request.GET.get("_format"):
        return fhir_response(m.binary_resource(entry_id=resource_id, content_type=content_type, content=content))
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = "attachment"
    return response


@fhir_view
@require_http_methods(["GET"])
def history(request: TenantRequest, resource_type: str, resource_id: str) -> HttpResponse:
    _known_type(resource_type)
    if not RESOURCES[resource_type][2] or resource_type == "Patient":
        raise Http404("No such resource")
    scope = _scope_for(request, resource_type, resource_id)
    versions = record.history(scope, resource_type, resource_id)
    body = m.bundle("history", [(v, None) for v in versions], base=_base(request), total=len(versions))
    for item, version in zip(body["entry"], versions, strict=True):
        first = version["meta"]["versionId"] == "1"
        item["request"] = {"method": "POST" if first else "PUT", "url": f"{resource_type}/{resource_id}"}
        item["response"] = {
            "status": "201 Created" if first else "200 OK",
            "etag": f'W/"{version["meta"]["versionId"]}"',
            "lastModified": version["meta"]["lastUpdated"],
        }
    _audit(request, [scope], f"history {resource_type}/{resource_id}")
    return fhir_response(body)


@fhir_view
@require_http_methods(["GET"])
def vread(request: TenantRequest, resource_type: str, resource_id: str, version_id: str) -> HttpResponse:
    _known_type(resource_type)
    if resource_type == "Patient":
        response = read(request, resource_type, resource_id)
        if version_id != "1" and response.status_code == 200:
            return outcome_response(404, NOT_FOUND, "not-found")
        return response
    if not RESOURCES[resource_type][2]:
        raise Http404("No such resource")
    scope = _scope_for(request, resource_type, resource_id)
    for version in record.history(scope, resource_type, resource_id):
        if version["meta"]["versionId"] == version_id:
            _audit(request, [scope], f"vread {resource_type}/{resource_id}/{version_id}")
            response = fhir_response(version)
            response["ETag"] = f'W/"{version_id}"'
            return response
    raise Http404("No such version")


# --- Patient/$everything -------------------------------------------------------------


@fhir_view
@require_http_methods(["GET"])
def everything(request: TenantRequest, resource_id: str) -> HttpResponse:
    user, organization = actor(request), request.tenant
    params = request.GET
    types = None
    if params.get("_type"):
        types = {part.strip() for value in params.getlist("_type") for part in value.split(",") if part.strip()}
        unknown = types - record.COMPARTMENT_TYPES - record.DIRECTORY_TYPES
        if unknown:
            raise FhirError(400, f"_type: not a type of the patient's record: {', '.join(sorted(unknown))}.", "invalid")
    since = None
    if params.get("_since"):
        try:
            since = _date_range(params["_since"])[0]
        except SearchError as error:
            raise FhirError(400, f"_since: {error}", "invalid")
    count = offset = None
    query = Search(resource_type="Patient")
    if params.get("_count"):
        query = parse("Patient", params.copy())
        count, offset = query.count, query.offset
    types = types_for_client(request, types, record.COMPARTMENT_TYPES | record.DIRECTORY_TYPES)
    scope = s.scope_for_patient(user=user, organization=organization, patient_uuid=s.split_id(resource_id)[0])
    with collector_paused():
        out, resources = record.everything(scope, types=types, since=since)
        total = len(resources)
        links = None
        if count is not None:
            resources = resources[offset : (offset or 0) + count]
            links = _page_links(request, f"Patient/{resource_id}/$everything", query, total)
        record.page_owners(scope, out, resources)

        def directory(references: set[str]) -> list[dict[str, Any]]:
            if types is not None and not types & record.DIRECTORY_TYPES:
                return []
            found = record.directory_for(out, references)
            return found if types is None else [r for r in found if r["resourceType"] in types]

        body = bundle_bytes(
            kind="searchset",
            matches=resources,
            includes=[],
            base=_base(request),
            total=total,
            links=links,
            directory=directory,
        )
    _audit(request, [scope], "Patient/$everything")
    return fhir_response(body)


@fhir_view
@require_http_methods(["GET", "POST"])
def root(request: TenantRequest) -> HttpResponse:
    if request.method == "POST":
        from portal.fhir.importing.views import bundle_post

        return bundle_post(request)
    raise FhirError(400, "Name a resource type (/fhir/R4/Patient/<id>) or read /fhir/R4/metadata.", "invalid")
