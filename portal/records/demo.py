"""Demo clinical data: Maria Alvarez's shared record, and lighter records for the rest.

All invented. Written through the same services a clinician uses, in each author's
own schema. Idempotent: a patient who already has items at an organization is skipped.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django_tenants.utils import schema_context

from portal.records.models import ClinicalItem
from portal.records.services import item_create

if TYPE_CHECKING:
    from portal.demo.cast import Cast
    from portal.patients.models import NetworkPatient


def _day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def _items(
    cast: Cast, org_slug: str, author_key: str, patient: NetworkPatient, items: list[tuple[str, dict[str, Any]]]
) -> None:
    organization = cast.organizations[org_slug]
    with schema_context(organization.schema_name):
        if ClinicalItem.objects.filter(patient=patient).exists():
            return
        for kind, values in items:
            item_create(
                user=cast.users[author_key],
                organization=organization,
                patient=patient,
                kind=kind,
                values=values,
                publish=not values.pop("_draft", False),
            )


def _cbc(days_ago: int, hgb: str, wbc: str, plt: str, anc: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "lab_result",
            {
                "effective_date": _day(days_ago),
                "test": "Hemoglobin",
                "loinc": "718-7",
                "panel": "CBC",
                "value": hgb,
                "unit": "g/dL",
                "reference_low": "12.0",
                "reference_high": "15.5",
            },
        ),
        (
            "lab_result",
            {
                "effective_date": _day(days_ago),
                "test": "White blood cells",
                "loinc": "6690-2",
                "panel": "CBC",
                "value": wbc,
                "unit": "10^3/uL",
                "reference_low": "4.0",
                "reference_high": "11.0",
            },
        ),
        (
            "lab_result",
            {
                "effective_date": _day(days_ago),
                "test": "Platelets",
                "loinc": "777-3",
                "panel": "CBC",
                "value": plt,
                "unit": "10^3/uL",
                "reference_low": "150",
                "reference_high": "400",
            },
        ),
        (
            "lab_result",
            {
                "effective_date": _day(days_ago),
                "test": "Absolute neutrophil count",
                "loinc": "751-8",
                "panel": "CBC",
                "value": anc,
                "unit": "10^3/uL",
                "reference_low": "1.5",
                "reference_high": "8.0",
            },
        ),
    ]


def seed(cast: Cast) -> None:
    seed_maria(cast)
    seed_panel(cast)


def seed_maria(cast: Cast) -> None:
    """Maria Alvarez's record at Northfield (oncology) and Maple (primary care)."""
    maria = cast.patients["maria"]
    _items(
        cast,
        "northfield",
        "okafor",
        maria,
        [
            (
                "pathology_report",
                {
                    "effective_date": _day(170),
                    "study": "Core needle biopsy, left breast 2 o'clock",
                    "findings": "Invasive ductal carcinoma, Nottingham grade 2. ER 95% strong, PR 60%, HER2 IHC 1+ (negative). Ki-67 18%.",
                    "impression": "Invasive ductal carcinoma, grade 2, ER+/PR+/HER2-.",
                },
            ),
            (
                "imaging_report",
                {
                    "effective_date": _day(165),
                    "study": "Bilateral breast MRI",
                    "findings": "2.4 cm enhancing mass, left breast 2 o'clock. One enlarged left axillary node. Right breast unremarkable.",
                    "impression": "Known left breast carcinoma, 2.4 cm; single suspicious left axillary node.",
                },
            ),
            (
                "cancer_diagnosis",
                {
                    "effective_date": _day(160),
                    "condition": "Invasive ductal carcinoma of left breast",
                    "icd10": "C50.212",
                    "role": "primary",
                    "histology": "Invasive ductal carcinoma, grade 2",
                    "stage_t": "2",
                    "stage_n": "1",
                    "stage_m": "0",
                    "stage_group": "IIB",
                    "staging_date": _day(160),
                    "er": "positive",
                    "pr": "positive",
                    "her2": "negative",
                    "other_markers": "Ki-67 18%",
                    "ecog": "1",
                    "disease_status": "responding",
                },
            ),
            (
                "treatment",
                {
                    "effective_date": _day(140),
                    "modality": "chemotherapy",
                    "regimen": "AC-T (dose-dense)",
                    "agents": "doxorubicin, cyclophosphamide, paclitaxel",
                    "intent": "neoadjuvant",
                    "treatment_status": "active",
                },
            ),
            (
                "note",
                {
                    "effective_date": _day(30),
                    "note_type": "progress",
                    "subject": "Cycle 6 visit",
                    "text": "Tolerating paclitaxel. Grade 1 neuropathy in fingertips. Counts adequate. Continue weekly paclitaxel; CBC twice weekly at Maple between visits.",
                },
            ),
            (
                "discharge",
                {
                    "effective_date": _day(48),
                    "discharge_date": _day(45),
                    "reason": "Neutropenic fever after cycle 4",
                    "diagnosis": "Febrile neutropenia, resolved",
                    "instructions": "Take temperature twice daily. Call the oncology line for 38.0 °C or higher. Finish levofloxacin. CBC in 3 days at Maple Family Medicine.",
                    "follow_up": "Dr. Okafor in 1 week; Dr. Park for CBC in 3 days",
                },
            ),
            (
                "medication",
                {
                    "effective_date": _day(140),
                    "name": "Ondansetron",
                    "dose": "8 mg",
                    "route": "oral",
                    "frequency": "every 8 hours as needed",
                    "medication_status": "active",
                },
            ),
            (
                "allergy",
                {"effective_date": _day(160), "substance": "Penicillin", "reaction": "Hives", "severity": "moderate"},
            ),
            *_cbc(20, "10.9", "3.2", "168", "1.4"),
            *_cbc(6, "11.2", "4.1", "190", "2.2"),
        ],
    )
    _items(
        cast,
        "maple",
        "park",
        maria,
        [
            (
                "problem",
                {
                    "effective_date": _day(2400),
                    "name": "Essential hypertension",
                    "icd10": "I10",
                    "problem_status": "active",
                },
            ),
            (
                "problem",
                {
                    "effective_date": _day(1800),
                    "name": "Type 2 diabetes mellitus",
                    "icd10": "E11.9",
                    "problem_status": "active",
                },
            ),
            (
                "medication",
                {
                    "effective_date": _day(1800),
                    "name": "Metformin",
                    "dose": "500 mg",
                    "route": "oral",
                    "frequency": "twice daily",
                    "medication_status": "active",
                },
            ),
            (
                "medication",
                {
                    "effective_date": _day(2400),
                    "name": "Lisinopril",
                    "dose": "10 mg",
                    "route": "oral",
                    "frequency": "once daily",
                    "medication_status": "active",
                },
            ),
            (
                "imaging_report",
                {
                    "effective_date": _day(200),
                    "study": "Screening mammogram, bilateral",
                    "findings": "New irregular mass, left breast upper outer quadrant. BI-RADS 4.",
                    "impression": "Suspicious left breast mass; biopsy recommended. Referred to Northfield.",
                },
            ),
            (
                "lab_result",
                {
                    "effective_date": _day(90),
                    "test": "Hemoglobin A1c",
                    "loinc": "4548-4",
                    "value": "7.4",
                    "unit": "%",
                    "reference_high": "5.6",
                },
            ),
            (
                "lab_result",
                {
                    "effective_date": _day(3),
                    "test": "Absolute neutrophil count",
                    "loinc": "751-8",
                    "panel": "CBC",
                    "value": "2.6",
                    "unit": "10^3/uL",
                    "reference_low": "1.5",
                    "reference_high": "8.0",
                },
            ),
            (
                "note",
                {
                    "effective_date": _day(200),
                    "note_type": "encounter",
                    "subject": "Annual visit",
                    "text": "BP 138/84. A1c rising. Mammogram ordered; screening colonoscopy up to date (2023).",
                },
            ),
        ],
    )


def seed_panel(cast: Cast) -> None:
    """Lighter records for the rest of the panel, so every chart shows something."""
    rng = random.Random(7)
    diagnoses = [
        ("Diffuse large B-cell lymphoma", "C83.30", "III", "R-CHOP"),
        ("Adenocarcinoma of sigmoid colon", "C18.7", "IIIA", "FOLFOX"),
        ("Non-small cell lung cancer, adenocarcinoma", "C34.11", "IB", "Lobectomy"),
        ("Prostate adenocarcinoma", "C61", "II", "External beam radiation"),
    ]
    oncologist = {"northfield": "okafor", "lakeside": "ortega", "stbrendans": "brooks"}
    pcp = {"maple": "park", "cedarvalley": "chen"}
    for name, patient in cast.patients.items():
        if name == "maria":
            continue
        slugs = set(patient.identifiers.values_list("organization__slug", flat=True))
        onc = next((s for s in oncologist if s in slugs), None)
        primary = next((s for s in pcp if s in slugs), None)
        condition, icd, stage, regimen = rng.choice(diagnoses)
        if onc:
            _items(
                cast,
                onc,
                oncologist[onc],
                patient,
                [
                    (
                        "cancer_diagnosis",
                        {
                            "effective_date": _day(rng.randint(60, 400)),
                            "condition": condition,
                            "icd10": icd,
                            "role": "primary",
                            "stage_group": stage,
                            "ecog": str(rng.randint(0, 2)),
                            "disease_status": rng.choice(["responding", "stable", "no_evidence"]),
                        },
                    ),
                    (
                        "treatment",
                        {
                            "effective_date": _day(rng.randint(20, 59)),
                            "modality": "chemotherapy" if "R-" in regimen or "FOL" in regimen else "surgery",
                            "regimen": regimen,
                            "intent": "curative",
                            "treatment_status": "active",
                        },
                    ),
                    *_cbc(
                        rng.randint(2, 40),
                        f"{rng.uniform(9.5, 14):.1f}",
                        f"{rng.uniform(2.5, 9):.1f}",
                        str(rng.randint(110, 320)),
                        f"{rng.uniform(1.0, 5):.1f}",
                    ),
                ],
            )
        if primary:
            _items(
                cast,
                primary,
                pcp[primary],
                patient,
                [
                    (
                        "problem",
                        {
                            "effective_date": _day(rng.randint(400, 3000)),
                            "name": rng.choice(
                                ["Hyperlipidemia", "Hypothyroidism", "Osteoarthritis of knee", "Asthma"]
                            ),
                            "problem_status": "active",
                        },
                    ),
                    (
                        "medication",
                        {
                            "effective_date": _day(rng.randint(100, 1500)),
                            "name": rng.choice(["Atorvastatin", "Levothyroxine", "Albuterol inhaler"]),
                            "dose": rng.choice(["20 mg", "50 mcg", "2 puffs"]),
                            "frequency": "daily",
                            "medication_status": "active",
                        },
                    ),
                ],
            )
