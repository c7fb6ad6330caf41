"""Set up a tumor board of an organization, or add members to one (idempotent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from portal.accounts.models import User
from portal.boards.models import WEEKDAYS, Board, BoardMember
from portal.boards.services import board_create, board_member_add
from tenants.models import Organization

DAYS = {label.lower(): value for value, label in WEEKDAYS}


def _errors(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = (
        "Create a tumor board of an organization (name, coordinator, schedule, quorum, cut-off) "
        "if it does not exist, and seat members from any organization of the network. Running it "
        "again changes nothing but the members it adds. Deputies are named by the coordinator on "
        "the board's page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="The board organization's slug, e.g. northfield")
        parser.add_argument("name", help='e.g. "Thoracic tumor board"')
        parser.add_argument("--coordinator", required=True, help="The coordinator's email (a navigator there)")
        parser.add_argument("--sites", default="", help="Disease sites, comma-separated")
        parser.add_argument("--weekday", default="tuesday", choices=sorted(DAYS), help="The day it meets")
        parser.add_argument("--time", default="07:00", help="When it meets, HH:MM in its time zone")
        parser.add_argument("--time-zone", default="", help="e.g. America/Chicago (default: the network's)")
        parser.add_argument("--video-link", default="")
        parser.add_argument("--quorum", default=None, help="Specialties a quorum needs, comma-separated")
        parser.add_argument("--cutoff-hours", type=int, default=48)
        parser.add_argument(
            "--member",
            action="append",
            default=[],
            metavar="EMAIL:ORGANIZATION:SPECIALTY",
            help="Seat a member, e.g. hannah.brooks@stbrendans.example:stbrendans:surgery (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).exclude(kind="network").first()
        if organization is None:
            raise CommandError("No such organization.")
        try:
            meeting_time = dt.time.fromisoformat(options["time"])
        except ValueError as error:
            raise CommandError("Give --time as HH:MM.") from error
        seats = []
        for value in options["member"]:
            parts = value.split(":")
            if len(parts) != 3:
                raise CommandError(f"Give --member as EMAIL:ORGANIZATION:SPECIALTY, not {value!r}.")
            email, slug, specialty = (part.strip() for part in parts)
            user = User.objects.filter(email=email.lower()).first()
            member_organization = Organization.objects.filter(slug=slug).exclude(kind="network").first()
            if user is None or member_organization is None:
                raise CommandError(f"No such person or organization: {value!r}.")
            seats.append((user, member_organization, specialty))
        with transaction.atomic():
            board = Board.objects.filter(organization=organization, name=options["name"].strip()).first()
            try:
                if board is None:
                    coordinator = User.objects.filter(email=options["coordinator"].strip().lower()).first()
                    if coordinator is None:
                        raise CommandError("No such coordinator.")
                    quorum = options["quorum"]
                    board = board_create(
                        organization=organization,
                        name=options["name"],
                        coordinator=coordinator,
                        disease_sites=[site for site in options["sites"].split(",") if site.strip()],
                        weekday=DAYS[options["weekday"]],
                        meeting_time=meeting_time,
                        time_zone=options["time_zone"],
                        video_link=options["video_link"],
                        quorum_specialties=[q.strip() for q in quorum.split(",") if q.strip()] if quorum else None,
                        cutoff_hours=options["cutoff_hours"],
                    )
                    self.stdout.write(f"Created {board.name} ({board.schedule_label}).")
                for user, member_organization, specialty in seats:
                    if BoardMember.objects.filter(board=board, user=user).exists():
                        continue
                    board_member_add(board=board, user=user, organization=member_organization, specialty=specialty)
                    self.stdout.write(f"Seated {user.email} for {member_organization.slug} ({specialty}).")
            except ValidationError as error:
                raise CommandError(_errors(error)) from error
