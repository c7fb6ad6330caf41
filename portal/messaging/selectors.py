"""Reads of threads and messages, and the question "may this person read this thread?".

A person reads a thread at an organization's address when they take part there — in
person, or as a clinical member of that organization's care-team pool — and, for a
thread about a patient, may see that patient there. Forbidden and missing: same 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, F, FilteredRelation, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from portal.accounts.models import Membership
from portal.accounts.selectors import clinical_membership
from portal.messaging.models import Message, MessageReceipt, Participant, ReadState, Thread
from portal.patients.selectors import membership_sees_patient, user_can_view_patient, visible_entries, visible_patients

if TYPE_CHECKING:
    from uuid import UUID

    from django.core.paginator import Page

    from portal.accounts.models import User
    from portal.messaging.models import Attachment
    from portal.patients.models import NetworkPatient, RegistryEntry
    from tenants.models import Organization

# One answer for a recipient or an entry that does not exist and for one the sender may
# not use, so an error never tells more about someone else's object than about nothing.
NOT_A_RECIPIENT = "A recipient is not a clinician who takes messages at that organization."
NOT_AN_ORGANIZATION = (
    "No organization {slug!r} takes messages: messages go to active organizations of the network only."
)
ENTRY_NOT_ON_RECORD = "An entry is not on the shared record of the thread's patient."

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def messaging_membership(*, user: User, organization: Organization) -> Membership | None:
    """The active clinical membership with which a person sends and reads messages here."""
    return clinical_membership(user=user, organization=organization)


def _threads_taking_part(*, user: User, organization: Organization) -> QuerySet[Thread]:
    """Threads this person takes part in here, in person or through the care-team pool
    (before the patient check)."""
    taking_part = Participant.objects.filter(organization=organization).filter(Q(user=user) | Q(user__isnull=True))
    return Thread.objects.filter(pk__in=taking_part.values("thread_id"))


def _patients_seen(*, user: User, organization: Organization, patient_ids: set[int]) -> set[int]:
    """Which of these (few) patients this person may see here."""
    if not patient_ids:
        return set()
    return set(
        visible_patients(user=user, organization=organization).filter(pk__in=patient_ids).values_list("pk", flat=True)
    )


def takes_part_in(
    *, user: User, organization: Organization, thread: Thread, lock: bool = False, access_checked: bool = False
) -> bool:
    """May this person read (and so write in) this one thread here? The same rule as
    ``visible_threads``, asked of a single thread: take part, and see its patient.

    ``lock``: also lock the thread's row (``SELECT … FOR UPDATE``, inside the caller's
    transaction) in the same query, so that writers of one thread go one at a time.
    ``access_checked``: the caller has just read this thread through ``thread_get_for_user``
    in this request, so its patient is not checked again (taking part still is)."""
    if messaging_membership(user=user, organization=organization) is None:
        return False
    taking_part = _threads_taking_part(user=user, organization=organization).filter(pk=thread.pk)
    if lock:
        taking_part = taking_part.select_for_update(of=("self",))
    if taking_part.values_list("pk", flat=True).first() is None:
        return False
    return access_checked or _sees_patient_of(thread, user=user, organization=organization)


def _sees_patient_of(thread: Thread, *, user: User, organization: Organization) -> bool:
    patient = thread.patient
    return patient is None or user_can_view_patient(user=user, organization=organization, patient=patient)


def visible_threads(*, user: User, organization: Organization) -> QuerySet[Thread]:
    if messaging_membership(user=user, organization=organization) is None:
        return Thread.objects.none()
    threads = _threads_taking_part(user=user, organization=organization)
    # The patients of these threads are few: check them once, here, rather than nesting the
    # whole access rule in every inbox query.
    patient_ids = set(threads.filter(patient__isnull=False).order_by().values_list("patient_id", flat=True).distinct())
    seen = _patients_seen(user=user, organization=organization, patient_ids=patient_ids)
    return threads.filter(Q(patient__isnull=True) | Q(patient_id__in=seen))


def _with_read_state(threads: QuerySet[Thread], *, user: User) -> QuerySet[Thread]:
    """The threads with this person's read state (``mine``) joined once, a LEFT JOIN on its
    unique (thread, user) index, rather than looked up again for every thread: ``mine``'s
    fields are empty where the person has never opened the thread. Joined once per query."""
    if "mine" in threads.query._filtered_relations:  # type: ignore[attr-defined]  # Django's private map, not in the stubs
        return threads
    return threads.annotate(mine=FilteredRelation("read_states", condition=Q(read_states__user=user)))


def _not_archived(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    return threads.filter(Q(mine__archived_at__isnull=True))  # a Q: the stubs cannot follow a FilteredRelation


def _last_read() -> Coalesce:
    return Coalesce(F("mine__last_read_at"), Value(EPOCH))


def _unread(threads: QuerySet[Thread], *, user: User) -> QuerySet[Thread]:
    """Those of these threads, not archived, that hold a message from someone else newer than
    this person's read mark: one short forward probe of the (thread, created_at) index each."""
    from_others_since = Message.objects.filter(thread=OuterRef("pk"), created_at__gt=OuterRef("last_read")).exclude(
        sender=user
    )
    return (
        _not_archived(_with_read_state(threads, user=user))
        .annotate(last_read=_last_read())
        .filter(Exists(from_others_since))
    )


def inbox_base(
    *, user: User, organization: Organization, archived: bool = False, query: str = "", urgent_only: bool = False
) -> QuerySet[Thread]:
    """The inbox's threads, newest first, without per-thread figures (cheap to count and page)."""
    return _inbox_filter(
        visible_threads(user=user, organization=organization),
        user=user,
        archived=archived,
        query=query,
        urgent_only=urgent_only,
    )


def _inbox_filter(
    threads: QuerySet[Thread], *, user: User, archived: bool, query: str, urgent_only: bool
) -> QuerySet[Thread]:
    threads = _with_read_state(threads, user=user)
    threads = threads.filter(Q(mine__archived_at__isnull=False)) if archived else _not_archived(threads)
    if urgent_only:
        threads = threads.filter(urgent=True)
    query = (query or "").strip()
    if query:
        threads = threads.filter(
            Q(subject__icontains=query) | Q(pk__in=Message.objects.filter(body__icontains=query).values("thread_id"))
        )
    return threads.order_by("-last_message_at", "-pk")


def inbox_annotate(threads: QuerySet[Thread], *, user: User) -> QuerySet[Thread]:
    """Each thread's unread count (messages of others since this person last read it) and last message."""
    unread = (
        Message.objects.filter(thread=OuterRef("pk"), created_at__gt=OuterRef("last_read"))
        .exclude(sender=user)
        .order_by()
        .values("thread")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    last = Message.objects.filter(thread=OuterRef("pk")).order_by("-created_at")
    return (
        _with_read_state(threads, user=user)
        .annotate(last_read=_last_read())
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0),
            last_body=Subquery(last.values("body")[:1]),
            last_sender=Subquery(last.values("sender__full_name")[:1]),
        )
        .select_related("patient")
    )


def inbox_threads(
    *, user: User, organization: Organization, archived: bool = False, query: str = "", urgent_only: bool = False
) -> QuerySet[Thread]:
    """The inbox, newest first, with each thread's unread count and the last message."""
    base = inbox_base(user=user, organization=organization, archived=archived, query=query, urgent_only=urgent_only)
    return inbox_annotate(base, user=user)


@dataclass
class InboxPage:
    page: Page[int]  # of thread ids; the threads of the page are ``threads``
    threads: list[Thread]
    unread_threads: int  # conversations of the whole inbox with unread messages


def inbox_page(
    *,
    user: User,
    organization: Organization,
    page_number: int | str | None = 1,
    per_page: int = 25,
    archived: bool = False,
    query: str = "",
    urgent_only: bool = False,
) -> InboxPage:
    """One page of the inbox: page the threads first, then work out figures for that page
    only. The visible threads (and so the access check of their patients) are worked out
    once, for the page and for the inbox's unread count."""
    from django.core.paginator import Paginator

    visible = visible_threads(user=user, organization=organization)
    base = _inbox_filter(visible, user=user, archived=archived, query=query, urgent_only=urgent_only)
    page = Paginator(base.values_list("pk", flat=True), per_page).get_page(page_number)
    ids = list(page.object_list)
    threads = list(inbox_annotate(Thread.objects.filter(pk__in=ids), user=user).order_by("-last_message_at", "-pk"))
    return InboxPage(page=page, threads=threads, unread_threads=_unread(visible, user=user).count())


def unread_thread_count(*, user: User, organization: Organization) -> int:
    """How many inbox threads hold a message from someone else that this person has not read.

    The unread threads come first (one query, usually few rows), then only their patients
    are checked against the access rule, so the home page does not walk every thread."""
    if messaging_membership(user=user, organization=organization) is None:
        return 0
    unread_patients = list(
        _unread(_threads_taking_part(user=user, organization=organization), user=user)
        .order_by()
        .values_list("patient_id", flat=True)
    )
    seen = _patients_seen(
        user=user, organization=organization, patient_ids={pid for pid in unread_patients if pid is not None}
    )
    return sum(1 for pid in unread_patients if pid is None or pid in seen)


def thread_get_for_user(*, user: User, organization: Organization, thread_uuid: UUID | str) -> Thread:
    """The thread, if this person reads it here (``takes_part_in``); else ``Http404``. One
    thread's patient is checked, not those of every thread the person takes part in."""
    if messaging_membership(user=user, organization=organization) is None:
        raise Http404("No such thread")
    thread = (
        _threads_taking_part(user=user, organization=organization)
        .select_related("patient", "created_by", "organization")
        .filter(uuid=thread_uuid)
        .first()
    )
    if thread is None or not _sees_patient_of(thread, user=user, organization=organization):
        raise Http404("No such thread")
    return thread


def threads_for_patient(
    *, user: User, organization: Organization, patient: NetworkPatient, access_checked: bool = False
) -> QuerySet[Thread]:
    """The threads about this patient that this person reads here (for the chart).

    ``access_checked``: the caller has just read this patient through the access rule in
    this request (the chart page), so only taking part in the thread is asked here."""
    if not access_checked:
        return inbox_threads(user=user, organization=organization).filter(patient=patient)
    if messaging_membership(user=user, organization=organization) is None:
        return Thread.objects.none()
    taking_part = Participant.objects.filter(organization=organization).filter(Q(user=user) | Q(user__isnull=True))
    threads = _not_archived(
        _with_read_state(Thread.objects.filter(patient=patient, pk__in=taking_part.values("thread_id")), user=user)
    )
    return inbox_annotate(threads.order_by("-last_message_at", "-pk"), user=user)


def thread_participants(*, thread: Thread) -> list[Participant]:
    return list(thread.participants.select_related("user", "organization").order_by("added_at", "pk"))


def thread_messages(*, thread: Thread) -> list[Message]:
    """The thread's messages, each with ``read_by`` (receipts of others than the sender)."""
    messages = list(
        thread.messages.select_related("sender", "sender_organization")
        .prefetch_related("attachments", "entries")
        .order_by("created_at")
    )
    receipts: dict[int, list[MessageReceipt]] = {}
    for receipt in (
        MessageReceipt.objects.filter(message__thread=thread).select_related("user", "organization").order_by("read_at")
    ):
        receipts.setdefault(receipt.message_id, []).append(receipt)
    for message in messages:
        message.read_by = [r for r in receipts.get(message.pk, []) if r.user_id != message.sender_id]
    return messages


def is_archived_for(*, thread: Thread, user: User) -> bool:
    return ReadState.objects.filter(thread=thread, user=user, archived_at__isnull=False).exists()


def attachment_get_for_user(*, user: User, organization: Organization, attachment_uuid: UUID | str) -> Attachment:
    from portal.messaging.models import Attachment

    attachment = (
        Attachment.objects.select_related("organization", "message__thread")
        .filter(uuid=attachment_uuid, message__thread__in=visible_threads(user=user, organization=organization))
        .first()
    )
    if attachment is None:
        raise Http404("No such attachment")
    return attachment


def pool_members(*, organization: Organization, patient: NetworkPatient | None = None) -> list[Any]:
    """Clinical members of an organization's care-team pool (who may see the patient, if any)."""
    members = [
        m.user for m in Membership.objects.active().clinical().filter(organization=organization).select_related("user")
    ]
    if patient is None:
        return members
    return [u for u in members if user_can_view_patient(user=u, organization=organization, patient=patient)]


def recipient_choices(
    *, user: User, organization: Organization, patient: NetworkPatient | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Who may be written to: clinicians of the network who may see the patient, and pools.

    Values are ``u:<organization id>:<user id>`` for a person and ``p:<organization id>`` for a pool.
    """
    memberships = (
        Membership.objects.active()
        .clinical()
        .filter(organization__status="active")
        .exclude(organization__kind="network")
        .select_related("user", "organization")
        .order_by("organization__name", "user__full_name")
    )
    if patient is not None:
        memberships = memberships.filter(membership_sees_patient(patient=patient))
    people: list[tuple[str, str]] = []
    pools: dict[int, tuple[str, str]] = {}
    for membership in memberships:
        org = membership.organization
        pools.setdefault(org.pk, (f"p:{org.pk}", f"{org.name} — care team"))
        if membership.user_id == user.pk:
            continue
        title = f", {membership.title}" if membership.title else ""
        people.append((f"u:{org.pk}:{membership.user_id}", f"{membership.user.display_name}{title} — {org.name}"))
    return {"people": people, "pools": list(pools.values())}


def participant_choices(
    *, user: User, organization: Organization, thread: Thread, participants: list[Participant]
) -> dict[str, list[tuple[str, str]]]:
    """Who may be added to this thread: people and care teams who may see its patient
    (when it has one) and do not take part yet."""
    choices = recipient_choices(user=user, organization=organization, patient=thread.patient)
    taking_part = {
        f"u:{p.organization_id}:{p.user_id}" if p.user_id else f"p:{p.organization_id}" for p in participants
    }
    return {group: [(v, label) for v, label in values if v not in taking_part] for group, values in choices.items()}


def registry_entries_for(*, user: User, organization: Organization, patient: NetworkPatient | None) -> QuerySet[Any]:
    """Shared-record entries a message about this patient may point at."""
    from portal.patients.models import RegistryEntry

    if patient is None or not user_can_view_patient(user=user, organization=organization, patient=patient):
        return RegistryEntry.objects.none()
    entries = visible_entries(user=user, organization=organization, patient=patient)
    return entries.filter(status="current").order_by("-effective_at")[:50]


def message_entries_get(
    *, user: User, organization: Organization, patient: NetworkPatient | None, entry_uuids: list[UUID]
) -> list[RegistryEntry]:
    """The entries a message about ``patient`` points at: entries of that patient this user
    sees here (the caller has checked that they see the patient). An entry of another
    patient, one the user may not see and an id that is no entry at all are refused with
    the same words."""
    from django.core.exceptions import ValidationError

    wanted = set(entry_uuids)
    if not wanted:
        return []
    entries = []
    if patient is not None:
        entries = list(visible_entries(user=user, organization=organization, patient=patient).filter(uuid__in=wanted))
    if len(entries) != len(wanted):
        raise ValidationError({"entries": ENTRY_NOT_ON_RECORD})
    return entries
