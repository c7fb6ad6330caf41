"""Threads and messages through the pages: compose, read, reply, receipts, archive, search."""

import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.messaging.models import Attachment, Message, MessageReceipt, Participant, Thread
from portal.notifications.models import Delivery, Notification
from tests.files import pdf_bytes
from tests.messaging.helpers import okafor_writes_park, snapshot


def _park_value(cast):
    return f"u:{cast.organizations['maple'].pk}:{cast.users['park'].pk}"


def test_okafor_sends_park_a_message_about_maria_from_the_compose_page(cast, sign_in):
    client = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    maria = cast.patients["maria"]
    page = client.get(f"/messages/new/?patient={maria.uuid}")
    assert page.status_code == 200
    assert "Peter Park" in page.content.decode()
    assert "Carla Chen" not in page.content.decode()  # may not see Maria: not offered
    response = client.post(
        "/messages/new/",
        {
            "patient": str(maria.uuid),
            "recipients": [_park_value(cast)],
            "subject": "Labs after cycle 3",
            "body": "Please draw a CBC on Thursday.",
        },
    )
    assert response.status_code == 302
    thread = Thread.objects.get(subject="Labs after cycle 3")
    assert thread.patient == maria
    assert response["Location"] == f"/messages/{thread.uuid}/"
    notification = Notification.objects.get(recipient=cast.users["park"])
    assert notification.link == f"/messages/{thread.uuid}/"
    assert "Maria" not in notification.title and "Alvarez" not in notification.title
    assert notification.organization == cast.organizations["maple"]
    assert Delivery.objects.filter(notification=notification, status="pending").count() == 1


def test_park_reads_then_okafor_sees_the_read_receipt(cast, sign_in):
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    assert "Not read yet" in okafor.get(f"/messages/{thread.uuid}/").content.decode()
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    inbox = park.get("/messages/").content.decode()
    assert "Labs after cycle 3" in inbox and 'title="Unread messages">1' in inbox
    assert park.get(f"/messages/{thread.uuid}/").status_code == 200
    assert Notification.objects.get(recipient=cast.users["park"]).read_at is not None
    assert MessageReceipt.objects.filter(user=cast.users["park"]).count() == 1
    page = okafor.get(f"/messages/{thread.uuid}/").content.decode()
    assert "Read by Peter Park, MD (Maple Family Medicine)" in page
    assert 'title="Unread messages"' not in park.get("/messages/").content.decode()


def test_park_replies_from_the_inbox_and_okafor_is_told(cast, sign_in):
    thread = okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    response = park.post(
        f"/messages/{thread.uuid}/reply/", {"body": "Booked for 9:00.", "from": "inbox"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Reply sent" in response.content.decode()
    assert thread.messages.count() == 2
    assert thread.messages.last().sender == cast.users["park"]
    assert Notification.objects.filter(recipient=cast.users["okafor"], link=f"/messages/{thread.uuid}/").count() == 1


def test_an_empty_reply_is_refused_and_nothing_is_written(cast, sign_in):
    thread = okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = snapshot()
    response = park.post(f"/messages/{thread.uuid}/reply/", {"body": "  "})
    assert response.status_code == 400
    assert snapshot() == before


def test_a_pool_message_reaches_the_care_team_and_shows_who_answered(cast, sign_in):
    from portal.messaging.services import Recipient, thread_start

    thread = thread_start(
        sender=cast.users["navarro"],
        organization=cast.organizations["northfield"],
        subject="Survivorship plan",
        patient=cast.patients["maria"],
        recipients=[Recipient(organization=cast.organizations["maple"])],
        body="Who should receive the hand-off?",
    )
    assert Participant.objects.filter(thread=thread, user__isnull=True, organization__slug="maple").exists()
    assert Notification.objects.filter(recipient=cast.users["park"]).count() == 1
    assert not Notification.objects.filter(recipient=cast.users["maple_admin"]).exists()  # not clinical
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert "Survivorship plan" in park.get("/messages/").content.decode()
    park.post(f"/messages/{thread.uuid}/reply/", {"body": "Send it to me."})
    navarro = sign_in(cast.users["navarro"], cast.organizations["northfield"])
    page = navarro.get(f"/messages/{thread.uuid}/").content.decode()
    assert "Peter Park, MD" in page and "Maple Family Medicine — care team" in page


def test_adding_chen_to_marias_thread_is_refused_with_a_reason(cast, sign_in):
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    chen_value = f"u:{cast.organizations['cedarvalley'].pk}:{cast.users['chen'].pk}"
    before = snapshot()
    response = okafor.post(f"/messages/{thread.uuid}/participants/", {"recipient": chen_value})
    assert response.status_code == 400
    assert (
        "Carla Chen, MD at Cedar Valley Clinic cannot be added: they may not see this patient"
        in response.content.decode()
    )
    assert snapshot() == before


def test_archive_moves_the_thread_out_of_the_inbox_and_a_new_message_brings_it_back(cast, sign_in):
    thread = okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert park.post(f"/messages/{thread.uuid}/archive/", {"archived": "1"}).status_code == 302
    assert "Labs after cycle 3" not in park.get("/messages/").content.decode()
    assert "Labs after cycle 3" in park.get("/messages/?box=archived").content.decode()
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "One more thing."})
    assert "Labs after cycle 3" in park.get("/messages/").content.decode()


def _search(client, q, **extra):
    return client.post("/messages/", {"q": q, **extra.pop("data", {})}, **extra)


def test_search_finds_only_the_users_own_messages(cast, sign_in):
    okafor_writes_park(cast, subject="Neutropenia watch", body="Check the ANC twice weekly.")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert "Neutropenia watch" in _search(park, "twice weekly").content.decode()
    assert "Neutropenia watch" not in _search(park, "zebra").content.decode()
    htmx = _search(park, "twice", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-list")
    assert "<html" not in htmx.content.decode() and "Neutropenia watch" in htmx.content.decode()
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert "Neutropenia watch" not in _search(chen, "twice").content.decode()


def test_the_inbox_search_is_a_post_and_its_words_never_reach_a_url(cast, sign_in):
    okafor_writes_park(cast, subject="Neutropenia watch", body="Check the ANC twice weekly.")
    okafor_writes_park(cast, subject="Port flush", body="Due next week.")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    inbox = park.get("/messages/").content.decode()
    form = inbox[inbox.index('role="search"') - 200 : inbox.index("</form>", inbox.index('role="search"'))]
    assert 'method="post"' in form and "hx-post=" in form and "csrfmiddlewaretoken" in form
    assert "hx-get=" not in form and "hx-push-url" not in form
    # A ?q= in a URL is not a search (and is not echoed back): both threads are listed.
    old_link = park.get("/messages/?q=neutropenia").content.decode()
    assert "Port flush" in old_link and "Neutropenia watch" in old_link and 'value="neutropenia"' not in old_link
    # Without JavaScript the POST renders the whole page with the results.
    page = _search(park, "neutropenia")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert "Neutropenia watch" in html and "Port flush" not in html and 'value="neutropenia"' in html


def test_the_inbox_search_needs_the_csrf_token(cast, sign_in):
    okafor_writes_park(cast, subject="Neutropenia watch")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    park.handler.enforce_csrf_checks = True
    refused = _search(park, "neutropenia")
    assert refused.status_code == 403 and "Neutropenia watch" not in refused.content.decode()
    page = park.get("/messages/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    searched = _search(park, "neutropenia", data={"csrfmiddlewaretoken": token})
    assert searched.status_code == 200 and "Neutropenia watch" in searched.content.decode()


def test_the_other_inbox_filters_still_work_with_and_without_a_search(cast, sign_in):
    okafor_writes_park(cast, subject="Neutropenia watch", urgent=True)
    okafor_writes_park(cast, subject="Port flush")
    archived = okafor_writes_park(cast, subject="Old neutropenia labs")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    park.post(f"/messages/{archived.uuid}/archive/", {"archived": "1"})
    urgent = park.get("/messages/?urgent=1").content.decode()
    assert "Neutropenia watch" in urgent and "Port flush" not in urgent
    box = park.get("/messages/?box=archived").content.decode()
    assert "Old neutropenia labs" in box and "Port flush" not in box
    searched = _search(park, "neutropenia", data={"box": "archived"}).content.decode()
    assert "Old neutropenia labs" in searched and "Neutropenia watch" not in searched
    searched = _search(park, "neutropenia", data={"urgent": "1"}).content.decode()
    assert "Neutropenia watch" in searched and "Old neutropenia labs" not in searched


def test_a_searchs_pages_are_asked_for_by_post_without_the_words_in_links(cast, sign_in):
    for n in range(27):
        okafor_writes_park(cast, subject=f"Neutropenia watch {n}")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    first = _search(park, "neutropenia").content.decode()
    assert "Page 1 of 2" in first
    assert "q=" not in first  # no link carries the words
    pager = first[first.index('class="msg-pager"') :]
    assert 'name="page" value="2"' in pager and 'name="q" value="neutropenia"' in pager
    second = _search(park, "neutropenia", data={"page": "2"}).content.decode()
    assert "Page 2 of 2" in second and "Neutropenia watch 0<" in second
    # Pages of the plain inbox are links, keeping the filters.
    plain = park.get("/messages/").content.decode()
    assert 'href="?page=2"' in plain


def test_attachments_are_checked_by_content_and_stored_under_the_sender_organization(cast, sign_in, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    thread = okafor_writes_park(cast)
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    fake = SimpleUploadedFile("labs.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    before = snapshot()
    response = okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "See attached", "attachments": [fake]})
    assert response.status_code == 400 and "is not a PDF, PNG, JPEG or GIF file" in response.content.decode()
    assert snapshot() == before
    pdf = SimpleUploadedFile("labs.pdf", pdf_bytes(), content_type="text/plain")
    assert (
        okafor.post(f"/messages/{thread.uuid}/reply/", {"body": "See attached", "attachments": [pdf]}).status_code
        == 302
    )
    attachment = Attachment.objects.get(message__thread=thread)
    assert attachment.content_type == "application/pdf"
    assert (tmp_path / cast.organizations["northfield"].schema_name / attachment.path).exists()
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    download = park.get(f"/messages/attachments/{attachment.uuid}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    assert chen.get(f"/messages/attachments/{attachment.uuid}/").status_code in (403, 404)
    assert park.get(f"/messages/attachments/{uuid.uuid4()}/").status_code == 404


def test_a_patient_thread_view_is_audited(cast, sign_in):
    from portal.audit.models import AuditEvent

    thread = okafor_writes_park(cast)
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    park.get(f"/messages/{thread.uuid}/")
    event = AuditEvent.objects.filter(object_type="message_thread", object_id=str(thread.uuid)).get()
    assert event.patient == cast.patients["maria"] and event.actor == cast.users["park"]


def test_threads_for_patient_lists_the_charts_threads(cast):
    from django.template.loader import render_to_string

    from portal.messaging.selectors import threads_for_patient

    thread = okafor_writes_park(cast)
    maria = cast.patients["maria"]
    threads = list(
        threads_for_patient(user=cast.users["park"], organization=cast.organizations["maple"], patient=maria)
    )
    assert [t.pk for t in threads] == [thread.pk]
    assert not threads_for_patient(
        user=cast.users["chen"], organization=cast.organizations["cedarvalley"], patient=maria
    )
    html = render_to_string("messaging/partials/patient_threads.html", {"patient_threads": threads, "patient": maria})
    assert f"/messages/{thread.uuid}/" in html
    # The chart's own call (access to Maria already checked) lists the same thread, with its unread count.
    charted = list(
        threads_for_patient(
            user=cast.users["park"], organization=cast.organizations["maple"], patient=maria, access_checked=True
        )
    )
    assert [(t.pk, t.unread) for t in charted] == [(thread.pk, 1)]
    # Nina at Northfield sees Maria but takes no part in this thread.
    assert not threads_for_patient(
        user=cast.users["navarro"], organization=cast.organizations["northfield"], patient=maria, access_checked=True
    )


def test_the_inbox_does_not_grow_queries_with_threads(cast, sign_in, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    okafor_writes_park(cast, subject="Thread 0")
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    with CaptureQueriesContext(connection) as one_thread:
        park.get("/messages/")
    for n in range(1, 12):
        okafor_writes_park(cast, subject=f"Thread {n}")
    # 15 in tests, where the address is looked up on every request (no routing cache); one
    # of them loads the session, which lives in PostgreSQL.
    with django_assert_max_num_queries(min(15, len(one_thread))):
        response = park.get("/messages/")
    assert response.status_code == 200 and "Thread 11" in response.content.decode()
    assert Message.objects.count() >= 12


def test_the_thread_page_does_not_grow_queries_with_messages(cast, sign_in, django_assert_max_num_queries):
    from portal.messaging.services import message_reply

    thread = okafor_writes_park(cast)
    for n in range(10):
        message_reply(
            thread=thread,
            sender=cast.users["park"] if n % 2 else cast.users["okafor"],
            organization=cast.organizations["maple"] if n % 2 else cast.organizations["northfield"],
            body=f"Message {n}",
        )
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    with django_assert_max_num_queries(30):
        response = okafor.get(f"/messages/{thread.uuid}/")
    assert response.status_code == 200 and "Message 9" in response.content.decode()


def _compose_form(html):
    start = html.index('action="/messages/new/"')
    return html[start : html.index("</form>", start)]


def test_the_compose_forms_default_button_is_send(cast, sign_in):
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    html = okafor.get(f"/messages/new/?patient={cast.patients['maria'].uuid}").content.decode()
    buttons = re.findall(r"<button[^>]*>[^<]*</button>", _compose_form(html))
    submits = [b for b in buttons if 'type="submit"' in b]
    # Pressing Enter in a field submits with the first submit button: it must send.
    assert "Send message" in submits[0] and 'name="refresh"' not in submits[0]
    assert any('name="refresh"' in b and "Update recipients" in b for b in submits[1:])


def test_update_recipients_keeps_everything_typed_and_sends_nothing(cast, sign_in):
    maria = cast.patients["maria"]
    entry = maria.registry_entries.filter(kind="lab_result").first()
    chen_value = f"u:{cast.organizations['cedarvalley'].pk}:{cast.users['chen'].pk}"
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    before = snapshot()
    response = okafor.post(
        "/messages/new/",
        {
            "refresh": "1",
            "patient": str(maria.uuid),
            "recipients": [_park_value(cast), chen_value],
            "subject": "Labs after cycle 3",
            "body": "Please draw a CBC on Thursday.\nAnd a CMP.",
            "urgent": "on",
            "entries": [str(entry.pk)],
        },
    )
    assert response.status_code == 200
    assert snapshot() == before  # nothing sent
    form = _compose_form(response.content.decode())
    assert 'value="Labs after cycle 3"' in form
    assert "Please draw a CBC on Thursday.\nAnd a CMP.</textarea>" in form
    assert re.search(r'<input type="checkbox" name="urgent"[^>]*checked', form)
    assert re.search(rf'<option value="{maria.uuid}"\s+selected', form)
    assert f'name="recipients" value="{_park_value(cast)}" checked' in form
    assert chen_value not in form  # may not see Maria: dropped, and said so
    assert "1 recipient removed: they may not see the chosen patient." in form
    assert f'name="entries" value="{entry.pk}" checked' in form


def test_update_recipients_with_javascript_keeps_the_chosen_recipients(cast, sign_in):
    maria = cast.patients["maria"]
    okafor = sign_in(cast.users["okafor"], cast.organizations["northfield"])
    page = okafor.get("/messages/new/").content.decode()
    assert "#recipient-fields input[name='recipients']" in page  # the patient select sends the chosen along
    partial = okafor.get(
        "/messages/new/",
        {"patient": str(maria.uuid), "recipients": [_park_value(cast)]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="recipient-fields",
    ).content.decode()
    assert "<html" not in partial
    assert f'name="recipients" value="{_park_value(cast)}" checked' in partial


def test_an_attached_entry_shows_its_kind_title_and_date_linked_to_the_chart(cast, sign_in):
    from django.template.loader import render_to_string

    from portal.messaging.selectors import thread_messages
    from portal.messaging.services import Recipient, thread_start

    maria = cast.patients["maria"]
    entry = maria.registry_entries.filter(kind="lab_result").first()
    thread = thread_start(
        sender=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        subject="Labs after cycle 3",
        patient=maria,
        recipients=[Recipient(organization=cast.organizations["maple"], user=cast.users["park"])],
        body="See the attached result.",
        entries=[entry],
    )
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    html = park.get(f"/messages/{thread.uuid}/").content.decode()
    link = f'<a href="/patients/{maria.uuid}/entries/{entry.uuid}/">{entry.title}</a>'
    assert link in html
    assert '<span class="badge badge-source">Lab result</span>' in html
    assert f"{entry.effective_at:%b} {entry.effective_at.day}, {entry.effective_at.year}" in html
    assert ">lab_result<" not in html
    assert park.get(f"/patients/{maria.uuid}/entries/{entry.uuid}/").status_code == 200
    # Rendered for anyone not known to see Maria, the entry shows nothing of itself.
    bare = render_to_string(
        "messaging/partials/messages.html",
        {"thread": thread, "thread_messages": thread_messages(thread=thread), "user": cast.users["chen"]},
    )
    assert entry.title not in bare and "/patients/" not in bare and "A shared-record entry" in bare


def test_the_unread_count_follows_reading_archiving_and_access_to_the_patient(cast):
    from portal.messaging.selectors import unread_thread_count
    from portal.messaging.services import thread_archive, thread_mark_read
    from portal.patients.models import CareRelationship
    from portal.patients.services import care_relationship_end

    park, maple = cast.users["park"], cast.organizations["maple"]
    about_maria = okafor_writes_park(cast, subject="Labs after cycle 4")
    second = okafor_writes_park(cast, subject="Port flush")
    assert unread_thread_count(user=park, organization=maple) == 2
    thread_mark_read(thread=about_maria, user=park, organization=maple)
    assert unread_thread_count(user=park, organization=maple) == 1
    thread_archive(thread=second, user=park, organization=maple)
    assert unread_thread_count(user=park, organization=maple) == 0
    thread_archive(thread=second, user=park, organization=maple, archived=False)
    assert unread_thread_count(user=park, organization=maple) == 1
    # Once Maple no longer cares for Maria, her threads are not counted (nor readable).
    for relationship in CareRelationship.objects.active().filter(patient=cast.patients["maria"], organization=maple):
        care_relationship_end(relationship=relationship)
    assert unread_thread_count(user=park, organization=maple) == 0
    assert unread_thread_count(user=cast.users["chen"], organization=cast.organizations["cedarvalley"]) == 0
