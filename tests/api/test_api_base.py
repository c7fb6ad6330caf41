"""The API base classes cannot be bypassed by a subclass."""

from __future__ import annotations

from typing import Any

import pytest

from portal.api.base import OrganizationAPIView, PatientScopedAPIView
from portal.api.permissions import IsClinicalMember, IsOrganizationMember


def test_a_subclass_may_not_override_the_access_checks():
    for name in ("initial", "check_permissions", "get_permissions"):
        with pytest.raises(TypeError, match="sealed"):
            type("Sneaky", (PatientScopedAPIView,), {name: lambda self, *a, **k: None, "__module__": "elsewhere"})
        with pytest.raises(TypeError, match="sealed"):
            type("Sneaky", (OrganizationAPIView,), {name: lambda self, *a, **k: None, "__module__": "elsewhere"})


def test_permission_classes_can_add_checks_but_never_drop_the_base_ones():
    class Extra:
        def has_permission(self, request: Any, view: Any) -> bool:
            return True

    lax = type("Lax", (PatientScopedAPIView,), {"permission_classes": [], "__module__": "elsewhere"})
    assert lax.permission_classes == [IsOrganizationMember, IsClinicalMember]
    more = type("More", (OrganizationAPIView,), {"permission_classes": [Extra], "__module__": "elsewhere"})
    assert more.permission_classes == [IsOrganizationMember, Extra]


def test_the_record_endpoints_keep_the_clinical_check():
    from portal.patients import api

    for view in (api.ChartAPI, api.TimelineAPI, api.EntryAPI, api.ItemCreateAPI):
        assert view.permission_classes[:2] == [IsOrganizationMember, IsClinicalMember]
