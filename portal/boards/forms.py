"""Forms of the tumor-board pages (validation of input only; the rules are in services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from portal.boards.models import Board, Presentation
from portal.forms import Form
from portal.patients.models import NetworkPatient


class BoardChoiceField(forms.ModelChoiceField):
    """A board, named with the organization that runs it."""

    def label_from_instance(self, obj: Board) -> str:
        return f"{obj.name} — {obj.organization.name}"


class CaseForm(Form):
    board: BoardChoiceField = BoardChoiceField(
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

    def __init__(self, *args: Any, patients: QuerySet[NetworkPatient], boards: QuerySet[Board], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        patient_field, board_field = self.fields["patient"], self.fields["board"]
        assert isinstance(patient_field, forms.ModelChoiceField) and isinstance(board_field, BoardChoiceField)
        patient_field.queryset = patients.order_by("family_name", "given_name")
        board_field.queryset = boards
