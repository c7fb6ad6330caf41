"""Writes about people: invitations (one by one and in bulk), memberships, attestation, and
sign-in safety. One module per subject; the public names are re-exported here."""

from __future__ import annotations

from portal.accounts.services.attestation import attestation_sweep, membership_attest
from portal.accounts.services.bulk_invitations import (
    CSV_COLUMNS,
    bulk_invitation_create,
    bulk_invitation_process,
    csv_header_problems,
)
from portal.accounts.services.invitations import (
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_link,
    invitation_problems,
    invitation_revoke,
)
from portal.accounts.services.memberships import (
    membership_deactivate,
    membership_reactivate,
    membership_second_factor_reset,
    membership_set_role,
)
from portal.accounts.services.sign_in import (
    demo_totp_device_ensure,
    inactivity_sweep,
    seen_now,
    sessions_clear_expired,
    terms_accept,
    totp_confirm,
    totp_enrollment_device,
)

__all__ = [
    "CSV_COLUMNS",
    "attestation_sweep",
    "bulk_invitation_create",
    "bulk_invitation_process",
    "csv_header_problems",
    "demo_totp_device_ensure",
    "inactivity_sweep",
    "invitation_accept",
    "invitation_create",
    "invitation_for_token",
    "invitation_link",
    "invitation_problems",
    "invitation_revoke",
    "membership_attest",
    "membership_deactivate",
    "membership_reactivate",
    "membership_second_factor_reset",
    "membership_set_role",
    "seen_now",
    "sessions_clear_expired",
    "terms_accept",
    "totp_confirm",
    "totp_enrollment_device",
]
