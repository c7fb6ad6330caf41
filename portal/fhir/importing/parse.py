"""Reading an import's body: strict JSON, a transaction or batch Bundle, and each entry's
resource parsed with ``fhir.resources``' R4B models (types, cardinality, required elements,
formats) plus the codes of required bindings, which those models do not check.

Every refusal is an ``ImportFailure``: the status to answer, the OperationOutcome issue code,
what is wrong, and where (``Bundle.entry[3].resource.status``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as ModelError
from rest_framework.exceptions import ParseError

from portal.fhir.codes import REQUIRED_CODES, REQUIRED_CODINGS
from portal.jsonparse import json_parse

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,40}$")

# Required bindings of the resources an import keeps, beyond those the read side emits.
IMPORT_REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    **REQUIRED_CODES,
    ("AllergyIntolerance", "type"): frozenset({"allergy", "intolerance"}),
    ("Bundle", "type"): frozenset({"transaction", "batch"}),
}
REACTION_SEVERITY = frozenset({"mild", "moderate", "severe"})


class ImportFailure(Exception):
    """Why an import (or one entry of a batch) is refused."""

    def __init__(self, status: int, diagnostics: str, *, code: str = "invalid", expression: str = "") -> None:
        super().__init__(diagnostics)
        self.status, self.diagnostics, self.code, self.expression = status, diagnostics, code, expression

    def issue(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": "error", "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def body_parse(raw: bytes) -> dict[str, Any]:
    """The request body as a Bundle of type transaction or batch, or ``ImportFailure``."""
    if len(raw) > settings.FHIR_IMPORT_MAX_BYTES:
        raise ImportFailure(413, f"The body is larger than {settings.FHIR_IMPORT_MAX_BYTES:,} bytes.", code="too-long")
    if not raw.strip():
        raise ImportFailure(400, "The body is empty: send a Bundle of type transaction or batch.", code="required")
    try:
        bundle = json_parse(raw)
    except ParseError as error:
        raise ImportFailure(400, str(error.detail), code="structure")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ImportFailure(400, "The body is not a Bundle: send a Bundle of type transaction or batch.")
    if bundle.get("type") not in ("transaction", "batch"):
        raise ImportFailure(
            400,
            f"Bundle.type is {bundle.get('type')!r}: this endpoint takes transaction and batch Bundles.",
            code="code-invalid",
            expression="Bundle.type",
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise ImportFailure(400, "Bundle.entry is not a list.", code="structure", expression="Bundle.entry")
    if len(entries) > settings.FHIR_IMPORT_MAX_ENTRIES:
        raise ImportFailure(
            413,
            f"The Bundle has {len(entries):,} entries; at most {settings.FHIR_IMPORT_MAX_ENTRIES:,} are taken at once.",
            code="too-costly",
        )
    return bundle


@dataclass
class Request:
    method: str
    url: str
    if_none_exist: str


def entry_request(entry: Any, index: int) -> Request:
    """An entry's ``request`` (method and url), checked for its shape."""
    where = f"Bundle.entry[{index}]"
    if not isinstance(entry, dict):
        raise ImportFailure(400, f"{where} is not an object.", code="structure", expression=where)
    request = entry.get("request")
    if not isinstance(request, dict):
        raise ImportFailure(422, f"{where} has no request (method and url).", code="required", expression=where)
    method, url = request.get("method"), request.get("url")
    if method not in METHODS:
        raise ImportFailure(
            422, f"{where}.request.method {method!r} is not an HTTP verb of FHIR.", expression=f"{where}.request.method"
        )
    if not isinstance(url, str) or not url:
        raise ImportFailure(422, f"{where}.request.url is missing.", code="required", expression=f"{where}.request.url")
    if_none_exist = request.get("ifNoneExist", "")
    if not isinstance(if_none_exist, str):
        raise ImportFailure(422, f"{where}.request.ifNoneExist is not a string.", expression=f"{where}.request")
    return Request(method=method, url=url, if_none_exist=if_none_exist)


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("system"), str) and isinstance(value.get("code"), str):
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def _model_error(error: ModelError, where: str) -> ImportFailure:
    first = error.errors()[0]
    path = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    expression = f"{where}.{path}" if path else where
    count = error.error_count()
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return ImportFailure(422, f"{expression}: {first.get('msg', 'invalid')}{more}.", expression=expression)


def resource_shape(resource: Any, where: str) -> None:
    """An object with a resourceType (what is needed before it is validated)."""
    if not isinstance(resource, dict):
        raise ImportFailure(422, f"{where} is missing or not an object.", code="required", expression=where)
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not RESOURCE_TYPE.match(kind):
        raise ImportFailure(422, f"{where} has no resourceType.", code="required", expression=where)


def resource_check(resource: Any, where: str) -> None:
    """Parse with the R4B model of its type, then check required-binding codes."""
    resource_shape(resource, where)
    kind = resource["resourceType"]
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        raise ImportFailure(
            422, f"{where}: {kind} is not a FHIR R4 resource type.", code="not-supported", expression=where
        )
    try:
        model.model_validate(resource)
    except ModelError as error:
        raise _model_error(error, where)
    except (TypeError, ValueError) as error:  # a few R4B validators raise plain errors
        raise ImportFailure(422, f"{where}: {error}", expression=where)
    codes_check(resource, where)


def codes_check(resource: dict[str, Any], where: str) -> None:
    kind = resource["resourceType"]
    for (resource_type, element), allowed in IMPORT_REQUIRED_CODES.items():
        if resource_type == kind and element in resource and resource[element] not in allowed:
            raise ImportFailure(
                422,
                f"{where}.{element}: {resource[element]!r} is not a code of its required value set.",
                code="code-invalid",
                expression=f"{where}.{element}",
            )
    for coding in _codings(resource):
        listed = REQUIRED_CODINGS.get(coding["system"])
        if listed is not None and coding["code"] not in listed:
            raise ImportFailure(
                422,
                f"{where}: {coding['system']}|{coding['code']} is not a code of that system.",
                code="code-invalid",
                expression=where,
            )
    if kind == "AllergyIntolerance":
        for reaction in resource.get("reaction", []):
            if "severity" in reaction and reaction["severity"] not in REACTION_SEVERITY:
                raise ImportFailure(
                    422,
                    f"{where}.reaction.severity: {reaction['severity']!r} is not mild, moderate or severe.",
                    code="code-invalid",
                    expression=f"{where}.reaction",
                )
