"""Forms of the messaging pages: they parse input; the rules live in services."""

from __future__ import annotations

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self, data: object, initial: object = None) -> list[object]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000)
    urgent = forms.BooleanField(label="Urgent", required=False)
    attachments = MultipleFileField(label="Attach files (PDF, PNG, JPEG or GIF, up to 10 MB)", required=False)


class ComposeForm(forms.Form):
    patient = forms.ChoiceField(label="Patient (optional)", required=False)
    recipients = forms.MultipleChoiceField(
        label="To",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Clinicians and care teams who may see the patient.",
    )
    subject = forms.CharField(label="Subject", max_length=200)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000)
    urgent = forms.BooleanField(label="Urgent — the recipients are emailed right away", required=False)
    entries = forms.MultipleChoiceField(label="Point at shared-record entries", required=False)
    attachments = MultipleFileField(label="Attach files (PDF, PNG, JPEG or GIF, up to 10 MB)", required=False)

    def __init__(
        self,
        *args: object,
        patients: list[tuple[str, str]],
        recipients: dict[str, list[tuple[str, str]]],
        entries: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["patient"].choices = [("", "— No patient —"), *patients]
        self.fields["recipients"].choices = [("People", recipients["people"]), ("Care teams", recipients["pools"])]
        self.fields["entries"].choices = entries


class AddParticipantForm(forms.Form):
    recipient = forms.ChoiceField(label="Add a participant")

    def __init__(self, *args: object, recipients: dict[str, list[tuple[str, str]]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["recipient"].choices = [
            ("", "— Choose a person or care team —"),
            ("People", recipients["people"]),
            ("Care teams", recipients["pools"]),
        ]
