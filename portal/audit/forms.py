"""The access log's filters. They travel as GET parameters: a person, an action, dates —
never a patient's name (a patient's events are reached by the report's UUID link)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from portal.audit.labels import action_choices
from portal.forms import Form


def _action_filter_choices() -> list[tuple[str, str]]:
    return [("", "Any action"), *action_choices()]


class AccessLogFilterForm(Form):
    person = forms.CharField(
        label="Person",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Name or email", "type": "search"}),
    )
    action = forms.ChoiceField(label="Action", required=False, choices=_action_filter_choices)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    emergency = forms.BooleanField(label="Emergency access only", required=False)
    denied = forms.BooleanField(label="Refused requests only", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return data

    def filters(self) -> dict[str, Any]:
        """The selector's keyword arguments; an invalid form filters nothing it could not read."""
        if not self.is_bound:
            return {}
        if not self.is_valid():
            data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        else:
            data = self.cleaned_data
        return {
            "person": (data.get("person") or "").strip(),
            "action": data.get("action") or "",
            "start": data.get("start"),
            "end": data.get("end"),
            "emergency_only": bool(data.get("emergency")),
            "denied_only": bool(data.get("denied")),
        }

    @staticmethod
    def describe(filters: dict[str, Any]) -> dict[str, str]:
        """The filters as recorded in the export's audit event (JSON-safe)."""
        return {
            key: value.isoformat() if isinstance(value, dt.date) else str(value)
            for key, value in filters.items()
            if value not in (None, "", False)
        }
