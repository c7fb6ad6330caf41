from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Membership, User
from portal.care.models import CareTask, Escalation, Handoff, Referral, ReferralEvent, TaskOccurrence
from portal.demo.cast import ORGANIZATIONS, PEOPLE
from portal.demo.seed import seed_all
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier
from tenants.models import Agreement, Organization
from tenants.selectors import REQUIRED_SITE_ADMINS, onboarding_missing


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Organization,
            User,
            Membership,
            NetworkPatient,
            PatientIdentifier,
            CareRelationship,
            TOTPDevice,
            Agreement,
            Referral,
            ReferralEvent,
            CareTask,
            TaskOccurrence,
            Handoff,
            Escalation,
        )
    }


def test_seeding_twice_changes_nothing(db):
    seed_all()
    before = _counts()
    seed_all()
    assert _counts() == before
    assert before["NetworkPatient"] >= 30


def test_maria_alvarez_is_shared_by_northfield_and_maple_not_cedar_valley(cast):
    maria = cast.patients["maria"]
    sharing = set(CareRelationship.objects.active().filter(patient=maria).values_list("organization__slug", flat=True))
    assert sharing == {"northfield", "maple"}
    assert set(maria.identifiers.values_list("organization__slug", "mrn")) == {
        ("northfield", "NCI-100234"),
        ("maple", "MFM-55871"),
    }


def test_every_demo_organization_has_two_site_admins_with_a_second_factor(db):
    seed_all()
    for slug, name, *_ in ORGANIZATIONS:
        organization = Organization.objects.get(slug=slug)
        admins = [person for person in PEOPLE if person[4] == slug and person[6]]
        assert len(admins) >= REQUIRED_SITE_ADMINS, name
        ready = Membership.objects.filter(
            organization=organization,
            is_site_admin=True,
            status="active",
            user__email__in=[person[1] for person in admins],
            user__totpdevice__confirmed=True,
        ).distinct()
        assert ready.count() >= REQUIRED_SITE_ADMINS, name
        assert organization.status == "active" and onboarding_missing(organization) == [], name


def test_the_demo_cast_names_each_person_once():
    keys = [person[0] for person in PEOPLE]
    emails = [person[1] for person in PEOPLE]
    names = [person[2] for person in PEOPLE]
    assert len(set(keys)) == len(keys) and len(set(emails)) == len(emails) and len(set(names)) == len(names)
    for _key, email, _name, _credentials, slug, *_rest in PEOPLE:
        assert email.endswith(f"@{slug}.example"), email
