"""Demo data of tumor boards: Northfield's breast board, with members from Northfield and
St. Brendan's, and a case from Lakeside on next Tuesday's published agenda. Idempotent:
the board, its people and the case are looked up before they are made."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tenants.utils import schema_context

from portal.accounts.roles import Role
from portal.boards.models import Board, BoardMember, Case, Presentation, Specialty
from portal.boards.services import (
    agenda_publish,
    board_create,
    board_member_add,
    case_schedule,
    case_submit,
    next_open_meeting,
)
from portal.patients.models import CareRelationship, RegistryEntry

BOARD_NAME = "Breast tumor board"
VIDEO_LINK = "https://video.northfield.example/breast-board"
# Board-only people of the demo (not in the test cast): key, email, name, organization, role, title, specialty.
BOARD_PEOPLE = [
    ("reyes", "samuel.reyes@northfield.example", "Samuel Reyes", "northfield", Role.ONCOLOGIST,
     "Radiation oncology", Specialty.RADIATION_ONCOLOGY),
    ("patel", "anika.patel@northfield.example", "Anika Patel", "northfield", Role.ONCOLOGIST,
     "Breast pathology", Specialty.PATHOLOGY),
    ("kim", "jonah.kim@stbrendans.example", "Jonah Kim", "stbrendans", Role.RADIOLOGIST,
     "Breast imaging", Specialty.RADIOLOGY),
]  # fmt: skip


def _person(cast: Any, key: str, email: str, name: str, slug: str, role: str, title: str) -> Any:
    from portal.accounts.demo import demo_user_ready
    from portal.accounts.models import Membership, User
    from portal.accounts.roles import MembershipStatus
    from portal.demo.cast import DEMO_PASSWORD

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, DEMO_PASSWORD, full_name=name, credentials="MD", terms_accepted_version=""
        )
    demo_user_ready(user=user)
    Membership.objects.get_or_create(
        user=user,
        organization=cast.organizations[slug],
        defaults={"role": role, "title": title, "status": MembershipStatus.ACTIVE, "last_attested_at": timezone.now()},
    )
    return user


def board_ensure(cast: Any) -> Board:
    northfield = cast.organizations["northfield"]
    board = Board.objects.filter(organization=northfield, name=BOARD_NAME).first()
    if board is None:
        board = board_create(
            organization=northfield,
            name=BOARD_NAME,
            coordinator=cast.users["navarro"],
            disease_sites=["Breast"],
            weekday=1,
            meeting_time=dt.time(7, 0),
            video_link=VIDEO_LINK,
        )
    seats = [
        (cast.users["okafor"], "northfield", Specialty.MEDICAL_ONCOLOGY),
        (cast.users["brooks"], "stbrendans", Specialty.SURGERY),
    ]
    for key, email, name, slug, role, title, specialty in BOARD_PEOPLE:
        seats.append((_person(cast, key, email, name, slug, role, title), slug, specialty))
    for user, slug, specialty in seats:
        if not BoardMember.objects.filter(board=board, user=user).exists():
            board_member_add(board=board, user=user, organization=cast.organizations[slug], specialty=specialty)
    return board


def _lakeside_patient(cast: Any) -> Any:
    lakeside = cast.organizations["lakeside"]
    relationship = (
        CareRelationship.objects.filter(organization=lakeside, kind="care_team", patient__sex="female")
        .select_related("patient")
        .order_by("patient__family_name", "patient__given_name")
        .first()
    )
    return relationship.patient if relationship else None


def breast_record_ensure(cast: Any, patient: Any) -> list[RegistryEntry]:
    """What Lakeside has published for a board: a breast cancer diagnosis with ECOG, the
    core biopsy's pathology and the staging imaging (written once, in Lakeside's schema)."""
    from portal.records.services import item_create

    lakeside = cast.organizations["lakeside"]
    kinds = ["cancer_diagnosis", "pathology_report", "imaging_report"]
    existing = RegistryEntry.objects.filter(
        patient=patient, organization=lakeside, kind__in=kinds, title__icontains="breast"
    )
    if existing.count() < len(kinds):
        today = timezone.localdate()
        items = [
            (
                "cancer_diagnosis",
                {
                    "effective_date": (today - dt.timedelta(days=12)).isoformat(),
                    "condition": "Invasive ductal carcinoma of left breast",
                    "icd10": "C50.412",
                    "role": "primary",
                    "histology": "Invasive ductal carcinoma, grade 2",
                    "stage_t": "2",
                    "stage_n": "1",
                    "stage_m": "0",
                    "stage_group": "IIB",
                    "er": "positive",
                    "pr": "positive",
                    "her2": "negative",
                    "ecog": "0",
                    "disease_status": "stable",
                },
            ),
            (
                "pathology_report",
                {
                    "effective_date": (today - dt.timedelta(days=14)).isoformat(),
                    "study": "Core biopsy, left breast",
                    "findings": "Invasive ductal carcinoma, Nottingham grade 2. ER 95%, PR 60%, HER2 1+.",
                    "impression": "Invasive ductal carcinoma of left breast, grade 2; ER/PR positive, HER2 negative.",
                },
            ),
            (
                "imaging_report",
                {
                    "effective_date": (today - dt.timedelta(days=10)).isoformat(),
                    "study": "Staging CT chest/abdomen/pelvis and breast MRI",
                    "findings": "2.8 cm left breast mass; one enlarged left axillary node; no distant disease.",
                    "impression": "Left breast cancer cT2 cN1; no evidence of metastatic disease.",
                },
            ),
        ]
        with schema_context(lakeside.schema_name):
            for kind, values in items:
                if not RegistryEntry.objects.filter(
                    patient=patient, organization=lakeside, kind=kind, title__icontains="breast"
                ).exists():
                    item_create(
                        user=cast.users["ortega"],
                        organization=lakeside,
                        patient=patient,
                        kind=kind,
                        values=values,
                        publish=True,
                    )
    return list(
        RegistryEntry.objects.filter(patient=patient, organization=lakeside, kind__in=kinds, title__icontains="breast")
    )


def seed(cast: Any) -> None:
    board = board_ensure(cast)
    patient = _lakeside_patient(cast)
    if patient is None or Case.objects.filter(board=board, patient=patient).exists():
        return
    lakeside = cast.organizations["lakeside"]
    entries = breast_record_ensure(cast, patient)
    case = case_submit(
        user=cast.users["ortega"],
        organization=lakeside,
        board=board,
        patient=patient,
        question="Left breast IDC cT2 cN1, ER/PR positive, HER2 negative: neoadjuvant systemic therapy or surgery first?",
        presentation=Presentation.PROSPECTIVE,
        entries=entries,
    )
    meeting = next_open_meeting(board=board)
    if meeting is None:
        return
    northfield, navarro = cast.organizations["northfield"], cast.users["navarro"]
    case_schedule(case=case, meeting=meeting, user=navarro, organization=northfield)
    agenda_publish(meeting=meeting, user=navarro, organization=northfield)
