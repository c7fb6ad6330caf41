"""Pages of secure messaging: inbox, compose, thread (read, reply, add, archive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.audit.services import AuditAction, audit_record
from portal.messaging import selectors, services
from portal.messaging.attachments import storage_for
from portal.messaging.forms import AddParticipantForm, ComposeForm, ReplyForm
from portal.patients.models import NetworkPatient
from portal.patients.selectors import patient_get_for_user, visible_patients
from portal.records.templatetags.record_tags import kind_label

if TYPE_CHECKING:
    from uuid import UUID

    from portal.accounts.models import Membership
    from portal.accounts.typing import AuthenticatedRequest
    from portal.messaging.models import Participant, Thread


def _member(request: AuthenticatedRequest) -> Membership:
    """The signed-in member here; messaging is for clinical staff (others: 403)."""
    if getattr(request, "membership", None) is None:
        raise Http404("Not here")
    membership = selectors.messaging_membership(user=request.user, organization=request.tenant)
    if membership is None:
        raise PermissionDenied("Secure messaging is for clinical staff.")
    return membership


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    """The inbox. A search is a POST: its words may carry clinical details, and a URL lands
    in server logs and browser history — so ``?q=`` is ignored. The other filters (box,
    urgent, page) are read from either."""
    _member(request)
    data = request.POST if request.method == "POST" else request.GET
    archived = data.get("box") == "archived"
    query = request.POST.get("q", "")[:100] if request.method == "POST" else ""
    urgent_only = data.get("urgent") == "1"
    inbox = selectors.inbox_page(
        user=request.user,
        organization=request.tenant,
        page_number=data.get("page"),
        archived=archived,
        query=query,
        urgent_only=urgent_only,
    )
    context = {
        "page": inbox.page,
        "threads": inbox.threads,
        "archived": archived,
        "query": query,
        "urgent_only": urgent_only,
        "unread_threads": inbox.unread_threads,
    }
    if request.htmx and request.htmx.target == "thread-list":
        return render(request, "messaging/partials/thread_list.html", context)
    return render(request, "messaging/inbox.html", context)


def _patient_choices(request: AuthenticatedRequest) -> list[tuple[str, str]]:
    patients = visible_patients(user=request.user, organization=request.tenant).order_by("family_name", "given_name")
    return [(str(p.uuid), f"{p.family_name}, {p.given_name} ({p.date_of_birth:%Y-%m-%d})") for p in patients[:500]]


def _chosen_patient(request: AuthenticatedRequest, value: str) -> NetworkPatient | None:
    if not value:
        return None
    try:
        return patient_get_for_user(user=request.user, organization=request.tenant, patient_uuid=value)
    except (Http404, ValidationError, ValueError):
        return None


def _typed_initial(
    data: Any, *, patient: NetworkPatient | None, recipients: dict[str, list[tuple[str, str]]], entries: list[Any]
) -> tuple[dict[str, Any], int]:
    """What the person has typed so far, for the form shown again after choosing a patient
    (the no-JavaScript "Update recipients" button, or a link): every field is kept, and the
    recipients and entries still allowed for the patient now chosen. Also: how many chosen
    recipients were dropped because they may not see that patient."""
    allowed_recipients = {value for group in recipients.values() for value, _ in group}
    allowed_entries = {value for value, _ in entries}
    chosen = data.getlist("recipients")
    kept = [value for value in chosen if value in allowed_recipients]
    initial = {
        "patient": str(patient.uuid) if patient else "",
        "subject": data.get("subject", "")[:200],
        "body": data.get("body", "")[:10_000],
        "urgent": data.get("urgent", "") in {"on", "1", "true"},
        "recipients": kept,
        "entries": [value for value in data.getlist("entries") if value in allowed_entries],
    }
    return initial, len(set(chosen) - set(kept))


@never_cache
@login_required
def compose(request: AuthenticatedRequest) -> HttpResponse:
    _member(request)
    data = request.POST if request.method == "POST" else request.GET
    patient = _chosen_patient(request, data.get("patient", ""))
    recipients = selectors.recipient_choices(user=request.user, organization=request.tenant, patient=patient)
    entries = [
        (str(e.pk), f"{kind_label(e.kind)}: {e.title} — {e.effective_at:%Y-%m-%d}")
        for e in selectors.registry_entries_for(user=request.user, organization=request.tenant, patient=patient)
    ]
    form_kwargs: dict[str, Any] = {"patients": _patient_choices(request), "recipients": recipients, "entries": entries}
    refresh = request.method == "GET" or "refresh" in request.POST
    if refresh:
        initial, dropped = _typed_initial(data, patient=patient, recipients=recipients, entries=entries)
        form = ComposeForm(initial=initial, **form_kwargs)
        context = {
            "form": form,
            "patient": patient,
            "dropped_recipients": dropped,
            "files_dropped": bool(request.FILES),
        }
        if request.htmx and request.htmx.target == "recipient-fields":
            return render(request, "messaging/partials/recipient_fields.html", context)
        return render(request, "messaging/compose.html", context)
    form = ComposeForm(request.POST, request.FILES, **form_kwargs)
    if form.is_valid():
        try:
            from portal.patients.models import RegistryEntry

            thread = services.thread_start(
                sender=request.user,
                organization=request.tenant,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                patient=patient,
                urgent=form.cleaned_data["urgent"],
                recipients=services.recipients_parse(values=form.cleaned_data["recipients"]),
                uploads=form.cleaned_data["attachments"],
                entries=list(RegistryEntry.objects.filter(pk__in=form.cleaned_data["entries"])),
            )
        except ValidationError as error:
            for message in _errors(error):
                form.add_error(None, message)
        else:
            flash.success(request, "Message sent.")
            return redirect("messaging:thread", thread_uuid=thread.uuid)
    return render(request, "messaging/compose.html", {"form": form, "patient": patient}, status=400)


def _thread_context(request: AuthenticatedRequest, thread: Thread, **extra: Any) -> dict[str, Any]:
    """``thread`` was read through ``selectors.thread_get_for_user``, which gives a thread
    about a patient only to someone who may see that patient here."""
    participants = selectors.thread_participants(thread=thread)
    return {
        "thread": thread,
        "may_see_patient": thread.patient_id is not None,
        "thread_messages": selectors.thread_messages(thread=thread),
        "participants": participants,
        "archived": selectors.is_archived_for(thread=thread, user=request.user),
        "reply_form": extra.pop("reply_form", None) or ReplyForm(),
        "add_form": extra.pop("add_form", None) or _add_form(request, thread, participants),
        **extra,
    }


def _add_form(
    request: AuthenticatedRequest, thread: Thread, participants: list[Participant], data: Any = None
) -> AddParticipantForm:
    """The participant picker: only who may be added to this thread."""
    addable = selectors.participant_choices(
        user=request.user, organization=request.tenant, thread=thread, participants=participants
    )
    return AddParticipantForm(data, recipients=addable)


def _audit_read(request: AuthenticatedRequest, thread: Thread) -> None:
    if thread.patient_id:
        audit_record(
            action=AuditAction.READ,
            request=request,
            object_type="message_thread",
            object_id=thread.uuid,
            patient=thread.patient,
        )


@never_cache
@login_required
def thread_detail(request: AuthenticatedRequest, thread_uuid: UUID | str) -> HttpResponse:
    _member(request)
    thread = selectors.thread_get_for_user(user=request.user, organization=request.tenant, thread_uuid=thread_uuid)
    _audit_read(request, thread)
    services.thread_mark_read(thread=thread, user=request.user, organization=request.tenant)
    context = _thread_context(request, thread)
    if request.htmx and request.htmx.target == "thread-messages":
        return render(request, "messaging/partials/messages.html", context)
    return render(request, "messaging/thread.html", context)


@require_POST
@login_required
def thread_reply(request: AuthenticatedRequest, thread_uuid: UUID | str) -> HttpResponse:
    _member(request)
    thread = selectors.thread_get_for_user(user=request.user, organization=request.tenant, thread_uuid=thread_uuid)
    form = ReplyForm(request.POST, request.FILES)
    status = 200
    if form.is_valid():
        try:
            services.message_reply(
                thread=thread,
                sender=request.user,
                organization=request.tenant,
                body=form.cleaned_data["body"],
                urgent=form.cleaned_data["urgent"],
                uploads=form.cleaned_data["attachments"],
                access_checked=True,  # thread_get_for_user above, in this request
            )
        except ValidationError as error:
            for message in _errors(error):
                form.add_error(None, message)
            status = 400
        else:
            if request.POST.get("from") == "inbox" and not request.htmx:
                flash.success(request, "Reply sent.")
                return redirect("messaging:inbox")
            if not request.htmx:
                return redirect("messaging:thread", thread_uuid=thread.uuid)
            form = ReplyForm()
    else:
        status = 400
    if request.POST.get("from") == "inbox" and request.htmx:
        if status == 200:
            return HttpResponse('<p class="alert alert-info" role="status">Reply sent.</p>')
        # The quick-reply form again, with the reason and what was typed.
        return render(
            request,
            "messaging/partials/quick_reply.html",
            {
                "thread": thread,
                "quick_reply_errors": [error for errors in form.errors.values() for error in errors],
                "quick_reply_body": request.POST.get("body", "")[:10_000],
            },
            status=status,
        )
    context = _thread_context(request, thread, reply_form=form)
    if request.htmx:
        return render(request, "messaging/partials/conversation.html", context, status=status)
    return render(request, "messaging/thread.html", context, status=status)


@require_POST
@login_required
def thread_add_participant(request: AuthenticatedRequest, thread_uuid: UUID | str) -> HttpResponse:
    _member(request)
    thread = selectors.thread_get_for_user(user=request.user, organization=request.tenant, thread_uuid=thread_uuid)
    form = _add_form(request, thread, selectors.thread_participants(thread=thread), request.POST)
    if form.is_valid():
        try:
            recipient = services.recipients_parse(values=[form.cleaned_data["recipient"]])[0]
            participant = services.thread_participant_add(
                thread=thread, actor=request.user, organization=request.tenant, recipient=recipient
            )
        except ValidationError as error:
            for message in _errors(error):
                form.add_error("recipient", message)
        else:
            flash.success(request, f"{participant.label} was added.")
            if not request.htmx:
                return redirect("messaging:thread", thread_uuid=thread.uuid)
            # A fresh picker, without whoever was just added.
            return render(request, "messaging/partials/participants.html", _thread_context(request, thread))
    context = _thread_context(request, thread, add_form=form)
    template = "messaging/partials/participants.html" if request.htmx else "messaging/thread.html"
    return render(request, template, context, status=400)


@require_POST
@login_required
def thread_archive(request: AuthenticatedRequest, thread_uuid: UUID | str) -> HttpResponse:
    _member(request)
    thread = selectors.thread_get_for_user(user=request.user, organization=request.tenant, thread_uuid=thread_uuid)
    archived = request.POST.get("archived", "1") == "1"
    services.thread_archive(thread=thread, user=request.user, organization=request.tenant, archived=archived)
    if request.htmx:
        return HttpResponse("")  # the row leaves the list
    flash.success(request, "Thread archived." if archived else "Thread moved back to the inbox.")
    return redirect("messaging:inbox")


@never_cache
@login_required
def attachment_download(request: AuthenticatedRequest, attachment_uuid: UUID | str) -> FileResponse:
    _member(request)
    attachment = selectors.attachment_get_for_user(
        user=request.user, organization=request.tenant, attachment_uuid=attachment_uuid
    )
    _audit_read(request, attachment.message.thread)
    handle = storage_for(attachment.organization).open(attachment.path, "rb")
    return FileResponse(handle, as_attachment=True, filename=attachment.filename, content_type=attachment.content_type)
