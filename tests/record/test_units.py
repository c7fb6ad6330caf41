"""Units shown as clinicians write them on pages; the API keeps UCUM."""

from __future__ import annotations

import pytest

from portal.records.units import unit_display


@pytest.mark.parametrize(
    ("ucum", "shown"),
    [
        ("10^3/uL", "×10³/µL"),
        ("10*3/uL", "×10³/µL"),
        ("10^6/uL", "×10⁶/µL"),
        ("10^9/L", "×10⁹/L"),
        ("10*12/L", "×10¹²/L"),
        ("umol/L", "µmol/L"),
        ("ug/dL", "µg/dL"),
        ("uL", "µL"),
        ("mL/min/{1.73_m2}", "mL/min/1.73m²"),
        ("Cel", "°C"),
        ("mm[Hg]", "mmHg"),
        ("kg/m2", "kg/m²"),
        ("[IU]/L", "IU/L"),
        ("{cells}/uL", "cells/µL"),
        ("g/dL", "g/dL"),
        ("mmol/L", "mmol/L"),
        ("U/L", "U/L"),
        ("mg/dL", "mg/dL"),
        ("%", "%"),
        ("", ""),
        (None, ""),
    ],
)
def test_units_read_as_clinicians_write_them(ucum, shown):
    assert unit_display(ucum) == shown


def test_the_chart_shows_units_as_written_and_the_api_keeps_ucum(cast, sign_in):
    """Maria's seeded record has Maple's absolute neutrophil count in 10^3/uL."""
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    chart = park.get(f"/patients/{maria.uuid}/").content.decode()
    assert "×10³/µL" in chart and "10^3/uL" not in chart
    api = park.get(f"/api/v1/patients/{maria.uuid}/entries/").content.decode()
    assert "10^3/uL" in api and "×10³" not in api
