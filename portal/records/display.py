"""How an item of the record reads on its page: its filled-in fields, labelled and in the
order of the kind's form (``portal.records.kinds``), grouped into sections."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from portal.records.kinds import form_for
from portal.records.templatetags.record_tags import iso_date

# How an entry's page groups its fields (in the order of the kind's form); fields not named
# here follow in form order under no heading. ``None`` as a field list takes the rest.
ENTRY_SECTIONS: dict[str, list[tuple[str, list[str]]]] = {
    "cancer_diagnosis": [
        ("Diagnosis", ["condition", "icd10", "role", "histology"]),
        ("Staging", ["stage_group", "tnm", "staging_date"]),
        ("Biomarkers", ["er", "pr", "her2", "other_markers"]),
        ("Status", ["ecog", "disease_status"]),
    ],
    "tumor_board_recommendation": [
        ("Board", ["board", "board_organization", "presentation", "question"]),
        ("Recommendation", ["category", "recommendation", "evidence", "clinical_trial", "genetic_counselling"]),
        ("Discussion", ["quorum", "attendees", "dissent"]),
    ],
}
# What the lab page's headline already shows (title, value, unit, range and flag).
ENTRY_HIDDEN = {"lab_result": {"test", "value", "unit", "reference_low", "reference_high"}}


def _entry_value(field: forms.Field, value: Any) -> str:
    """A stored value as the form offered it: the choice's label, dates as "Mon D, YYYY"."""
    if isinstance(field, forms.ChoiceField):
        # Django normalises a ChoiceField's choices to pairs; the stubs type the getter as the setter's input.
        choices = cast("list[tuple[object, str]]", field.choices)
        labels = {str(key): label for key, label in choices}
        return str(labels.get(str(value), value))
    if isinstance(field, forms.DateField):
        return iso_date(value)
    return str(value)


def entry_sections(kind: str, data: dict[str, Any], title: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, [(label, value)]) of an item's filled-in fields, in its form's order, without
    what the page's heading shows (the title); a diagnosis's mCODE staging as one TNM row next
    to the stage group."""
    fields = form_for(kind).fields
    hidden = ENTRY_HIDDEN.get(kind, set()) | {"effective_date", "file"}
    rows: dict[str, tuple[str, str]] = {}
    for name, field in fields.items():
        if name in hidden or data.get(name) in ("", None) or (title and str(data[name]) == title):
            continue
        rows[name] = (str(field.label or name.replace("_", " ").capitalize()), _entry_value(field, data[name]))
    for name, value in data.items():  # values kept from an older form
        if name not in fields and name not in hidden and value not in ("", None):
            rows[name] = (name.replace("_", " ").capitalize(), str(value))
    if kind == "cancer_diagnosis":
        tnm = " ".join(
            f"{prefix}{data[key]}"
            for prefix, key in (("T", "stage_t"), ("N", "stage_n"), ("M", "stage_m"))
            if data.get(key) not in ("", None)
        )
        for key in ("stage_t", "stage_n", "stage_m"):
            rows.pop(key, None)
        if tnm:
            order = list(rows)
            at = order.index("stage_group") + 1 if "stage_group" in order else len(order)
            items = list(rows.items())
            items.insert(at, ("tnm", ("TNM", tnm)))
            rows = dict(items)
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for heading, names in ENTRY_SECTIONS.get(kind, []):
        section = [rows.pop(name) for name in names if name in rows]
        if section:
            sections.append((heading, section))
    if rows:
        sections.append(("Details" if sections else "", list(rows.values())))
    return sections
