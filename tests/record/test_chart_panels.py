"""How the chart and an entry's page present the record: tests grouped per test, fields in order."""

import datetime as dt
import re
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.patients.models import RegistryEntry
from portal.records.display import entry_sections
from portal.records.selectors import ResultGroup, results_group
from portal.records.templatetags.record_tags import sparkline


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def test_tests_already_done_shows_one_row_per_test_with_its_count_and_a_described_sparkline(cast, sign_in):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    panel = _section(park.get(f"/patients/{maria.uuid}/").content.decode(), "tests-done")
    rows = re.findall(r'<li class="test-row">(.*?)</li>', panel, flags=re.S)
    titles = [re.search(r'class="test-name"[^>]*>([^<]+)<', row).group(1) for row in rows]  # type: ignore[union-attr]
    assert titles.count("Absolute neutrophil count") == 1 and titles.count("Hemoglobin") == 1
    anc = rows[titles.index("Absolute neutrophil count")]
    # The latest of three results (Maple's, 3 days ago), where it comes from, how many there are.
    assert "2.6 ×10³/µL" in anc and "Maple Family Medicine" in anc and "Northfield Cancer Institute" in anc
    assert "3 results" in anc
    label = re.search(r'<svg class="sparkline" role="img" aria-label="([^"]+)"', anc)
    assert label is not None
    assert label.group(1).startswith("Absolute neutrophil count, 3 results over the past year, rising: from 1.4")
    assert "2 results" in rows[titles.index("Hemoglobin")]
    # A single result has a count and no chart.
    a1c = rows[titles.index("Hemoglobin A1c")]
    assert "1 result" in a1c and "<svg" not in a1c


def test_results_group_by_code_or_title_and_the_sparkline_needs_two_numeric_values(cast):
    maria, maple = cast.patients["maria"], cast.organizations["maple"]
    now = timezone.now()

    def entry(title: str, code: str, value: str, days_ago: int) -> RegistryEntry:
        return RegistryEntry(
            patient=maria,
            organization=maple,
            kind="lab_result",
            code=code,
            title=title,
            effective_at=now - dt.timedelta(days=days_ago),
            item_uuid=uuid.uuid4(),
            summary={"value": value, "unit": "g/dL", "reference_low": "12", "reference_high": "15.5"},
        )

    groups = results_group(
        [
            entry("Hemoglobin", "718-7", "11.0", 1),
            entry("Hgb", "718-7", "12.5", 30),
            entry("Ferritin", "", "pending", 2),
            entry("ferritin", "", "40", 40),
        ]
    )
    assert [(group.title, group.count) for group in groups] == [("Hemoglobin", 2), ("Ferritin", 2)]
    assert "falling" in sparkline(groups[0])
    assert sparkline(groups[1]) == ""  # one numeric value only
    assert sparkline(ResultGroup(kind="lab_result", title="x", entries=[entry("x", "", "1", 1)])) == ""


def test_a_diagnosis_page_lists_its_fields_in_form_order_with_tnm_together(cast, sign_in):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    diagnosis = RegistryEntry.objects.get(patient=maria, kind="cancer_diagnosis")
    page = park.get(f"/patients/{maria.uuid}/entries/{diagnosis.uuid}/").content.decode()
    labels = re.findall(r"<dt>([^<]+)</dt>", page)
    assert labels == [
        "ICD-10 code",
        "Primary or secondary",
        "Histology",
        "Stage group",
        "TNM",
        "Staging date",
        "ER",
        "PR",
        "HER2",
        "Other tumor markers",
        "ECOG performance status",
        "Disease status",
    ]
    assert "T2 N1 M0" in page and "Positive" in page
    assert re.search(r"<h2[^>]*>Staging</h2>", page)


def test_a_lab_page_does_not_repeat_its_headline_and_writes_dates_the_same_way(cast, sign_in):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    lab = RegistryEntry.objects.filter(patient=maria, kind="lab_result", title="Hemoglobin").first()
    assert lab is not None
    page = park.get(f"/patients/{maria.uuid}/entries/{lab.uuid}/").content.decode()
    assert re.findall(r"<dt>([^<]+)</dt>", page) == ["LOINC code", "Panel"]
    assert "Reference range 12–15.5 g/dL" in page
    assert lab.effective_at.strftime("%b ") in page
    # Its trend: the other Hemoglobin result on the chart, drawn and listed.
    assert "2 results on the chart" in page
    trend = re.search(r'<svg class="trend-chart" role="img" aria-label="([^"]+)"', page)
    assert trend is not None and trend.group(1).startswith("Hemoglobin, 2 results over the past year")
    assert "(this result)" in page


def test_a_lab_page_costs_one_query_more_for_its_trend(cast, sign_in, django_assert_max_num_queries):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    lab = RegistryEntry.objects.filter(patient=maria, kind="lab_result", title="Hemoglobin").first()
    allergy = RegistryEntry.objects.filter(patient=maria, kind="allergy").first()
    assert lab is not None and allergy is not None
    park.get(f"/patients/{maria.uuid}/entries/{allergy.uuid}/")  # the session's first request costs more
    with CaptureQueriesContext(connection) as without_trend:
        assert park.get(f"/patients/{maria.uuid}/entries/{allergy.uuid}/").status_code == 200
    with django_assert_max_num_queries(len(without_trend) + 1):
        assert park.get(f"/patients/{maria.uuid}/entries/{lab.uuid}/").status_code == 200


def test_entry_sections_keep_the_form_order_and_fields_no_longer_on_the_form():
    sections = entry_sections(
        "medication",
        {"frequency": "daily", "name": "Metformin", "dose": "500 mg", "medication_status": "active", "old": "x"},
        title="Metformin",
    )
    assert sections == [("", [("Dose", "500 mg"), ("Frequency", "daily"), ("Status", "Active"), ("Old", "x")])]
