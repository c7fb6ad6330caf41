from django import forms

from portal.forms import Form
from portal.patients.models import Sex

# A name longer than this is a paste, not a name: refused before any matching runs.
NAME_MAX_LENGTH = 100


def _name_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=NAME_MAX_LENGTH,
        error_messages={"max_length": f"A name is at most {NAME_MAX_LENGTH} characters."},
    )


def _clean_name(value: str) -> str:
    value = " ".join(value.split())
    if not any(ch.isalpha() for ch in value):
        raise forms.ValidationError("A name must contain at least one letter.")
    return value


class _NamedPatientForm(Form):
    given_name = _name_field("Given name")
    family_name = _name_field("Family name")

    def clean_given_name(self) -> str:
        return _clean_name(self.cleaned_data["given_name"])

    def clean_family_name(self) -> str:
        return _clean_name(self.cleaned_data["family_name"])


class RegisterPatientForm(_NamedPatientForm):
    date_of_birth = forms.DateField(label="Date of birth", widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(
        choices=[("", "Choose…"), *Sex.choices],
        error_messages={"required": "Choose the patient's sex as recorded here (Unknown if it is not known)."},
    )
    mrn = forms.CharField(label="Medical record number here", max_length=40)


class EmergencyAccessForm(_NamedPatientForm):
    date_of_birth = forms.DateField(label="Date of birth", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="Why you need this record now. The reason is recorded and shown to the patient's organizations.",
    )


class AccessRequestForm(Form):
    reason = forms.CharField(
        label="Why your organization needs the shared record",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Shown to the navigators and site admins who answer. Say what care you give the patient.",
    )


class TimelinePageForm(Form):
    """Where the next page of a chart's timeline starts: after this entry (none: the newest),
    and when the user last opened the chart before (for the "new since you looked" mark)."""

    after = forms.UUIDField(required=False)
    since = forms.DateTimeField(required=False)
