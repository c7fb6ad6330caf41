"""Forms of the messaging pages: they parse input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.forms import Form, choice_field


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: object, initial: object = None) -> list[object]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ReplyForm(Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000)
    urgent = forms.BooleanField(label="Urgent", required=False)
    attachments = MultipleFileField(label="Attach files (PDF, PNG, JPEG or GIF, up to 10 MB)", required=False)


class ComposeForm(Form):
    patient = forms.ChoiceField(label="Patient (optional)", required=False)
    recipients = forms.MultipleChoiceField(
        label="To",
        widget=forms.CheckboxSelectMultiple,
        help_text="Clinicians and care teams who may see the patient.",
    )
    subject = forms.CharField(label="Subject", max_length=200)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000)
    urgent = forms.BooleanField(label="Urgent — the recipients are emailed right away", required=False)
    entries = forms.MultipleChoiceField(label="Point at shared-record entries", required=False)
    attachments = MultipleFileField(label="Attach files (PDF, PNG, JPEG or GIF, up to 10 MB)", required=False)

    def __init__(
        self,
        *args: Any,
        patients: list[tuple[str, str]],
        recipients: dict[str, list[tuple[str, str]]],
        entries: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "patient").choices = [("", "— No patient —"), *patients]
        choice_field(self, "recipients").choices = [
            ("People", recipients["people"]),
            ("Care teams", recipients["pools"]),
        ]
        choice_field(self, "entries").choices = entries


class AddParticipantForm(Form):
    """One person or care team to add. The list offers only who may be added (who may see
    the thread's patient and does not take part yet); any other value still reaches the
    service, which refuses it with the reason."""

    recipient = forms.CharField(label="Add a participant", max_length=40)

    def __init__(self, *args: Any, recipients: dict[str, list[tuple[str, str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, object]] = [("", "— Choose a person or care team —")]
        if recipients["people"]:
            choices.append(("People", recipients["people"]))
        if recipients["pools"]:
            choices.append(("Care teams", recipients["pools"]))
        self.fields["recipient"].widget = forms.Select(choices=choices)
        self.offered = bool(recipients["people"] or recipients["pools"])
