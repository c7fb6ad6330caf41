"""Every kind of object about Maria Alvarez, the clinical markers that would betray her, and
a checksum of the rows that no hostile request may change.

The seed gives her record at Northfield and Maple; what it lacks (threads, messages,
attachments, referrals, tasks and their occurrences, hand-offs, notifications and
deliveries, an emergency grant, a match candidate, a document, a draft, invitations) is
created here through the services a clinician or an admin uses, so the data is realistic.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.files import pdf_bytes

# Strings of the objects created here: none of them may reach a hostile actor.
CANARY = "Zephyrine"  # a word no page of the portal uses


@dataclass
class World:
    cast: Any
    ids: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    markers: list[str] = field(default_factory=list)  # clinical detail of Maria at Northfield and Maple
    identity_markers: list[str] = field(default_factory=list)  # her name, birth date and MRNs
    files: list[str] = field(default_factory=list)  # paths of stored files to remove afterwards

    def first(self, kind: str) -> Any:
        return self.ids[kind][0]


def _day(days_ago: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days_ago)


def world_build(cast: Any) -> World:
    from portal.accounts.services import bulk_invitation_create, invitation_create
    from portal.care.models import TaskOccurrence
    from portal.care.services import care_task_create, handoff_send, recurrence_rule, referral_create
    from portal.messaging.attachments import storage_for
    from portal.messaging.models import Attachment, Message
    from portal.messaging.services import Recipient, message_reply, thread_start
    from portal.notifications.models import Delivery, Notification
    from portal.patients.models import (
        EmergencyAccess,
        NetworkPatient,
        PatientIdentifier,
        PatientMatchCandidate,
        RegistryEntry,
    )
    from portal.patients.services import emergency_access_request, patient_register
    from portal.records.models import ClinicalItem, Document
    from portal.records.services import item_create, item_publish

    world = World(cast=cast)
    orgs, users = cast.organizations, cast.users
    maria = cast.patients["maria"]
    northfield, maple, lakeside = orgs["northfield"], orgs["maple"], orgs["lakeside"]

    # The repository: a published PDF document and an unpublished draft at Northfield.
    with schema_context(northfield.schema_name):
        pdf = SimpleUploadedFile(f"{CANARY}-scan.pdf", pdf_bytes(title=CANARY), "application/pdf")
        document = item_create(
            user=users["okafor"],
            organization=northfield,
            patient=maria,
            kind="document",
            values={"effective_date": _day(4).isoformat(), "description": f"{CANARY} outside PET-CT report"},
            files={"file": pdf},
        )
        item_publish(user=users["okafor"], organization=northfield, item=document)
        world.files.extend(d.file.path for d in Document.objects.filter(item=document))
        item_create(
            user=users["okafor"],
            organization=northfield,
            patient=maria,
            kind="note",
            values={
                "effective_date": _day(1).isoformat(),
                "note_type": "progress",
                "subject": f"{CANARY} draft",
                "text": f"{CANARY} unpublished draft",
            },
        )
        world.ids["item"] += [str(i) for i in ClinicalItem.objects.filter(patient=maria).values_list("id", flat=True)]
    with schema_context(maple.schema_name):
        world.ids["item"] += [str(i) for i in ClinicalItem.objects.filter(patient=maria).values_list("id", flat=True)]

    entries = list(RegistryEntry.objects.filter(patient=maria).order_by("organization_id", "kind", "pk"))
    lab = next(e for e in entries if e.kind == "lab_result" and e.organization_id == northfield.pk)
    # The document (its file route), a result, the diagnosis and treatment at Northfield, and
    # an entry of Maple's.
    for kind, organization in (
        ("document", northfield),
        ("lab_result", northfield),
        ("cancer_diagnosis", northfield),
        ("treatment", northfield),
        ("problem", maple),
    ):
        entry = next(e for e in entries if e.kind == kind and e.organization_id == organization.pk)
        world.ids["entry"].append(str(entry.uuid))

    # Messages: a thread about Maria with an attachment, a reply, and a thread to a pool.
    attachment = SimpleUploadedFile(f"{CANARY}-labs.pdf", pdf_bytes(title="labs"), "application/pdf")
    thread = thread_start(
        sender=users["okafor"],
        organization=northfield,
        subject=f"{CANARY} counts after cycle 6",
        patient=maria,
        recipients=[Recipient(organization=maple, user=users["park"])],
        body=f"{CANARY}: please draw a CBC on Thursday.",
        uploads=[attachment],
        entries=[lab],
    )
    message_reply(thread=thread, sender=users["park"], organization=maple, body=f"{CANARY}: drawn, ANC 2.6.")
    pool_thread = thread_start(
        sender=users["park"],
        organization=maple,
        subject=f"{CANARY} neuropathy question",
        patient=maria,
        recipients=[Recipient(organization=northfield)],
        body=f"{CANARY}: fingertip numbness is worse.",
    )
    world.ids["thread"] += [str(thread.uuid), str(pool_thread.uuid)]
    world.ids["message"] += list(Message.objects.filter(thread__in=[thread, pool_thread]).values_list("pk", flat=True))
    for stored in Attachment.objects.filter(message__thread=thread):
        world.ids["attachment"].append(str(stored.uuid))
        world.files.append(storage_for(stored.organization).path(stored.path))

    # Care: a referral, a recurring task with occurrences, a hand-off.
    referral = referral_create(
        user=users["park"],
        organization=maple,
        patient=maria,
        receiving_organization=northfield,
        specialty=f"{CANARY} cardio-oncology consult",
        reason=f"{CANARY}: new ejection fraction drop",
        checklist=["imaging"],
        attachments=[lab],
    )
    world.ids["referral"].append(str(referral.uuid))
    task = care_task_create(
        user=users["okafor"],
        organization=northfield,
        patient=maria,
        owner_organization=maple,
        title=f"{CANARY} CBC with differential",
        instructions=f"{CANARY}: twice weekly after cycle 6",
        recurrence=recurrence_rule(times_per_week=2, weeks=1),
        starts_at=timezone.now(),
    )
    world.ids["task"].append(str(task.uuid))
    world.ids["occurrence"] += list(TaskOccurrence.objects.filter(task=task).values_list("pk", flat=True))
    handoff = handoff_send(
        user=users["okafor"],
        organization=northfield,
        patient=maria,
        to_organization=maple,
        kind="survivorship",
        treatment_summary=f"{CANARY}: neoadjuvant AC-T completed",
        items=[{"section": "surveillance", "text": f"{CANARY} echocardiogram yearly", "responsible": "primary_care"}],
        to_user=users["park"],
    )
    world.ids["handoff"].append(str(handoff.uuid))

    # Tumor boards: Northfield's board (Dr. Okafor and Dr. Brooks of St. Brendan's on it),
    # Maria submitted from Maple, on a published agenda.
    from portal.boards.services import (
        agenda_publish,
        board_create,
        board_member_add,
        case_schedule,
        case_submit,
        next_open_meeting,
    )

    board = board_create(
        organization=northfield, name="Breast tumor board", coordinator=users["navarro"], disease_sites=["Breast"]
    )
    board_member_add(board=board, user=users["okafor"], organization=northfield, specialty="medical_oncology")
    board_member_add(board=board, user=users["brooks"], organization=orgs["stbrendans"], specialty="surgery")
    case = case_submit(
        user=users["park"],
        organization=maple,
        board=board,
        patient=maria,
        question=f"{CANARY}: neoadjuvant therapy or surgery first?",
        presentation="prospective",
        entries=[
            e for e in entries if e.kind in ("pathology_report", "imaging_report", "cancer_diagnosis", "lab_result")
        ][:4],
    )
    meeting = next_open_meeting(board=board)
    assert meeting is not None
    from portal.boards.models import Case

    Case.objects.filter(pk=case.pk).update(checklist={"pathology": True, "staging_imaging": True, "ecog": True})
    case.refresh_from_db()
    case_schedule(case=case, meeting=meeting, user=users["navarro"], organization=northfield)
    agenda_publish(meeting=meeting, user=users["navarro"], organization=northfield)
    # Dr. Okafor, a deputy, records the board's recommendation and finalises it: an entry of
    # Northfield on Maria's record (its FHIR DocumentReference too) and a thread to Dr. Park.
    from portal.boards.services import board_deputy_set, recommendation_finalise, recommendation_record

    board_deputy_set(board=board, deputy=users["okafor"], named=True, user=users["navarro"], organization=northfield)
    recommendation_record(
        case=case,
        user=users["okafor"],
        organization=northfield,
        text=f"{CANARY}: neoadjuvant endocrine therapy, then surgery",
        category="systemic_therapy",
        evidence="2A",
        trial=f"{CANARY}-TRIAL-7",
        genetic_counselling=True,
        dissent=f"{CANARY}: surgery first",
    )
    finalised = recommendation_finalise(case=case, user=users["okafor"], organization=northfield)
    assert finalised.entry is not None
    world.ids["entry"].append(str(finalised.entry.uuid))
    world.ids["board"].append(str(board.uuid))
    world.ids["meeting"].append(str(meeting.uuid))
    world.ids["board_case"].append(str(case.uuid))

    # Break-the-glass by Lakeside's oncologist, and a probable match queued by Lakeside.
    grant = emergency_access_request(
        user=users["ortega"],
        organization=lakeside,
        given_name="Maria",
        family_name="Alvarez",
        date_of_birth=maria.date_of_birth,
        reason=f"{CANARY}: seen in our infusion suite tonight",
    )
    world.ids["emergency"].append(grant.pk)
    registration = patient_register(
        organization=lakeside,
        mrn="LOA-ADV-1",
        given_name="Marla",
        family_name="Alvarez",
        date_of_birth=maria.date_of_birth,
        sex="female",
        registered_by=users["ortega"],
        clinician=users["ortega"],
    )
    assert registration.candidate is not None, "the probable match was not queued"
    world.ids["match"].append(registration.candidate.pk)

    # St. Brendan's registers Maria and asks Northfield and Maple to see what they share.
    from portal.patients.services import access_request_create

    stbrendans = orgs["stbrendans"]
    patient_register(
        organization=stbrendans,
        mrn="SBH-ADV-1",
        given_name="Maria",
        family_name="Alvarez",
        date_of_birth=maria.date_of_birth,
        sex="female",
        registered_by=users["brooks"],
        clinician=users["brooks"],
    )
    asked = access_request_create(
        user=users["brooks"], organization=stbrendans, patient=maria, reason=f"{CANARY}: surgical consult booked"
    )
    world.ids["access_request"].append(str(asked.uuid))

    # Notifications and deliveries of Maria's carers (written by the services above).
    carers = [users[key] for key in ("okafor", "navarro", "park", "northfield_admin", "maple_admin")]
    world.ids["notification"] += list(Notification.objects.filter(recipient__in=carers).values_list("pk", flat=True))
    world.ids["delivery"] += list(
        Delivery.objects.filter(notification__recipient__in=carers).values_list("pk", flat=True)[:4]
    )

    # People and organizations around her: her carers' accounts, Northfield's invitations.
    world.ids["user"] += [users[key].pk for key in ("okafor", "navarro", "park", "northfield_admin")]
    invitation, link = invitation_create(
        organization=northfield, email="new.fellow@northfield.example", role="oncologist", invited_by=users["okafor"]
    )
    world.ids["invitation"].append(str(invitation.uuid))
    # The token is the invitee's secret: a hostile actor tries one of its own making.
    assert link
    world.ids["invitation_token"].append(secrets.token_urlsafe(32))
    with schema_context(northfield.schema_name):
        bulk = bulk_invitation_create(
            organization=northfield,
            csv_text="email,full_name,role,site_admin\nrn.two@northfield.example,Rn Two,nurse_navigator,no\n",
            filename="staff.csv",
            created_by=users["northfield_admin"],
        )
    world.ids["bulk_invitation"].append(str(bulk.uuid))
    # Northfield's API client of the FHIR endpoint (a site admin's registration).
    from tests.fhir.clients import register as api_client_register

    api_client = api_client_register(northfield, users["northfield_admin"], "system/*.read", name="Northfield sync")
    world.ids["api_client"].append(str(api_client.uuid))
    world.ids["organization"] += [northfield.pk, maple.pk]
    world.ids["organization_uuid"] += [str(northfield.uuid), str(maple.uuid)]
    world.ids["patient"].append(str(maria.uuid))
    world.ids["patient_pk"].append(maria.pk)

    _markers(world, maria, entries)
    assert EmergencyAccess.objects.filter(patient=maria).exists()
    assert NetworkPatient.objects.filter(pk=maria.pk).exists()
    assert PatientMatchCandidate.objects.filter(candidate=maria).exists()
    # Northfield, Maple, and St. Brendan's registration (its own entries only).
    assert PatientIdentifier.objects.filter(patient=maria).count() == 3
    return world


# Words a lab or a form shows whoever the patient is: never a marker of Maria.
GENERIC = re.compile(
    r"^(hemoglobin|platelets|white blood cells|absolute neutrophil count|cbc|active|positive|negative|"
    r"primary|responding|oral|daily|moderate|progress|encounter|chemotherapy|neoadjuvant|.{0,5})$",
    re.IGNORECASE,
)


def _markers(world: World, maria: Any, entries: list[Any]) -> None:
    """Her clinical detail: entry titles and codes, summary texts; then the canary."""
    found: set[str] = set()
    for entry in entries:
        found.add(entry.title)
        found.add(entry.code)
        for value in (entry.summary or {}).values():
            if isinstance(value, str):
                found.add(value)
    # Not a marker: what the portal prints for anyone (form labels, help texts and
    # examples), numbers, units and doses.
    from tests.isolation.routes import FORM_FIELDS

    printed = " ".join(f"{f.label} {f.help_text}" for fields in FORM_FIELDS.values() for f in fields.values()).lower()
    found = {
        m.strip()
        for m in found
        if m
        and not GENERIC.match(m.strip())
        and not re.fullmatch(r"[\d.\s-]+(\s?[\w^/%]{1,8})?", m.strip())
        and m.strip().lower() not in printed
    }
    world.markers = sorted(found | {CANARY})
    born = maria.date_of_birth
    world.identity_markers = [
        f"{maria.given_name} {maria.family_name}",
        f"{maria.family_name}, {maria.given_name}",
        "NCI-100234",
        "MFM-55871",
        born.isoformat(),
        born.strftime("%b %d, %Y").replace(" 0", " "),
        born.strftime("%B %d, %Y").replace(" 0", " "),
        born.strftime("%m/%d/%Y"),
    ]


# --- No row changed --------------------------------------------------------------------

# Tables that legitimately grow or move on any request: the audit log (refused reads are
# recorded), sign-in throttling (django-axes) and sessions.
UNCHECKED_TABLES = re.compile(r"^(audit_auditevent|axes_.*|django_session)$")


def _tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
            "ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in cursor.fetchall() if not UNCHECKED_TABLES.match(row[0])]


def rows_checksum(schemas: list[str]) -> dict[str, tuple[int, str]]:
    """Per table (schema-qualified): its row count and an order-independent digest of its rows."""
    result: dict[str, tuple[int, str]] = {}
    parts = []
    for schema in schemas:
        for table in _tables(schema):
            name = f'"{schema}"."{table}"'
            parts.append(
                f"SELECT '{schema}.{table}', count(*), coalesce(md5(string_agg(md5(t::text), '' "
                f"ORDER BY md5(t::text))), '') FROM {name} t"
            )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        for table, count, digest in cursor.fetchall():
            result[table] = (count, digest)
    return result


def rows_changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [
        f"{table}: {before.get(table, (0, ''))[0]} → {after.get(table, (0, ''))[0]} rows"
        + ("" if before.get(table, (0, ""))[0] != after.get(table, (0, ""))[0] else " (contents changed)")
        for table in sorted(set(before) | set(after))
        if before.get(table) != after.get(table)
    ]
