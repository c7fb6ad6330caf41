"""Plain-language labels of audit events for the people who read the access log.

The log stores short machine names (``read`` + ``care_task``); site admins read
"Opened a care task". Labels are computed from the stored row only: no query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.audit.models import AuditAction

if TYPE_CHECKING:
    from portal.audit.models import AuditEvent

# What a person did, as a past-tense verb, per action.
ACTION_VERBS: dict[str, str] = {
    AuditAction.READ: "Opened",
    AuditAction.SEARCH: "Searched",
    AuditAction.CREATE: "Created",
    AuditAction.UPDATE: "Changed",
    AuditAction.PUBLISH: "Published",
    AuditAction.GRANT: "Granted",
    AuditAction.REVOKE: "Ended",
    AuditAction.BREAK_GLASS: "Opened emergency access",
    AuditAction.EXPORT: "Exported",
    AuditAction.SIGN_IN: "Signed in",
    AuditAction.SIGN_IN_REFUSED: "Sign-in refused",
    AuditAction.ADMIN: "Administration",
}

# The filter's choices: what an admin looks for, in their words.
ACTION_FILTER_LABELS: dict[str, str] = {
    AuditAction.READ: "Opened (read)",
    AuditAction.SEARCH: "Searched or listed",
    AuditAction.CREATE: "Created",
    AuditAction.UPDATE: "Changed (corrected or withdrawn)",
    AuditAction.PUBLISH: "Published",
    AuditAction.GRANT: "Access granted",
    AuditAction.REVOKE: "Access ended",
    AuditAction.BREAK_GLASS: "Emergency access",
    AuditAction.EXPORT: "Exported",
    AuditAction.SIGN_IN: "Signed in",
    AuditAction.SIGN_IN_REFUSED: "Sign-in refused",
    AuditAction.ADMIN: "Administration",
}

# The thing acted on, with its article.
OBJECT_NOUNS: dict[str, str] = {
    "item": "a record item",
    "chart": "a patient's chart",
    "registry_entries": "shared record entries",
    "care_task": "a care task",
    "care_tasks": "care tasks",
    "care_task_api": "care tasks (API)",
    "occurrence": "a care task occurrence",
    "handoff": "a hand-off",
    "handoffs": "hand-offs",
    "handoff_api": "hand-offs (API)",
    "handoff_prefill": "a hand-off draft",
    "referral": "a referral",
    "referral_api": "referrals (API)",
    "referral_queue": "the inbound referral queue",
    "referral_outbound": "outbound referrals",
    "message_thread": "a message thread",
    "care_relationship": "a care relationship",
    "emergency_access": "emergency access",
    "patient_match": "a patient match",
    "access_request": "a request to see a shared record",
    "denied_reads_alert": "repeated refused requests (site admins told)",
    "scorecard": "the scorecard",
    "access_log": "the access log",
    "organization": "the organization",
    "organization_export": "the organization's repository",
    "agreement": "an agreement",
    "invitation": "an invitation",
    "bulk_invitation": "a bulk invitation",
    "membership": "a person's account",
    "user": "an account",
}

# Whole phrases where verb + noun reads badly.
PHRASES: dict[tuple[str, str], str] = {
    (AuditAction.SEARCH, ""): "Searched for patients",
    (AuditAction.SEARCH, "care_tasks"): "Listed care tasks",
    (AuditAction.SEARCH, "care_task_api"): "Listed care tasks (API)",
    (AuditAction.SEARCH, "handoffs"): "Listed hand-offs",
    (AuditAction.SEARCH, "handoff_api"): "Listed hand-offs (API)",
    (AuditAction.SEARCH, "referral_queue"): "Opened the inbound referral queue",
    (AuditAction.SEARCH, "referral_outbound"): "Listed outbound referrals",
    (AuditAction.SEARCH, "referral_api"): "Listed referrals (API)",
    (AuditAction.READ, "registry_entries"): "Listed shared record entries",
    (AuditAction.GRANT, "care_relationship"): "Started a care relationship",
    (AuditAction.REVOKE, "care_relationship"): "Ended a care relationship",
    (AuditAction.BREAK_GLASS, "emergency_access"): "Opened emergency access",
    (AuditAction.BREAK_GLASS, ""): "Asked for emergency access",
    (AuditAction.UPDATE, "item"): "Corrected or withdrew a record item",
    (AuditAction.EXPORT, "organization_export"): "Exported the organization's repository",
    (AuditAction.EXPORT, "access_log"): "Exported the access log",
    (AuditAction.EXPORT, "scorecard"): "Exported the scorecard",
}

# Administration steps recorded in ``detail["step"]``.
ADMIN_STEPS: dict[str, str] = {
    "organization_recorded": "Added the organization",
    "provisioning_retried": "Retried provisioning",
    "agreement_recorded": "Recorded an agreement",
    "went_live": "Brought the organization live",
    "suspended": "Suspended the organization",
    "reinstated": "Reinstated the organization",
    "exported": "Exported the organization's repository",
    "export_downloaded": "Downloaded the organization's export",
    "offboarded": "Offboarded the organization",
    "schema_archived": "Archived the organization's schema",
    "invited": "Invited a person",
    "invitation_accepted": "Accepted an invitation",
    "invitation_revoked": "Revoked an invitation",
    "bulk_invitation_uploaded": "Uploaded a bulk invitation",
    "role_changed": "Changed a person's role",
    "deactivated": "Deactivated an account",
    "reactivated": "Reactivated an account",
    "attested": "Re-attested an account",
    "second_factor_reset": "Reset a person's second factor",
    "suspended_unattested": "Suspended an account not re-attested in time",
    "disabled_inactive": "Disabled an unused account",
    "totp_enrolled": "Enrolled a second factor",
    "totp_code_wrong": "Entered a wrong second-factor code",
    "locked_out": "Locked out after failed sign-ins",
}


def _sentence(text: str) -> str:
    return text.replace("_", " ").strip().capitalize()


# A refused request is logged with its route's name ("patients:chart", "api-entry"): what
# it asked for, in words.
REFUSED_NOUNS: tuple[tuple[str, str], ...] = (
    ("entry", "a record item"),
    ("chart", "a patient's chart"),
    ("patient", "a patient"),
    ("thread", "a message thread"),
    ("message", "a message"),
    ("attachment", "an attachment"),
    ("referral", "a referral"),
    ("occurrence", "a care task occurrence"),
    ("task", "a care task"),
    ("handoff", "a hand-off"),
    ("notification", "a notification"),
    ("access_request", "a request to see a shared record"),
    ("match", "a patient match"),
)


def _refused_noun(view_name: str) -> str:
    name = view_name.lower()
    for key, noun in REFUSED_NOUNS:
        if key in name:
            return noun
    return "a page"


def event_label(event: AuditEvent) -> str:
    """ "Opened a care task", "Created a record item", "Brought the organization live"."""
    action, object_type = event.action or "", event.object_type or ""
    if event.outcome == "denied" and action == AuditAction.READ and ":" in object_type:
        return f"Refused: {_refused_noun(object_type)}"
    step = (event.detail or {}).get("step") if isinstance(event.detail, dict) else None
    if step:
        if step in ADMIN_STEPS:
            return ADMIN_STEPS[step]
        if action == AuditAction.ADMIN:
            return _sentence(str(step))
    if (action, object_type) in PHRASES:
        return PHRASES[(action, object_type)]
    verb = ACTION_VERBS.get(action, _sentence(action))
    if not object_type or action in {AuditAction.SIGN_IN, AuditAction.SIGN_IN_REFUSED}:
        return verb
    noun = OBJECT_NOUNS.get(object_type, object_type.replace("_", " "))
    if action == AuditAction.ADMIN:
        return f"Administration of {noun}"
    return f"{verb} {noun}"


def action_choices() -> list[tuple[str, str]]:
    return [(value, ACTION_FILTER_LABELS.get(value, label)) for value, label in AuditAction.choices]
