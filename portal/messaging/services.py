"""Writing messages: starting threads, replying, adding participants, read state, archive.

A message, its in-app notifications and their email deliveries are written in one
transaction; the emails are handed to the worker after commit (portal.notifications).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.messaging import attachments as files
from portal.messaging.models import Attachment, Message, MessageReceipt, Participant, ReadState, Thread
from portal.messaging.selectors import (
    ENTRY_NOT_ON_RECORD,
    NOT_A_RECIPIENT,
    NOT_AN_ORGANIZATION,
    messaging_membership,
    pool_members,
    takes_part_in,
)
from portal.notifications.models import Kind
from portal.notifications.services import notification_send, notifications_mark_read_for
from portal.patients.selectors import user_can_view_patient, visible_entries
from portal.text import text_clean

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.patients.models import NetworkPatient
    from tenants.models import Organization

MAX_BODY = 10_000


@dataclass(frozen=True)
class Recipient:
    """A person at an organization, or (``user`` None) that organization's care-team pool."""

    organization: Organization
    user: User | None = None


def _describe(recipient: Recipient) -> str:
    if recipient.user is None:
        return f"the care team of {recipient.organization.name}"
    return f"{recipient.user.display_name} at {recipient.organization.name}"


def participant_check(*, patient: NetworkPatient | None, recipient: Recipient) -> None:
    """Refuse, with a reason, anyone who may not take part (in a thread about this patient)."""
    organization = recipient.organization
    if organization is None or organization.is_network or not organization.is_active:
        slug = getattr(organization, "slug", "")
        raise ValidationError({"participants": NOT_AN_ORGANIZATION.format(slug=slug)})
    if recipient.user is None:
        if not pool_members(organization=organization, patient=patient):
            reason = "nobody there may see this patient's record" if patient is not None else "it has no clinicians"
            raise ValidationError({"participants": f"The care team of {organization.name} cannot be added: {reason}."})
        return
    if messaging_membership(user=recipient.user, organization=organization) is None:
        # The same words as for a person who does not exist: never a name by a guessed id.
        raise ValidationError({"participants": NOT_A_RECIPIENT})
    if patient is not None and not user_can_view_patient(
        user=recipient.user, organization=organization, patient=patient
    ):
        raise ValidationError(
            {
                "participants": (
                    f"{_describe(recipient)} cannot be added: they may not see this patient's record "
                    "(no active care relationship)."
                )
            }
        )


def _check_sender(*, sender: User, organization: Organization, patient: NetworkPatient | None) -> None:
    if messaging_membership(user=sender, organization=organization) is None:
        raise ValidationError({"sender": "Only clinical staff with an active account here send messages."})
    if patient is not None and not user_can_view_patient(user=sender, organization=organization, patient=patient):
        raise ValidationError({"patient": "You may not see this patient's record."})


def _check_content(
    *, body: str, uploads: Sequence[Any], entries: Sequence[Any], patient: NetworkPatient | None
) -> list[tuple[str, str]]:
    errors: dict[str, str] = {}
    if not text_clean(body or ""):
        errors["body"] = "Write a message."
    elif len(body) > MAX_BODY:
        errors["body"] = f"A message holds at most {MAX_BODY:,} characters."
    if len(uploads) > files.MAX_FILES:
        errors["attachments"] = f"Attach at most {files.MAX_FILES} files."
    if errors:
        raise ValidationError(errors)
    for entry in entries:
        if patient is None or entry.patient_id != patient.pk:
            raise ValidationError({"entries": ENTRY_NOT_ON_RECORD})
    return [files.sniff(upload) for upload in uploads]


def _check_entries_visible(
    *, sender: User, organization: Organization, patient: NetworkPatient | None, entries: Sequence[Any]
) -> None:
    """A message points only at entries its sender sees (an organization that registered
    the patient sees its own entries, not what others share): the same answer as for an
    entry that does not exist."""
    if not entries or patient is None:
        return
    wanted = {entry.pk for entry in entries}
    seen = set(
        visible_entries(user=sender, organization=organization, patient=patient)
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )
    if wanted - seen:
        raise ValidationError({"entries": ENTRY_NOT_ON_RECORD})


def _post(
    *,
    thread: Thread,
    sender: User,
    organization: Organization,
    body: str,
    urgent: bool,
    uploads: Sequence[Any],
    kinds: list[tuple[str, str]],
    entries: Sequence[Any],
) -> Message:
    now = timezone.now()
    message = Message.objects.create(
        thread=thread, sender=sender, sender_organization=organization, body=text_clean(body), urgent=urgent
    )
    if entries:
        message.entries.set(entries)
    storage = files.storage_for(organization)
    for upload, (content_type, extension) in zip(uploads, kinds, strict=True):
        attachment_uuid = uuid_module.uuid4()
        path = storage.save(f"messaging/{thread.uuid}/{attachment_uuid}.{extension}", upload)
        Attachment.objects.create(
            uuid=attachment_uuid,
            message=message,
            organization=organization,
            path=path,
            filename=files.clean_filename(upload.name),
            content_type=content_type,
            size=upload.size,
        )
    thread.last_message_at = message.created_at
    fields = ["last_message_at"]
    if urgent and not thread.urgent:
        thread.urgent = True
        fields.append("urgent")
    thread.save(update_fields=fields)
    # The sender has read what they wrote; the thread comes back to everyone's inbox.
    ReadState.objects.bulk_create(
        [ReadState(thread=thread, user=sender, organization=organization, last_read_at=now, archived_at=None)],
        update_conflicts=True,
        unique_fields=["thread", "user"],
        update_fields=["organization", "last_read_at", "archived_at"],
    )
    ReadState.objects.filter(thread=thread, archived_at__isnull=False).update(archived_at=None)
    _notify(thread=thread, message=message)
    return message


def _notify(*, thread: Thread, message: Message) -> None:
    """One in-app notification (and the email its reader chose) per participant but the sender."""
    by_organization: dict[int, tuple[Any, list[Any]]] = {}
    for participant in thread.participants.select_related("user", "organization"):
        if participant.user_id == message.sender_id:
            continue  # nobody is told of their own message
        if participant.user is None:
            users = pool_members(organization=participant.organization, patient=thread.patient)
        elif thread.patient is not None and not user_can_view_patient(
            user=participant.user, organization=participant.organization, patient=thread.patient
        ):
            users = []  # their access ended: they are no longer told
        else:
            users = [participant.user]
        entry = by_organization.setdefault(participant.organization_id, (participant.organization, []))
        entry[1].extend(u for u in users if u.pk != message.sender_id)
    sender = message.sender.display_name
    title = f"Urgent message from {sender}" if message.urgent else f"New secure message from {sender}"
    told: set[int] = set()
    for organization, users in by_organization.values():
        recipients = [u for u in users if u.pk not in told]
        told.update(u.pk for u in recipients)
        if recipients:
            notification_send(
                recipients=recipients,
                kind=Kind.MESSAGE,
                title=title,
                link=f"/messages/{thread.uuid}/",
                organization=organization,
                urgent=message.urgent,
                subject=thread,
                subject_label=thread.subject,
            )


@transaction.atomic
def thread_start(
    *,
    sender: User,
    organization: Organization,
    subject: str,
    body: str,
    recipients: Sequence[Recipient],
    patient: NetworkPatient | None = None,
    urgent: bool = False,
    uploads: Sequence[Any] = (),
    entries: Sequence[Any] = (),
) -> Thread:
    _check_sender(sender=sender, organization=organization, patient=patient)
    subject = text_clean(subject or "")
    if not subject:
        raise ValidationError({"subject": "Give the thread a subject."})
    if len(subject) > 200:
        raise ValidationError({"subject": "A subject holds at most 200 characters."})
    others = [r for r in recipients if not (r.user is not None and r.user.pk == sender.pk)]
    if not others:
        raise ValidationError({"participants": "Choose at least one recipient."})
    for recipient in others:
        participant_check(patient=patient, recipient=recipient)
    kinds = _check_content(body=body, uploads=uploads, entries=entries, patient=patient)
    _check_entries_visible(sender=sender, organization=organization, patient=patient, entries=entries)
    now = timezone.now()
    thread = Thread.objects.create(
        subject=subject, patient=patient, created_by=sender, organization=organization, last_message_at=now
    )
    Participant.objects.create(thread=thread, organization=organization, user=sender, added_by=sender)
    seen: set[tuple[int, int | None]] = {(organization.pk, sender.pk)}
    for recipient in others:
        key = (recipient.organization.pk, getattr(recipient.user, "pk", None))
        if key in seen:
            continue
        seen.add(key)
        Participant.objects.create(
            thread=thread, organization=recipient.organization, user=recipient.user, added_by=sender
        )
    _post(
        thread=thread,
        sender=sender,
        organization=organization,
        body=body,
        urgent=urgent,
        uploads=uploads,
        kinds=kinds,
        entries=entries,
    )
    return thread


@transaction.atomic
def message_reply(
    *,
    thread: Thread,
    sender: User,
    organization: Organization,
    body: str,
    urgent: bool = False,
    uploads: Sequence[Any] = (),
    entries: Sequence[Any] = (),
    access_checked: bool = False,
) -> Message:
    """Answer in a thread; a member of a care-team pool answers for the pool (and is shown).

    ``access_checked``: the caller read ``thread`` through ``thread_get_for_user`` in this
    request, so the sender's access to its patient is not asked twice."""
    # One writer at a time per thread: the check locks the thread's row.
    if not takes_part_in(
        user=sender, organization=organization, thread=thread, lock=True, access_checked=access_checked
    ):
        raise ValidationError({"thread": "You do not take part in this thread."})
    kinds = _check_content(body=body, uploads=uploads, entries=entries, patient=thread.patient)
    _check_entries_visible(sender=sender, organization=organization, patient=thread.patient, entries=entries)
    return _post(
        thread=thread,
        sender=sender,
        organization=organization,
        body=body,
        urgent=urgent,
        uploads=uploads,
        kinds=kinds,
        entries=entries,
    )


@transaction.atomic
def thread_participant_add(
    *, thread: Thread, actor: User, organization: Organization, recipient: Recipient
) -> Participant:
    if not takes_part_in(user=actor, organization=organization, thread=thread):
        raise ValidationError({"thread": "You do not take part in this thread."})
    participant_check(patient=thread.patient, recipient=recipient)
    existing = Participant.objects.filter(
        thread=thread, organization=recipient.organization, user=recipient.user
    ).first()
    if existing is not None:
        raise ValidationError({"participants": f"{_describe(recipient)} already takes part in this thread."})
    return Participant.objects.create(
        thread=thread, organization=recipient.organization, user=recipient.user, added_by=actor
    )


@transaction.atomic
def thread_mark_read(*, thread: Thread, user: User, organization: Organization) -> int:
    """Record that this reader has read the thread up to now; returns new receipts."""
    now = timezone.now()
    state, _ = ReadState.objects.get_or_create(thread=thread, user=user, defaults={"organization": organization})
    since = state.last_read_at
    state.last_read_at = now
    state.organization = organization
    state.save(update_fields=["last_read_at", "organization"])
    unread = Message.objects.filter(thread=thread).exclude(sender=user)
    if since is not None:
        unread = unread.filter(created_at__gt=since)
    created = MessageReceipt.objects.bulk_create(
        [
            MessageReceipt(message_id=pk, user=user, organization=organization, read_at=now)
            for pk in unread.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    notifications_mark_read_for(user=user, subject=thread, link=f"/messages/{thread.uuid}/")
    return len(created)


@transaction.atomic
def thread_archive(*, thread: Thread, user: User, organization: Organization, archived: bool = True) -> ReadState:
    state, _ = ReadState.objects.get_or_create(thread=thread, user=user, defaults={"organization": organization})
    state.archived_at = timezone.now() if archived else None
    state.save(update_fields=["archived_at"])
    return state


def recipients_parse(*, values: Iterable[str]) -> list[Recipient]:
    """``u:<org id>:<user id>`` / ``p:<org id>`` (the compose form's values) to recipients."""
    from portal.accounts.models import User
    from tenants.models import Organization

    recipients = []
    for value in values:
        parts = str(value).split(":")
        try:
            if parts[0] == "p" and len(parts) == 2:
                recipients.append(Recipient(organization=Organization.objects.get(pk=int(parts[1]))))
                continue
            if parts[0] == "u" and len(parts) == 3:
                recipients.append(
                    Recipient(
                        organization=Organization.objects.get(pk=int(parts[1])), user=User.objects.get(pk=int(parts[2]))
                    )
                )
                continue
        except (ValueError, Organization.DoesNotExist, User.DoesNotExist):
            pass
        raise ValidationError({"participants": "A recipient is not a person or care team of the network."})
    return recipients
