"""Pasted walls of text never reach patient matching: name fields are capped and must be names."""

from portal.audit.models import AuditEvent
from portal.patients.forms import NAME_MAX_LENGTH, EmergencyAccessForm, RegisterPatientForm
from portal.patients.models import EmergencyAccess, NetworkPatient, PatientMatchCandidate

WALL = "a" * 5000


def test_registering_with_a_5000_character_name_is_refused_and_nothing_is_written(cast, sign_in):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    before = (NetworkPatient.objects.count(), PatientMatchCandidate.objects.count(), AuditEvent.objects.count())
    response = park.post(
        "/patients/register/",
        {"given_name": WALL, "family_name": WALL, "date_of_birth": "1961-04-12", "sex": "female", "mrn": "MFM-1"},
    )
    assert response.status_code == 200
    assert f"A name is at most {NAME_MAX_LENGTH} characters." in response.content.decode()
    assert (NetworkPatient.objects.count(), PatientMatchCandidate.objects.count(), AuditEvent.objects.count()) == before


def test_emergency_access_with_a_5000_character_name_is_refused_and_nothing_is_opened(cast, sign_in):
    chen = sign_in(cast.users["chen"], cast.organizations["cedarvalley"])
    before = (EmergencyAccess.objects.count(), AuditEvent.objects.filter(action="break_glass").count())
    response = chen.post(
        "/patients/emergency/",
        {
            "given_name": "Maria",
            "family_name": WALL,
            "date_of_birth": "1961-04-12",
            "reason": "Unresponsive in our urgent care, on chemo",
        },
    )
    assert response.status_code == 200
    assert f"A name is at most {NAME_MAX_LENGTH} characters." in response.content.decode()
    assert (EmergencyAccess.objects.count(), AuditEvent.objects.filter(action="break_glass").count()) == before


def test_name_fields_carry_the_cap_to_the_browser_and_refuse_names_without_letters():
    form = RegisterPatientForm()
    assert form.fields["given_name"].widget.attrs["maxlength"] == str(NAME_MAX_LENGTH)
    emergency = EmergencyAccessForm(
        data={"given_name": "---", "family_name": "1234", "date_of_birth": "1961-04-12", "reason": "x" * 20}
    )
    assert not emergency.is_valid()
    assert emergency.errors["given_name"] == ["A name must contain at least one letter."]
    assert emergency.errors["family_name"] == ["A name must contain at least one letter."]
    spaced = RegisterPatientForm(
        data={
            "given_name": "  Ana   Sofia ",
            "family_name": "Lind",
            "date_of_birth": "1990-01-01",
            "sex": "female",
            "mrn": "X1",
        }
    )
    assert spaced.is_valid() and spaced.cleaned_data["given_name"] == "Ana Sofia"
