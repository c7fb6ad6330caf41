"""What each kind of clinical item holds: its form (validation), title, code and the
shareable summary that its registry entry carries (mCODE-shaped for oncology)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from portal.forms import Form
from portal.records.models import ItemKind

RESPONSIBLE = [("oncology", "Oncology"), ("primary_care", "Primary care")]


class ItemForm(Form):
    effective_date = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}), help_text="When it happened clinically."
    )

    def clean_effective_date(self) -> dt.date:
        value = self.cleaned_data["effective_date"]
        if value > timezone.localdate() + dt.timedelta(days=1):
            raise forms.ValidationError("The date cannot be in the future.")
        return value


class CancerDiagnosisForm(ItemForm):
    condition = forms.CharField(
        label="Cancer", max_length=120, help_text="e.g. Invasive ductal carcinoma of left breast"
    )
    icd10 = forms.CharField(label="ICD-10 code", max_length=10, required=False)
    role = forms.ChoiceField(
        label="Primary or secondary", choices=[("primary", "Primary"), ("secondary", "Secondary (metastatic)")]
    )
    histology = forms.CharField(max_length=120, required=False)
    stage_t = forms.CharField(label="T", max_length=8, required=False)
    stage_n = forms.CharField(label="N", max_length=8, required=False)
    stage_m = forms.CharField(label="M", max_length=8, required=False)
    stage_group = forms.CharField(label="Stage group", max_length=10, required=False, help_text="e.g. IIA")
    staging_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    er = forms.ChoiceField(
        label="ER", choices=[("", "—"), ("positive", "Positive"), ("negative", "Negative")], required=False
    )
    pr = forms.ChoiceField(
        label="PR", choices=[("", "—"), ("positive", "Positive"), ("negative", "Negative")], required=False
    )
    her2 = forms.ChoiceField(
        label="HER2",
        choices=[("", "—"), ("positive", "Positive"), ("negative", "Negative"), ("equivocal", "Equivocal")],
        required=False,
    )
    other_markers = forms.CharField(label="Other tumor markers", max_length=200, required=False)
    ecog = forms.TypedChoiceField(
        label="ECOG performance status",
        coerce=int,
        choices=[("", "—")] + [(i, str(i)) for i in range(5)],
        required=False,
        empty_value=None,
    )
    disease_status = forms.ChoiceField(
        choices=[
            ("", "—"),
            ("no_evidence", "No evidence of disease"),
            ("responding", "Responding"),
            ("stable", "Stable"),
            ("progressing", "Progressing"),
        ],
        required=False,
    )


class TreatmentForm(ItemForm):
    modality = forms.ChoiceField(
        choices=[
            ("chemotherapy", "Chemotherapy"),
            ("immunotherapy", "Immunotherapy"),
            ("hormonal", "Hormonal therapy"),
            ("targeted", "Targeted therapy"),
            ("surgery", "Surgery"),
            ("radiation", "Radiation"),
        ]
    )
    regimen = forms.CharField(
        label="Regimen or procedure", max_length=120, help_text="e.g. AC-T, lumpectomy, whole-breast RT"
    )
    agents = forms.CharField(max_length=200, required=False, help_text="Comma-separated")
    intent = forms.ChoiceField(
        choices=[
            ("curative", "Curative"),
            ("adjuvant", "Adjuvant"),
            ("neoadjuvant", "Neoadjuvant"),
            ("palliative", "Palliative"),
        ]
    )
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    treatment_status = forms.ChoiceField(
        label="Status",
        choices=[("planned", "Planned"), ("active", "Active"), ("completed", "Completed"), ("stopped", "Stopped")],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("end_date") and data.get("effective_date") and data["end_date"] < data["effective_date"]:
            self.add_error("end_date", "The end date is before the start date.")
        return data


class ProblemForm(ItemForm):
    name = forms.CharField(label="Problem", max_length=120)
    icd10 = forms.CharField(label="ICD-10 code", max_length=10, required=False)
    problem_status = forms.ChoiceField(label="Status", choices=[("active", "Active"), ("resolved", "Resolved")])


class MedicationForm(ItemForm):
    name = forms.CharField(label="Medication", max_length=120)
    dose = forms.CharField(max_length=60, required=False, help_text="e.g. 500 mg")
    route = forms.CharField(max_length=30, required=False, initial="oral")
    frequency = forms.CharField(max_length=60, required=False, help_text="e.g. twice daily")
    medication_status = forms.ChoiceField(label="Status", choices=[("active", "Active"), ("stopped", "Stopped")])


class AllergyForm(ItemForm):
    substance = forms.CharField(max_length=120)
    reaction = forms.CharField(max_length=120, required=False)
    severity = forms.ChoiceField(choices=[("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")])


LOINC_PATTERN = re.compile(r"^(\d{1,7})-(\d)$")


def loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit of the part before the hyphen (``718`` → 7).

    From the right, every other digit starting with the rightmost is doubled (the digits
    of a product are added: 14 counts 1 + 4); the check digit brings the sum to a
    multiple of 10.
    """
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def loinc_is_valid(code: str) -> bool:
    match = LOINC_PATTERN.match(code)
    return match is not None and loinc_check_digit(match.group(1)) == int(match.group(2))


# Lab values that can be below zero. Everything else (concentrations, counts, ratios,
# percentages, times) cannot, so a negative value is a typing error and is refused.
NEGATIVE_ALLOWED_LOINC = frozenset(
    {
        "11555-0",  # Base excess in Blood by calculation
        "1925-7",  # Base excess in Arterial blood by calculation
    }
)
NEGATIVE_ALLOWED_TESTS = ("base excess", "t-score", "z-score")
NEGATIVE_ALLOWED_UNITS = frozenset({"sd"})  # standard deviations: T- and Z-scores


def lab_value_may_be_negative(*, test: str, loinc: str, unit: str) -> bool:
    name = " ".join(test.lower().replace("_", " ").split())
    return (
        loinc in NEGATIVE_ALLOWED_LOINC
        or any(words in name for words in NEGATIVE_ALLOWED_TESTS)
        or unit.strip().lower() in NEGATIVE_ALLOWED_UNITS
    )


class LabResultForm(ItemForm):
    test = forms.CharField(max_length=120, help_text="e.g. Hemoglobin")
    loinc = forms.CharField(
        label="LOINC code",
        max_length=12,
        required=False,
        help_text="e.g. 718-7 (hemoglobin): digits, a hyphen and the check digit.",
    )
    panel = forms.CharField(max_length=60, required=False, help_text="e.g. CBC")
    value = forms.DecimalField(
        max_digits=12,
        decimal_places=4,
        help_text="Negative values are refused except where a test can be below zero: "
        "base excess, T-scores and Z-scores (unit SD).",
    )
    unit = forms.CharField(max_length=20)
    reference_low = forms.DecimalField(max_digits=12, decimal_places=4, required=False)
    reference_high = forms.DecimalField(max_digits=12, decimal_places=4, required=False)

    def clean_loinc(self) -> str:
        code = self.cleaned_data["loinc"].strip().upper()
        if code and not LOINC_PATTERN.match(code):
            raise forms.ValidationError(
                "A LOINC code is 1 to 7 digits, a hyphen and a check digit, e.g. 718-7.", code="loinc_format"
            )
        if code and not loinc_is_valid(code):
            raise forms.ValidationError(
                f"{code} is not a LOINC code: its check digit is wrong. Check the code for typos.",
                code="loinc_check_digit",
            )
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("reference_low"), data.get("reference_high")
        if low is not None and high is not None and low > high:
            self.add_error("reference_high", "The upper limit is below the lower limit.")
        if not lab_value_may_be_negative(
            test=data.get("test") or "", loinc=data.get("loinc") or "", unit=data.get("unit") or ""
        ):
            for field in ("value", "reference_low", "reference_high"):
                if data.get(field) is not None and data[field] < 0:
                    self.add_error(
                        field,
                        forms.ValidationError(
                            "This test cannot be negative. Only base excess, T-scores and Z-scores may be below zero.",
                            code="negative",
                        ),
                    )
        return data


class ReportForm(ItemForm):
    study = forms.CharField(max_length=120, help_text="e.g. CT chest/abdomen/pelvis with contrast")
    findings = forms.CharField(widget=forms.Textarea, max_length=8000)
    impression = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class NoteForm(ItemForm):
    note_type = forms.ChoiceField(
        label="Type",
        choices=[
            ("progress", "Progress note"),
            ("encounter", "Encounter"),
            ("consult", "Consult"),
            ("telephone", "Telephone"),
        ],
    )
    subject = forms.CharField(max_length=150)
    text = forms.CharField(widget=forms.Textarea, max_length=20000)


class DischargeForm(ItemForm):
    discharge_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Reason for admission", max_length=200)
    diagnosis = forms.CharField(label="Discharge diagnosis", max_length=200)
    instructions = forms.CharField(label="Discharge instructions", widget=forms.Textarea, max_length=8000)
    follow_up = forms.CharField(label="Follow-up", max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("discharge_date")
            and data.get("effective_date")
            and data["discharge_date"] < data["effective_date"]
        ):
            self.add_error("discharge_date", "Discharge is before admission.")
        return data


class DocumentForm(ItemForm):
    description = forms.CharField(max_length=150)
    file = forms.FileField(help_text="PDF, PNG or JPEG, at most 10 MB")


class TumorBoardRecommendationForm(ItemForm):
    """A tumor board's finalised recommendation (written by portal.boards, never by hand)."""

    board = forms.CharField(max_length=120)
    board_organization = forms.CharField(label="Board of", max_length=200)
    question = forms.CharField(label="Question for the board", widget=forms.Textarea, max_length=4000)
    presentation = forms.ChoiceField(
        choices=[("prospective", "Prospective"), ("retrospective", "Retrospective")],
    )
    category = forms.ChoiceField(
        label="Recommendation",
        choices=[
            ("surgery", "Surgery"),
            ("systemic_therapy", "Systemic therapy"),
            ("radiation", "Radiation"),
            ("surveillance", "Surveillance"),
            ("further_workup", "Further work-up"),
            ("palliative_care", "Palliative care"),
        ],
    )
    recommendation = forms.CharField(label="Treatment recommendation", widget=forms.Textarea, max_length=8000)
    evidence = forms.ChoiceField(
        label="NCCN evidence category",
        choices=[("1", "Category 1"), ("2A", "Category 2A"), ("2B", "Category 2B"), ("3", "Category 3")],
    )
    clinical_trial = forms.CharField(label="Clinical trial", max_length=200, help_text="A trial, or None suitable")
    genetic_counselling = forms.ChoiceField(
        label="Genetic counselling referral", choices=[("yes", "Yes"), ("no", "No")]
    )
    dissent = forms.CharField(max_length=4000, required=False)
    quorum = forms.ChoiceField(label="Quorum", choices=[("met", "Met"), ("not_met", "Not met")])
    attendees = forms.CharField(max_length=2000, required=False)


def _d(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else ("" if value is None else str(value))


def _num(value: Any) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


@dataclass(frozen=True)
class KindSpec:
    form: type[ItemForm]
    title: Any
    code_field: str | None
    summary: Any


def _lab_flag(data: dict[str, Any]) -> str:
    value = Decimal(data["value"])
    low, high = data.get("reference_low"), data.get("reference_high")
    if low not in (None, "") and value < Decimal(low):
        return "low"
    if high not in (None, "") and value > Decimal(high):
        return "high"
    return "normal" if (low not in (None, "") or high not in (None, "")) else ""


def _diagnosis_summary(d: dict[str, Any]) -> dict[str, Any]:
    tnm = " ".join(f"{p}{d[k]}" for p, k in (("T", "stage_t"), ("N", "stage_n"), ("M", "stage_m")) if d.get(k))
    markers = ", ".join(
        f"{name} {d[key]}" for name, key in (("ER", "er"), ("PR", "pr"), ("HER2", "her2")) if d.get(key)
    )
    if d.get("other_markers"):
        markers = ", ".join(filter(None, [markers, d["other_markers"]]))
    return {
        "role": d.get("role", ""),
        "histology": d.get("histology", ""),
        "stage": d.get("stage_group", ""),
        "tnm": tnm,
        "staging_date": d.get("staging_date", ""),
        "markers": markers,
        "ecog": d.get("ecog"),
        "disease_status": d.get("disease_status", ""),
    }


SPECS: dict[str, KindSpec] = {
    ItemKind.CANCER_DIAGNOSIS: KindSpec(CancerDiagnosisForm, lambda d: d["condition"], "icd10", _diagnosis_summary),
    ItemKind.TREATMENT: KindSpec(
        TreatmentForm,
        lambda d: d["regimen"],
        None,
        lambda d: {
            "modality": d["modality"],
            "intent": d["intent"],
            "agents": d.get("agents", ""),
            "status": d["treatment_status"],
            "end_date": d.get("end_date", ""),
        },
    ),
    ItemKind.PROBLEM: KindSpec(ProblemForm, lambda d: d["name"], "icd10", lambda d: {"status": d["problem_status"]}),
    ItemKind.MEDICATION: KindSpec(
        MedicationForm,
        lambda d: d["name"],
        None,
        lambda d: {
            "dose": d.get("dose", ""),
            "route": d.get("route", ""),
            "frequency": d.get("frequency", ""),
            "status": d["medication_status"],
        },
    ),
    ItemKind.ALLERGY: KindSpec(
        AllergyForm,
        lambda d: d["substance"],
        None,
        lambda d: {"reaction": d.get("reaction", ""), "severity": d["severity"]},
    ),
    ItemKind.LAB_RESULT: KindSpec(
        LabResultForm,
        lambda d: d["test"],
        "loinc",
        lambda d: {
            "value": d["value"],
            "unit": d["unit"],
            "panel": d.get("panel", ""),
            "reference_low": d.get("reference_low"),
            "reference_high": d.get("reference_high"),
            "flag": _lab_flag(d),
        },
    ),
    ItemKind.IMAGING_REPORT: KindSpec(
        ReportForm, lambda d: d["study"], None, lambda d: {"impression": d["impression"][:300]}
    ),
    ItemKind.PATHOLOGY_REPORT: KindSpec(
        ReportForm, lambda d: d["study"], None, lambda d: {"impression": d["impression"][:300]}
    ),
    ItemKind.NOTE: KindSpec(NoteForm, lambda d: d["subject"], None, lambda d: {"type": d["note_type"]}),
    ItemKind.CONSULT_NOTE: KindSpec(NoteForm, lambda d: d["subject"], None, lambda d: {"type": d["note_type"]}),
    ItemKind.DISCHARGE: KindSpec(
        DischargeForm,
        lambda d: f"Discharge: {d['diagnosis']}",
        None,
        lambda d: {"discharge_date": d["discharge_date"], "follow_up": d.get("follow_up", "")},
    ),
    ItemKind.DOCUMENT: KindSpec(DocumentForm, lambda d: d["description"], None, lambda d: {}),
    ItemKind.TUMOR_BOARD_RECOMMENDATION: KindSpec(
        TumorBoardRecommendationForm,
        lambda d: f"{d['board']}: recommendation",
        None,
        lambda d: {
            "category": d["category"],
            "evidence": d["evidence"],
            "trial": d["clinical_trial"],
            "genetic_counselling": d["genetic_counselling"],
            "board_organization": d["board_organization"],
        },
    ),
}


def form_for(kind: str, *args: Any, **kwargs: Any) -> ItemForm:
    if kind not in SPECS:
        raise KeyError(kind)
    return SPECS[kind].form(*args, **kwargs)


def to_data(cleaned: dict[str, Any]) -> dict[str, Any]:
    """Form values → JSON-safe item data (dates as ISO strings, decimals as strings)."""
    data: dict[str, Any] = {}
    for key, value in cleaned.items():
        if key in {"effective_date", "file"}:
            continue
        if isinstance(value, Decimal):
            data[key] = _num(value)
        elif isinstance(value, dt.date):
            data[key] = _d(value)
        else:
            data[key] = value
    return data


def describe(kind: str, data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(title, code, summary) of an item of this kind."""
    spec = SPECS[kind]
    code = str(data.get(spec.code_field) or "") if spec.code_field else ""
    return str(spec.title(data))[:200], code, spec.summary(data)
