"""No oracle: an id the asker may not use and an id of nothing get the same answer — the
same status and the same body, byte for byte (the two probe ids themselves, echoed in a
form, and the CSRF token of a page aside) — and neither changes anything.

One test per family of endpoints that take an id: messaging (entries, participants,
threads, attachments), care (referral attachments and outcome, task results, occurrences
and owners, hand-offs), the shared record, notifications, site admins' user ids and the
access report. "Not yours" ids are asked from the database; "missing" ids are fresh."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.db.models import Max
from django.utils import timezone

from portal.accounts.models import Membership, User
from portal.audit.models import AuditEvent
from portal.care.models import CareTask, Handoff, Referral, TaskOccurrence
from portal.messaging.models import Attachment, Message, Participant, Thread
from portal.notifications.models import Delivery, Notification
from portal.patients.models import CareRelationship, NetworkPatient, RegistryEntry
from tests.care.helpers import entry as registry_entry

CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[A-Za-z0-9]+"')


def _body(response: Any, probes: tuple[str, ...]) -> bytes:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    body = CSRF.sub(rb'\1"', body)
    for probe in probes:
        body = body.replace(str(probe).encode(), b"<id>")
    return body


def assert_same_answer(not_yours: Any, missing: Any, *probes: Any) -> None:
    texts = tuple(str(p) for p in probes)
    assert not_yours.status_code == missing.status_code, (not_yours.status_code, missing.status_code)
    assert not_yours.status_code != 500
    first_body, second_body = _body(not_yours, texts), _body(missing, texts)
    if first_body != second_body:
        at = next(i for i, (a, b) in enumerate(zip(first_body, second_body, strict=False)) if a != b)
        raise AssertionError((first_body[max(0, at - 200) : at + 200], second_body[max(0, at - 200) : at + 200]))
    for header in ("Content-Type", "Location"):
        first, second = not_yours.get(header), missing.get(header)
        if isinstance(first, str) and isinstance(second, str):
            for probe in texts:
                first, second = first.replace(probe, "<id>"), second.replace(probe, "<id>")
        assert first == second, header


def _rows() -> tuple[int, ...]:
    """What a refused request must not change. A refused read is audited, and repeated ones
    tell the asker's site admins (issue 12, item 4): those notifications are left out."""
    notifications = Notification.objects.exclude(kind="denied_reads")
    models = (Thread, Message, Participant, Referral, CareTask, TaskOccurrence, Handoff)
    counts = tuple(model.objects.count() for model in models)
    return (
        *counts,
        notifications.count(),
        Delivery.objects.filter(notification__in=notifications).count(),
        CareRelationship.objects.count(),
        Membership.objects.filter(status="active").count(),
        notifications.filter(read_at__isnull=True).count(),
        TaskOccurrence.objects.filter(done_at__isnull=False).count(),
        Referral.objects.filter(outcome_entry__isnull=False).count(),
    )


def _post_json(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def _patient_unseen_by(cast: Any, organization: Any) -> NetworkPatient:
    """A patient the organization has no relationship with, asked from the database."""
    return NetworkPatient.objects.exclude(care_relationships__organization=organization).order_by("pk").first()


def _entry_of_another_patient(cast: Any) -> RegistryEntry:
    """A shared-record entry about someone other than Maria Alvarez, whom Maple does not see."""
    stranger = _patient_unseen_by(cast, cast.organizations["maple"])
    found = RegistryEntry.objects.filter(patient=stranger).first()
    return found or registry_entry(stranger, cast.organizations["cedarvalley"], title="CBC (Cedar Valley)")


def _missing_pk(model: Any) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1000


# --- messaging ------------------------------------------------------------------------


def test_messaging_entries_participants_threads_and_attachments_answer_as_missing_ones(cast, sign_in):
    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    theirs = _entry_of_another_patient(cast)
    nothing = uuid.uuid4()
    before = _rows()

    def start(entries: list[Any], participants: list[dict[str, Any]] | None = None) -> Any:
        return _post_json(
            park,
            "/api/v1/threads/",
            {
                "subject": "Labs",
                "body": "See the result.",
                "patient": str(maria.uuid),
                "participants": participants or [{"organization": "northfield", "user_id": cast.users["okafor"].pk}],
                "entries": [str(e) for e in entries],
            },
        )

    # The case: another patient's entry against a random id.
    assert_same_answer(start([theirs.uuid]), start([nothing]), theirs.uuid, nothing)
    assert start([theirs.uuid]).status_code == 400
    # A person who works elsewhere, named at an organization, against a person who does not exist.
    chen, missing_user = cast.users["chen"].pk, _missing_pk(User)
    assert_same_answer(
        start([], [{"organization": "northfield", "user_id": chen}]),
        start([], [{"organization": "northfield", "user_id": missing_user}]),
        chen,
        missing_user,
    )
    network = cast.network  # the network's own organization takes no messages
    if network is not None:
        nowhere = f"x{uuid.uuid4().hex[:8]}"
        assert_same_answer(
            start([], [{"organization": network.slug}]),
            start([], [{"organization": nowhere}]),
            network.slug,
            nowhere,
        )

    # A reply in Park's own thread, pointing at another patient's entry.
    thread = Thread.objects.create(
        subject="Labs",
        patient=maria,
        created_by=cast.users["park"],
        organization=cast.organizations["maple"],
        last_message_at=timezone.now(),
    )
    Participant.objects.create(
        thread=thread, organization=cast.organizations["maple"], user=cast.users["park"], added_by=cast.users["park"]
    )
    reply = f"/api/v1/threads/{thread.uuid}/messages/"
    assert_same_answer(
        _post_json(park, reply, {"body": "x", "entries": [str(theirs.uuid)]}),
        _post_json(park, reply, {"body": "x", "entries": [str(nothing)]}),
        theirs.uuid,
        nothing,
    )

    # A thread Park takes no part in, and its attachment, against ids of nothing.
    hidden = Thread.objects.create(
        subject="Tumor board",
        created_by=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        last_message_at=timezone.now(),
    )
    message = Message.objects.create(
        thread=hidden, sender=cast.users["okafor"], sender_organization=cast.organizations["northfield"], body="x"
    )
    attachment = Attachment.objects.create(
        message=message,
        organization=cast.organizations["northfield"],
        path="messaging/none.pdf",
        filename="scan.pdf",
        content_type="application/pdf",
        size=1,
    )
    before = _rows()
    for template in (
        "/api/v1/threads/{}/",
        "/api/v1/threads/{}/read/",
        "/messages/{}/",
    ):
        assert_same_answer(
            park.get(template.format(hidden.uuid)), park.get(template.format(nothing)), hidden.uuid, nothing
        )
    for template in ("/api/v1/threads/{}/messages/", "/api/v1/threads/{}/archive/", "/api/v1/threads/{}/read/"):
        assert_same_answer(
            _post_json(park, template.format(hidden.uuid), {"body": "x"}),
            _post_json(park, template.format(nothing), {"body": "x"}),
            hidden.uuid,
            nothing,
        )
    assert_same_answer(
        park.get(f"/messages/attachments/{attachment.uuid}/"),
        park.get(f"/messages/attachments/{nothing}/"),
        attachment.uuid,
        nothing,
    )
    assert _rows() == before
    assert not Message.objects.filter(thread=thread).exists()


# --- care -----------------------------------------------------------------------------


def test_care_ids_of_others_answer_as_missing_ones(cast, sign_in):
    from portal.care.services import care_task_create, referral_create

    maria = cast.patients["maria"]
    maple, cedar, northfield = (cast.organizations[k] for k in ("maple", "cedarvalley", "northfield"))
    park = sign_in(cast.users["park"], maple)
    chen = sign_in(cast.users["chen"], cedar)
    theirs = _entry_of_another_patient(cast)
    unseen = _patient_unseen_by(cast, maple)
    nothing = uuid.uuid4()

    # Park refers Maria to Cedar Valley; Cedar Valley has not accepted, so it sees only the referral.
    referral = referral_create(
        user=cast.users["park"], organization=maple, patient=maria, receiving_organization=cedar, specialty="Consult"
    )
    task = care_task_create(
        user=cast.users["park"],
        organization=maple,
        patient=maria,
        owner_organization=maple,
        title="CBC",
        due_at=timezone.now(),
    )
    northfield_task = care_task_create(
        user=cast.users["okafor"],
        organization=northfield,
        patient=maria,
        owner_organization=northfield,
        title="CMP",
        due_at=timezone.now(),
    )
    occurrence = task.occurrences.get()
    maria_by_northfield = RegistryEntry.objects.filter(patient=maria, organization=northfield).first()
    before = _rows()

    def refer(**changes: Any) -> Any:
        body = {"patient": str(maria.uuid), "receiving_organization": str(northfield.uuid), "specialty": "Consult"}
        return _post_json(park, "/api/v1/referrals/", {**body, **changes})

    # The patient of a new referral, task or hand-off.
    assert_same_answer(refer(patient=str(unseen.uuid)), refer(patient=str(nothing)), unseen.uuid, nothing)
    # The entries a referral carries: another patient's, against nothing.
    assert_same_answer(refer(attachments=[str(theirs.uuid)]), refer(attachments=[str(nothing)]), theirs.uuid, nothing)
    # The receiver (before accepting) names an entry of Maria's record it may not see as the outcome.
    transition = f"/api/v1/referrals/{referral.uuid}/transition/"
    assert_same_answer(
        _post_json(chen, transition, {"action": "complete", "outcome_entry": str(maria_by_northfield.uuid)}),
        _post_json(chen, transition, {"action": "complete", "outcome_entry": str(nothing)}),
        maria_by_northfield.uuid,
        nothing,
    )
    assert_same_answer(
        chen.post(
            f"/care/referrals/{referral.uuid}/act/", {"action": "complete", "outcome_entry": maria_by_northfield.uuid}
        ),
        chen.post(f"/care/referrals/{referral.uuid}/act/", {"action": "complete", "outcome_entry": nothing}),
        maria_by_northfield.uuid,
        nothing,
    )
    chen.get("/")  # the pages above leave flash messages; read them so no later page shows them
    park.get("/")
    # A care task's result: another patient's entry; an occurrence of another task.
    link = f"/api/v1/care-tasks/{task.uuid}/link-result/"
    assert_same_answer(
        _post_json(park, link, {"occurrence": occurrence.pk, "entry": str(theirs.uuid)}),
        _post_json(park, link, {"occurrence": occurrence.pk, "entry": str(nothing)}),
        theirs.uuid,
        nothing,
    )
    other_occurrence, missing_occurrence = northfield_task.occurrences.get().pk, _missing_pk(TaskOccurrence)
    entry = RegistryEntry.objects.filter(patient=maria, kind="lab_result").first()
    assert_same_answer(
        _post_json(park, link, {"occurrence": other_occurrence, "entry": str(entry.uuid)}),
        _post_json(park, link, {"occurrence": missing_occurrence, "entry": str(entry.uuid)}),
        other_occurrence,
        missing_occurrence,
    )
    assert_same_answer(
        park.post(f"/care/tasks/{task.uuid}/", {"occurrence": occurrence.pk, "entry": theirs.uuid}),
        park.post(f"/care/tasks/{task.uuid}/", {"occurrence": occurrence.pk, "entry": nothing}),
        theirs.uuid,
        nothing,
    )

    # The owner of a task, the receiver of a hand-off: the network's own organization, against nothing.
    network_org = cast.network
    if network_org is not None:
        for url, field, extra in (
            ("/api/v1/care-tasks/", "owner_organization", {"title": "CBC", "due_at": timezone.now().isoformat()}),
            (
                "/api/v1/handoffs/",
                "to_organization",
                {"treatment_summary": "Done", "items": [{"section": "x", "text": "y", "responsible": "pcp"}]},
            ),
        ):
            body = {"patient": str(maria.uuid), **extra}
            assert_same_answer(
                _post_json(park, url, {**body, field: str(network_org.uuid)}),
                _post_json(park, url, {**body, field: str(nothing)}),
                network_org.uuid,
                nothing,
            )

    chen.get("/")
    park.get("/")
    # Objects of others by address: Chen and Northfield's task, a referral Cedar Valley is not part of.
    other_referral = referral_create(
        user=cast.users["okafor"],
        organization=northfield,
        patient=maria,
        receiving_organization=maple,
        specialty="Follow-up",
    )
    before = _rows()
    for url in (
        "/api/v1/referrals/{}/",
        "/care/referrals/{}/",
        "/care/tasks/{}/",
        "/care/handoffs/{}/",
    ):
        hidden = northfield_task.uuid if "tasks" in url else other_referral.uuid
        assert_same_answer(chen.get(url.format(hidden)), chen.get(url.format(nothing)), hidden, nothing)
    for url in ("/api/v1/referrals/{}/transition/", "/api/v1/care-tasks/{}/link-result/"):
        hidden = northfield_task.uuid if "tasks" in url else other_referral.uuid
        assert_same_answer(
            _post_json(chen, url.format(hidden), {"action": "receive", "occurrence": 1, "entry": str(nothing)}),
            _post_json(chen, url.format(nothing), {"action": "receive", "occurrence": 1, "entry": str(nothing)}),
            hidden,
            nothing,
        )
    assert _rows() == before
    assert Referral.objects.get(pk=referral.pk).state == referral.state


# --- the shared record ----------------------------------------------------------------


def test_record_ids_of_others_answer_as_missing_ones(cast, sign_in, django_db_blocker):
    from django_tenants.utils import schema_context

    from portal.records.models import ClinicalItem

    maria = cast.patients["maria"]
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    theirs = _entry_of_another_patient(cast)
    maria_entry = RegistryEntry.objects.filter(patient=maria).first()
    nothing = uuid.uuid4()
    with schema_context(cast.organizations["northfield"].schema_name):
        northfield_item = ClinicalItem.objects.first()
    # Allowed reads only: a refused read may be audited as denied (issue 12, item 4).
    reads = AuditEvent.objects.filter(action="read", outcome="allowed").count()
    before = _rows()
    for actor, hidden, template in (
        (park, theirs.uuid, f"/api/v1/patients/{maria.uuid}/entries/{{}}/"),
        (park, theirs.uuid, f"/patients/{maria.uuid}/entries/{{}}/"),
        (chen, maria.uuid, "/api/v1/patients/{}/"),
        (chen, maria.uuid, "/api/v1/patients/{}/entries/"),
        (chen, maria.uuid, "/patients/{}/"),
        (chen, maria_entry.uuid, f"/api/v1/patients/{maria.uuid}/entries/{{}}/"),
    ):
        assert_same_answer(actor.get(template.format(hidden)), actor.get(template.format(nothing)), hidden, nothing)
    if northfield_item is not None:
        for template in (
            "/api/v1/items/{}/publish/",
            "/records/items/{}/publish/",
            "/records/items/{}/withdraw/",
            "/records/items/{}/correct/",
        ):
            assert_same_answer(
                park.post(template.format(northfield_item.pk)),
                park.post(template.format(nothing)),
                northfield_item.pk,
                nothing,
            )
    assert _rows() == before
    assert AuditEvent.objects.filter(action="read", outcome="allowed").count() == reads


# --- notifications --------------------------------------------------------------------


def test_notification_ids_of_others_answer_as_missing_ones(cast, sign_in):
    okafor = cast.users["okafor"]
    theirs = Notification.objects.create(recipient=okafor, kind="message", title="Something is waiting", link="/")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    missing = _missing_pk(Notification)
    before = _rows()
    assert_same_answer(
        _post_json(park, "/api/v1/notifications/read/", {"ids": [theirs.pk]}),
        _post_json(park, "/api/v1/notifications/read/", {"ids": [missing]}),
        theirs.pk,
        missing,
    )
    assert_same_answer(
        park.post("/notifications/read/", {"notification": theirs.pk}),
        park.post("/notifications/read/", {"notification": missing}),
        theirs.pk,
        missing,
    )
    theirs.refresh_from_db()
    assert theirs.read_at is None and _rows() == before


# --- site admins and the access report ------------------------------------------------


def test_admin_and_audit_ids_of_others_answer_as_missing_ones(cast, sign_in):
    maple_admin = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    cedar_admin = sign_in(cast.users["cedarvalley_admin"], cast.organizations["cedarvalley"])
    theirs = Membership.objects.filter(organization=cast.organizations["northfield"]).order_by("pk").first()
    missing = _missing_pk(Membership)
    before = _rows()
    for method, template in (
        ("get", "/api/v1/users/{}/"),
        ("patch", "/api/v1/users/{}/"),
        ("post", "/api/v1/users/{}/deactivate/"),
        ("get", "/admin/users/{}/"),
        ("post", "/admin/users/{}/deactivate/"),
        ("post", "/admin/users/{}/reset-second-factor/"),
    ):
        call = getattr(maple_admin, method)
        kwargs = (
            {"data": json.dumps({"role": "staff"}), "content_type": "application/json"} if method == "patch" else {}
        )
        assert_same_answer(
            call(template.format(theirs.pk), **kwargs), call(template.format(missing), **kwargs), theirs.pk, missing
        )
    maria, nothing = cast.patients["maria"], uuid.uuid4()
    for template in ("/audit/patients/{}/", "/audit/patients/{}/export/"):
        assert_same_answer(
            cedar_admin.get(template.format(maria.uuid)), cedar_admin.get(template.format(nothing)), maria.uuid, nothing
        )
    assert _rows() == before
    theirs.refresh_from_db()
    assert theirs.status == "active"
