"""Every route of the portal, classified by what its URL parameters name, with the
concrete addresses and plausible bodies a hostile actor would send.

A route comes from walking the organization URL configuration (``ROOT_URLCONF``) and the
network's (``PUBLIC_SCHEMA_URLCONF``); the API's operations come from the OpenAPI schema.
A new route is covered as soon as it exists: its parameters are mapped to an object kind
by ``PARAMETERS`` below, and a parameter that no rule there knows fails the suite, naming
the route, until someone says what it takes.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

# (route prefix as a regular expression, parameter name) → the kind of object it names.
# The first rule that matches wins. Kinds are those of world.World.ids, or the constant
# value lists of ``CONSTANT_KINDS``.
PARAMETERS: list[tuple[str, str, str]] = [
    (r"", "patient_uuid", "patient"),
    (r"", "entry_uuid", "entry"),
    (r"", "item_id", "item"),
    (r"", "attachment_uuid", "attachment"),
    (r"", "thread_uuid", "thread"),
    (r"", "referral_uuid", "referral"),
    (r"", "task_uuid", "task"),
    (r"", "handoff_uuid", "handoff"),
    (r"", "delivery_id", "delivery"),
    (r"", "board_uuid", "board"),
    (r"", "meeting_uuid", "meeting"),
    (r"", "case_uuid", "board_case"),
    (r"^patients/access-requests/", "request_uuid", "access_request"),
    (r"^patients/matches/", "pk", "match"),
    (r"^(admin/users/|api/v1/users/)", "pk", "user"),
    (r"^admin/users/import/", "uuid", "bulk_invitation"),
    (r"^admin/invitations/", "uuid", "invitation"),
    (r"^admin/users/", "action", "member_action"),
    # Site admins' API clients of the FHIR endpoint (Northfield's, in the world).
    (r"^admin/api-clients/", "uuid", "api_client"),
    (r"^records/new/", "kind", "record_kind"),
    (r"^accounts/invitation/", "token", "invitation_token"),
    (r"^accounts/reset/", "uidb64", "reset_uid"),
    (r"^accounts/reset/", "token", "reset_token"),
    (r"^console/organizations/", "uuid", "organization_uuid"),
    (r"^console/organizations/", "step", "console_step"),
    (r"^console/exports/", "uuid", "export"),
    # Django's support admin at the network's address (network admins only).
    (r"^support-admin/r/", "content_type_id", "content_type"),
    (r"^support-admin/r/", "object_id", "patient_pk"),
    (r"^support-admin/otp_totp/totpdevice/", "pk", "otp_device"),
    (r"^support-admin/\w+/\w+/", "object_id", "admin_object"),
    (r"^support-admin/", "app_label", "admin_app_label"),
    (r"^support-admin/", "url", "admin_catch_all"),
    # The FHIR endpoint: a resource type, our ids of Maria's resources, a version.
    (r"^fhir/R4/", "resource_type", "fhir_type"),
    (r"^fhir/R4/", "resource_id", "fhir_id"),
    (r"^fhir/R4/", "version_id", "fhir_version"),
    # Bulk export: an organization's Group (its uuid), an export job, one of its files.
    (r"^fhir/R4/", "group_id", "fhir_group"),
    (r"^fhir/R4/", "job_id", "fhir_export"),
    (r"^fhir/R4/", "file_name", "fhir_export_file"),
]

CONSTANT_KINDS: dict[str, list[str]] = {
    "record_kind": ["note", "document", "cancer_diagnosis"],
    "member_action": ["deactivate", "reset-second-factor"],
    "console_step": ["suspend", "offboard"],
    "admin_app_label": ["patients", "accounts"],
    "admin_catch_all": ["patients/networkpatient/"],
    "fhir_type": ["Patient", "Observation", "Condition", "Provenance", "Binary", "Task", "CareTeam", "AuditEvent"],
    "fhir_version": ["1", "2"],
    "fhir_export_file": ["Patient.ndjson", "Observation.ndjson", "Condition.ndjson"],
}

# Form and serializer fields that name an object → its kind (a list when the field takes many).
FIELD_KINDS: dict[str, str] = {
    "patient": "patient",
    "patient_uuid": "patient",
    "entry": "entry",
    "entries": "entry",
    "entry_uuid": "entry",
    "outcome_entry": "entry",
    "attachments": "entry",
    "item": "item",
    "item_id": "item",
    "thread": "thread",
    "referral": "referral",
    "task": "task",
    "occurrence": "occurrence",
    "handoff": "handoff",
    "ids": "notification",
    "notification": "notification",
    "delivery": "delivery",
    "user": "user",
    "user_id": "user",
    "owner_user": "user",
    "to_user": "user",
    "organization": "organization",
    "receiving_organization": "organization",
    "owner_organization": "organization",
    "to_organization": "organization",
    "recipient": "recipient",
    "recipients": "recipient",
    "participants": "recipient",
    "match": "match",
    "candidate": "patient_pk",
    "board": "board",
    "meeting": "meeting",
    "case": "board_case",
    "order": "board_case",
}


@dataclass
class Route:
    urlconf: str
    template: str  # "patients/<uuid:patient_uuid>/"
    callback: Any
    parameters: dict[str, str] = field(default_factory=dict)  # name → kind
    regex_groups: dict[str, str] = field(default_factory=dict)  # regex-pattern groups: name → its regex text

    @property
    def module(self) -> str:
        return getattr(self.callback, "__module__", "")

    @property
    def openapi_path(self) -> str:
        # drf-spectacular names a ``pk`` parameter ``id``.
        path = re.sub(r"<(?:\w+:)?pk>", "{id}", self.template)
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)

    @property
    def is_api(self) -> bool:
        return self.template.startswith("api/")


class UnclassifiedRoute(Exception):
    pass


def _walk(resolver: URLResolver, prefix: str = "", groups: dict[str, str] | None = None) -> Iterator[tuple]:
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        groups_here = dict(groups or {})
        if isinstance(pattern, RoutePattern):
            text = str(pattern._route)
        elif isinstance(pattern, RegexPattern):
            text = str(pattern._regex).lstrip("^").rstrip("$")
            for match in re.finditer(r"\(\?P<(\w+)>([^()]*)\)", text):
                groups_here[match.group(1)] = match.group(2)
        else:  # pragma: no cover - Django has no third kind today
            raise UnclassifiedRoute(f"{prefix}{pattern}: an unknown kind of URL pattern")
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + text, groups_here)
        elif isinstance(entry, URLPattern):
            yield prefix + text, entry.callback, groups_here


def routes_of(urlconf: str) -> tuple[list[Route], list[str]]:
    """All routes of ``urlconf`` with their parameters classified, and the routes that could not be."""
    routes, unclassified = [], []
    for template, callback, groups in _walk(get_resolver(urlconf)):
        names = re.findall(r"<(?:\w+:)?(\w+)>", template) + list(groups)
        route = Route(urlconf=urlconf, template=template, callback=callback, regex_groups=groups)
        for name in names:
            kind = next((k for prefix, p, k in PARAMETERS if p == name and re.match(prefix, template)), None)
            if kind is None:
                unclassified.append(f"{urlconf}: {template} — parameter <{name}> names no known kind of object")
            else:
                route.parameters[name] = kind
        routes.append(route)
    return routes, unclassified


def route_urls(route: Route, ids: dict[str, list[Any]]) -> list[str]:
    """Concrete addresses: each id of the kind a parameter takes (the first id of the others)."""
    names = list(route.parameters)
    if not names:
        return ["/" + route.template]
    urls = []
    for varied in names:
        for value in ids[route.parameters[varied]]:
            values = {name: (value if name == varied else ids[route.parameters[name]][0]) for name in names}
            path = route.template
            for name, v in values.items():
                path = re.sub(rf"<(?:\w+:)?{name}>", str(v), path)
                if name in route.regex_groups:
                    path = path.replace(f"(?P<{name}>{route.regex_groups[name]})", str(v))
            urls.append("/" + path.replace("\\$", "$"))  # a regex route's escaped "$" (FHIR operations)
    return list(dict.fromkeys(urls))


# --- Bodies ------------------------------------------------------------------------------


def _form_fields() -> dict[str, dict[str, forms.Field]]:
    """Every declared form field, by app package (``portal.care`` → {name: field})."""
    found: dict[str, dict[str, forms.Field]] = {}
    for module_name in (
        "portal.accounts.forms",
        "portal.audit.forms",
        "portal.boards.forms",
        "portal.care.forms",
        "portal.messaging.forms",
        "portal.patients.forms",
        "portal.records.kinds",
        "tenants.forms",
    ):
        module = importlib.import_module(module_name)
        package = module_name.rsplit(".", 1)[0]
        fields = found.setdefault(package, {})
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, forms.BaseForm) and value.__module__ == module_name:
                for field_name, form_field in getattr(value, "base_fields", {}).items():
                    fields.setdefault(field_name, form_field)
    return found


FORM_FIELDS = _form_fields()
FILLER = "Adversary probe"


def _id_value(kind: str, ids: dict[str, list[Any]], many: bool) -> Any:
    values = ids.get(kind) or []
    return [str(v) for v in values[:3]] if many else (str(values[0]) if values else "")


def form_body(route: Route, ids: dict[str, list[Any]]) -> dict[str, Any]:
    """A form post of the route's app: ids in every field that names an object, the rest filled."""
    package = route.module.rsplit(".", 1)[0]
    fields = dict(FORM_FIELDS.get(package, {}))
    if package == "portal.accounts":
        fields.update(FORM_FIELDS["portal.accounts"])
    if not fields:
        fields = {name: f for group in FORM_FIELDS.values() for name, f in group.items()}
    body: dict[str, Any] = {}
    for name, form_field in fields.items():
        many = isinstance(form_field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField)
        if name in FIELD_KINDS:
            body[name] = _id_value(FIELD_KINDS[name], ids, many)
        elif isinstance(form_field, forms.FileField):
            continue
        elif isinstance(form_field, forms.BooleanField):
            body[name] = "on"
        elif isinstance(form_field, forms.EmailField):
            body[name] = "probe@adversary.invalid"
        elif isinstance(form_field, forms.DateTimeField):
            body[name] = (dt.datetime.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        elif isinstance(form_field, forms.DateField):
            body[name] = dt.date.today().isoformat()
        elif isinstance(form_field, forms.IntegerField):
            body[name] = str(ids.get("occurrence", [1])[0]) if name == "occurrence" else "2"
        elif isinstance(form_field, forms.UUIDField):
            body[name] = _id_value("entry", ids, False)
        elif isinstance(form_field, forms.ChoiceField):
            choices = [c for c, _ in getattr(form_field, "choices", []) if c not in ("", None)]
            body[name] = ([str(choices[0])] if many else str(choices[0])) if choices else FILLER
        else:
            body[name] = FILLER
    # The choices a hostile actor would make: accept a referral, confirm a step, "same person".
    body.update(action="accept", confirm="northfield", decision="same")
    return body


def json_body(schema: dict[str, Any], operation: dict[str, Any] | None, ids: dict[str, list[Any]]) -> dict[str, Any]:
    """A JSON body from the operation's request schema: ids where a property names an object."""
    if not operation or "requestBody" not in operation:
        return {name: _id_value(kind, ids, name.endswith("s")) for name, kind in FIELD_KINDS.items()}
    content = operation["requestBody"]["content"]
    body_schema = next(iter(content.values()))["schema"]
    return _fill(schema, body_schema, ids, name="")


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node:
        return _resolve(schema, node["allOf"][0])
    if "oneOf" in node:
        return _resolve(schema, node["oneOf"][0])
    return node


def _fill(schema: dict[str, Any], node: dict[str, Any], ids: dict[str, list[Any]], name: str) -> Any:
    node = _resolve(schema, node)
    kind = FIELD_KINDS.get(name)
    kind_type = node.get("type")
    if kind_type == "object" or "properties" in node:
        return {key: _fill(schema, value, ids, key) for key, value in node.get("properties", {}).items()}
    if kind_type == "array":
        if kind:
            return _id_value(kind, ids, True)
        return [_fill(schema, node.get("items", {}), ids, name)]
    if kind:
        value = _id_value(kind, ids, False)
        return int(value) if kind_type == "integer" and str(value).isdigit() else value
    if "enum" in node:
        return [v for v in node["enum"] if v not in ("", None)][0]
    if kind_type == "integer":
        return 2
    if kind_type == "boolean":
        return True
    fmt = node.get("format")
    if fmt == "uuid":
        return _id_value("entry", ids, False)
    if fmt == "date":
        return dt.date.today().isoformat()
    if fmt == "date-time":
        return (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    if fmt == "email":
        return "probe@adversary.invalid"
    return FILLER


def openapi_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)
