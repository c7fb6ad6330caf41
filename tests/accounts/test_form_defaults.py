"""Choices with consequences start blank: the person choosing must choose."""

import re

from portal.accounts.models import Invitation
from portal.audit.models import AuditEvent
from portal.patients.models import NetworkPatient, PatientIdentifier
from tenants.models import Organization


def _select(page: str, name: str) -> str:
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no <select name={name}>"
    return match.group(1)


def _selected_values(options: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', options)


PATIENT = {
    "given_name": "Odessa",
    "family_name": "Brightwater",
    "date_of_birth": "1970-02-03",
    "mrn": "MFM-990001",
}


def test_register_patient_starts_with_no_sex_chosen_and_requires_one(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    options = _select(park.get("/patients/register/").content.decode(), "sex")
    assert _selected_values(options) == [""] and "Choose…" in options
    patients, identifiers = NetworkPatient.objects.count(), PatientIdentifier.objects.count()

    refused = park.post("/patients/register/", PATIENT)
    assert refused.status_code == 200
    assert "Choose the patient&#x27;s sex" in refused.content.decode()
    assert NetworkPatient.objects.count() == patients and PatientIdentifier.objects.count() == identifiers

    registered = park.post("/patients/register/", {**PATIENT, "sex": "unknown"})
    assert registered.status_code == 302
    assert NetworkPatient.objects.get(family_name="Brightwater").sex == "unknown"


def test_invite_user_starts_with_no_role_chosen_and_requires_one(cast, sign_in):
    admin = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    options = _select(admin.get("/admin/users/invite/").content.decode(), "role")
    assert _selected_values(options) == [""] and "Choose…" in options
    before = AuditEvent.objects.count()

    refused = admin.post("/admin/users/invite/", {"email": "new.person@maple.example", "full_name": "New Person"})
    assert refused.status_code == 200 and "Choose the person&#x27;s role." in refused.content.decode()
    assert not Invitation.objects.filter(email="new.person@maple.example").exists()
    assert AuditEvent.objects.count() == before

    sent = admin.post("/admin/users/invite/", {"email": "new.person@maple.example", "role": "staff"})
    assert sent.status_code == 200 and Invitation.objects.get(email="new.person@maple.example").role == "staff"


def test_the_invitation_api_requires_a_role(cast, sign_in):
    admin = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    for body in ({"email": "api.norole@maple.example"}, {"email": "api.norole@maple.example", "role": ""}):
        refused = admin.post("/api/v1/users/invitations/", body, content_type="application/json")
        assert refused.status_code == 400 and "role" in refused.json()["errors"], body
    assert not Invitation.objects.filter(email="api.norole@maple.example").exists()


def test_add_partner_starts_with_no_kind_chosen_and_requires_one(cast, sign_in):
    console = sign_in(cast.users["network_admin"], cast.network)
    options = _select(console.get("/console/organizations/new/").content.decode(), "kind")
    assert _selected_values(options) == [""] and "Choose…" in options
    before = Organization.objects.count()

    refused = console.post(
        "/console/organizations/new/", {"name": "Birch Street Primary Care", "slug": "birch", "npi": "1234567893"}
    )
    assert refused.status_code == 200 and "Choose the kind of organization." in refused.content.decode()
    assert Organization.objects.count() == before and not Organization.objects.filter(slug="birch").exists()
