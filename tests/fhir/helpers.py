"""Validation of what the FHIR endpoint emits: every resource parsed with fhir.resources'
R4B models (R4B reads R4 resources; its default module is R5, which rejects valid R4), and
the codes of required bindings checked against our own lists (the models do not check codes)."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from portal.fhir.codes import CONTENT_TYPE, REQUIRED_CODES, REQUIRED_CODINGS


def _codings(value: Any):
    if isinstance(value, dict):
        if "system" in value and "code" in value and isinstance(value.get("code"), str):
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def check_codes(resource: dict[str, Any]) -> None:
    kind = resource["resourceType"]
    for (resource_type, element), allowed in REQUIRED_CODES.items():
        if resource_type == kind and element in resource:
            assert resource[element] in allowed, f"{kind}.{element} = {resource[element]!r} is not a valid code"
    for coding in _codings(resource):
        allowed = REQUIRED_CODINGS.get(coding["system"])
        if allowed is not None:
            assert coding["code"] in allowed, f"{coding['system']}|{coding['code']} is not a valid code"
    if (
        kind == "Condition"
        and resource.get("verificationStatus", {}).get("coding", [{}])[0].get("code") == "entered-in-error"
    ):
        assert "clinicalStatus" not in resource  # con-5
    if kind == "Observation":
        assert "valueQuantity" not in resource or "value" in resource["valueQuantity"]
    for contained in _nested_resources(resource):
        check_codes(contained)


def _nested_resources(resource: dict[str, Any]) -> list[dict[str, Any]]:
    if resource["resourceType"] == "Bundle":
        return [entry["resource"] for entry in resource.get("entry", []) if "resource" in entry]
    return []


def validate(resource: dict[str, Any]) -> Any:
    """Parse with the R4B model of its type (a Bundle parses its entries too) and check codes."""
    model = get_fhir_model_class(resource["resourceType"])
    parsed = model.model_validate(resource)
    check_codes(resource)
    return parsed


def fhir_json(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(CONTENT_TYPE)
    body = json.loads(response.content)
    validate(body)
    return body


def resources_of(bundle: dict[str, Any], resource_type: str | None = None) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle.get("entry", [])
        if resource_type is None or entry["resource"]["resourceType"] == resource_type
    ]
