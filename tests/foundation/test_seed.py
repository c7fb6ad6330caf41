from portal.accounts.models import Membership, User
from portal.demo.seed import seed_all
from portal.patients.models import CareRelationship, NetworkPatient, PatientIdentifier
from tenants.models import Organization


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (Organization, User, Membership, NetworkPatient, PatientIdentifier, CareRelationship)
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
