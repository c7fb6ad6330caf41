"""Forms of the tumor-board pages (validation of input only; the rules are in services)."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.boards.models import Presentation
from portal.forms import Form


class CaseForm(Form):
    board: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,
        to_field_name="uuid",
        empty_label="Choose a board",
    )
    patient: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,
        to_field_name="uuid",
        empty_label="Choose a patient",
    )
    question = forms.CharField(
        label="Question for the board",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text="e.g. Neoadjuvant systemic therapy or surgery first?",
    )
    presentation = forms.ChoiceField(choices=Presentation.choices, widget=forms.RadioSelect)

    def __init__(self, *args: Any, patients: Any, boards: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients.order_by("family_name", "given_name")  # type: ignore[attr-defined]
        self.fields["board"].queryset = boards  # type: ignore[attr-defined]
        self.fields["board"].label_from_instance = lambda board: f"{board.name} — {board.organization.name}"  # type: ignore[attr-defined]
