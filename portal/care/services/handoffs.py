"""Hand-offs between organizations: sending one and acknowledging it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.accounts.models import Membership, User
from portal.care.models import (
    HANDOFF_SECTIONS,
    Handoff,
    Responsible,
)
from portal.care.services.common import TransitionRefused, _clinical_member, _navigators_and_clinicians
from portal.care.transitions import handoff_move
from portal.notifications.services import notification_send, notifications_mark_read_for
from portal.patients.models import NetworkPatient
from portal.patients.selectors import has_regular_access, user_can_view_patient
from portal.text import text_clean
from tenants.models import Organization


def _clean_items(items: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    sections = {key for key, _ in HANDOFF_SECTIONS}
    cleaned = []
    for item in items:
        text = text_clean(str(item.get("text", "")))
        if not text:
            continue
        section = item.get("section")
        responsible = item.get("responsible")
        if section not in sections or responsible not in Responsible.values:
            raise ValidationError(
                {"items": ["Each item needs a section and who is responsible (oncology or primary care)."]}
            )
        if len(text) > 1000:
            raise ValidationError({"items": ["Keep each plan item under 1,000 characters."]})
        cleaned.append({"section": section, "text": text, "responsible": responsible})
    return cleaned


@transaction.atomic
def handoff_send(
    *,
    user: User,
    organization: Organization,
    patient: NetworkPatient,
    to_organization: Organization,
    kind: str,
    treatment_summary: str,
    items: Iterable[dict[str, Any]],
    to_user: User | None = None,
) -> Handoff:
    if not user_can_view_patient(user=user, organization=organization, patient=patient):
        raise PermissionDenied("You cannot hand off this patient from here.")
    errors: dict[str, list[str]] = {}
    if to_organization is None or to_organization.pk == organization.pk or to_organization.is_network:
        errors["to_organization"] = ["Choose the receiving organization."]
    elif not to_organization.is_active or not has_regular_access(organization=to_organization, patient=patient):
        # A hand-off shows the patient's plan to its receiver: only to an organization
        # already caring for the patient.
        errors["to_organization"] = [
            f"{to_organization.name} does not care for this patient. "
            "Hand off to an organization that does, or refer the patient to them first."
        ]
    elif (
        to_user is not None
        and not Membership.objects.active().clinical().filter(user=to_user, organization=to_organization).exists()
    ):
        errors["to_user"] = ["This clinician does not work at the receiving organization."]
    if not text_clean(treatment_summary):
        errors["treatment_summary"] = ["Summarize the treatment."]
    try:
        cleaned = _clean_items(items)
    except ValidationError as error:
        errors.update(error.message_dict)
        cleaned = []
    from portal.care.models import HandoffKind

    if kind not in HandoffKind.values:
        errors["kind"] = ["Choose survivorship care plan or discharge."]
    if errors:
        raise ValidationError(errors)
    handoff = Handoff.objects.create(
        kind=kind,
        patient=patient,
        from_organization=organization,
        from_user=user,
        to_organization=to_organization,
        to_user=to_user,
        treatment_summary=text_clean(treatment_summary),
        items=cleaned,
    )
    notification_send(
        recipients=[to_user] if to_user else _navigators_and_clinicians(to_organization),
        kind="handoff",
        title="A hand-off waits for your acknowledgement",
        link=f"/care/handoffs/{handoff.uuid}/",
        organization=to_organization,
        subject=handoff,
        subject_label=handoff.get_kind_display(),
    )
    return handoff


@transaction.atomic
def handoff_acknowledge(*, handoff: Handoff, user: User, organization: Organization) -> Handoff:
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    if organization.pk != handoff.to_organization_id or not _clinical_member(user=user, organization=organization):
        raise TransitionRefused("Only the receiving organization's clinicians acknowledge a hand-off.")
    if handoff.to_user_id is not None and handoff.to_user_id != user.pk:
        raise TransitionRefused("This hand-off is addressed to another clinician.")
    handoff_move(handoff=handoff, action="acknowledge", user=user)
    notification_send(
        recipients=[handoff.from_user],
        kind="handoff",
        title="Your hand-off was acknowledged",
        link=f"/care/handoffs/{handoff.uuid}/",
        organization=handoff.from_organization,
        subject=handoff,
        subject_label=handoff.get_kind_display(),
    )
    notifications_mark_read_for(user=user, subject=handoff, organization=organization)
    return handoff
