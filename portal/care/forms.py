"""Input shapes of the care pages; the rules live in services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from portal.care.models import CHECKLIST_ITEMS, HANDOFF_SECTIONS, HandoffKind, Priority, Responsible
from portal.forms import Form, choice_field, model_choice_field
from portal.patients.models import CareRelationship, NetworkPatient
from tenants.models import Organization, OrganizationKind, OrganizationStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from django.db.models import QuerySet

    from portal.care.selectors import LinkChoices


def _active_organizations() -> QuerySet[Organization]:
    return Organization.objects.filter(status=OrganizationStatus.ACTIVE).exclude(kind=OrganizationKind.NETWORK)


def _partner_organizations(current: Organization) -> QuerySet[Organization]:
    return _active_organizations().exclude(pk=current.pk).order_by("name")


def _organizations_caring_for(patient: NetworkPatient | None) -> QuerySet[Organization]:
    """Active organizations with an active care relationship with the patient (none if no patient)."""
    if patient is None:
        return Organization.objects.none()
    caring = CareRelationship.objects.active().filter(patient=patient).values("organization_id")
    return _active_organizations().filter(pk__in=caring).order_by("name")


class ReferralForm(Form):
    patient = forms.ModelChoiceField(queryset=NetworkPatient.objects.none(), to_field_name="uuid")
    receiving_organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label="Refer to")
    specialty = forms.CharField(max_length=100, label="Referred for", help_text="e.g. Hematology/oncology consult")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Clinical question")
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)
    checklist = forms.MultipleChoiceField(
        choices=CHECKLIST_ITEMS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="What the receiver needs",
    )

    def __init__(
        self, *args: Any, patients: QuerySet[NetworkPatient], organization: Organization, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "patient").queryset = patients
        model_choice_field(self, "receiving_organization").queryset = _partner_organizations(organization)


class TransitionForm(Form):
    action = forms.CharField(max_length=30)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    appointment_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    outcome_entry = forms.UUIDField(required=False)


RECURRENCE_CHOICES = [("once", "Once, by a due date"), ("weekly", "Repeats on a schedule")]
SCHEDULE_FIELDS = ("starts_on", "times_per_week", "weeks", "until")


class CareTaskForm(Form):
    patient = forms.ModelChoiceField(queryset=NetworkPatient.objects.none(), to_field_name="uuid")
    owner_organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        label="Done by",
        help_text="Only organizations that care for the patient.",
    )
    title = forms.CharField(max_length=200, label="Test or task", help_text="e.g. CBC with differential")
    code = forms.CharField(max_length=64, required=False, label="LOINC code")
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    schedule = forms.ChoiceField(
        choices=RECURRENCE_CHOICES, initial="weekly", widget=forms.RadioSelect, label="How often"
    )
    due_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Due by"
    )
    starts_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Starting",
        help_text="The first week of the schedule (today if left empty).",
    )
    times_per_week = forms.IntegerField(min_value=1, max_value=5, initial=2, required=False, label="Times a week")
    weeks = forms.IntegerField(
        min_value=1,
        max_value=26,
        initial=3,
        required=False,
        label="For how many weeks",
        help_text="Or give an end date.",
    )
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Or until (included)")

    def __init__(
        self,
        *args: Any,
        patients: QuerySet[NetworkPatient],
        organization: Organization,
        patient: NetworkPatient | None = None,
        owner_url: str = "",
        **kwargs: Any,
    ) -> None:
        """``patient``: the patient chosen so far (from the chart's link or the posted form),
        whose caring organizations are the only owners offered; ``owner_url``: where the
        page reloads that list when another patient is chosen."""
        super().__init__(*args, **kwargs)
        model_choice_field(self, "patient").queryset = patients
        model_choice_field(self, "owner_organization").queryset = _organizations_caring_for(patient)
        if patient is None:
            model_choice_field(self, "owner_organization").empty_label = "Choose the patient first"
        if owner_url:
            self.fields["patient"].widget.attrs.update(
                {
                    "hx-get": owner_url,
                    "hx-trigger": "change",
                    "hx-target": "#id_owner_organization",
                    "hx-select": "#id_owner_organization",
                    "hx-swap": "outerHTML",
                }
            )

    def what_fields(self) -> list[Any]:
        """The task itself: patient, owner, test, instructions (the live check watches these)."""
        return [self[name] for name in ("patient", "owner_organization", "title", "code", "instructions")]

    def repeat_fields(self) -> list[Any]:
        return [self[name] for name in SCHEDULE_FIELDS]

    def clean(self) -> dict[str, Any]:
        """A repeating task needs its schedule (times a week, and weeks or an end date), a
        one-off task its due date; what the other choice would need is ignored."""
        data = super().clean() or {}
        if data.get("schedule") == "once":
            if not data.get("due_at"):
                self.add_error("due_at", "Give the date the result is due by.")
            for name in SCHEDULE_FIELDS:
                data[name] = None
        elif data.get("schedule") == "weekly":
            data["due_at"] = None
            if not data.get("times_per_week"):
                self.add_error("times_per_week", "Say how many times a week (1 to 5).")
            weeks, until = data.get("weeks"), data.get("until")
            if until is not None and weeks:
                self.add_error("until", "Give either a number of weeks or an end date, not both.")
            starts = data.get("starts_on") or timezone.localdate()
            if until is not None and until < starts:
                self.add_error("until", "The end date is before the start.")
            if until is None and not weeks:
                self.add_error("weeks", "Say for how many weeks, or until when.")
        return data


class LinkResultForm(Form):
    occurrence = forms.IntegerField()
    entry = forms.UUIDField(error_messages={"required": "Choose the result that answers this occurrence."})


class OccurrenceResultForm(Form):
    """Closing one occurrence: only the results that answer it are offered, none chosen in
    advance (``choices``: ``portal.care.selectors.LinkChoices``)."""

    occurrence = forms.IntegerField(widget=forms.HiddenInput)
    entry = forms.ChoiceField(label="Result on the shared record")

    def __init__(self, data: Mapping[str, Any] | None = None, *, choices: LinkChoices, **kwargs: Any) -> None:
        super().__init__(data, initial={"occurrence": choices.occurrence.pk}, **kwargs)
        self.choice = choices
        pk = choices.occurrence.pk
        choice_field(self, "entry").choices = [
            ("", "Choose the result…"),
            *[(str(c.primary.uuid), c.label) for c in choices.offered],
        ]
        self.fields["entry"].widget.attrs.update({"id": f"link-entry-{pk}", "required": True})
        self.fields["occurrence"].widget.attrs["id"] = f"link-occurrence-{pk}"


class HandoffForm(Form):
    kind = forms.ChoiceField(choices=HandoffKind.choices)
    to_organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label="Hand off to")
    treatment_summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, organization: Organization, patient: NetworkPatient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only to an organization that cares for the patient.
        partners = _organizations_caring_for(patient).exclude(pk=organization.pk)
        model_choice_field(self, "to_organization").queryset = partners


def handoff_items_from_post(data: Mapping[str, str]) -> list[dict[str, str]]:
    """Item rows of the hand-off form: item-N-section / item-N-text / item-N-responsible."""
    items = []
    for index in range(40):
        text = data.get(f"item-{index}-text")
        if text is None:
            continue
        items.append(
            {
                "section": data.get(f"item-{index}-section", ""),
                "text": text,
                "responsible": data.get(f"item-{index}-responsible", ""),
            }
        )
    return items


SECTION_CHOICES = HANDOFF_SECTIONS
RESPONSIBLE_CHOICES = Responsible.choices


class ScorecardFilter(Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
    scope = forms.ChoiceField(
        choices=[("organization", "This organization"), ("network", "The whole network")], required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return data
