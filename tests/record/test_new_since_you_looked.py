"""My patients: "new since you looked" counts what partners published after the chart was
last opened, clears when it is opened, and sorts what is new first."""

import datetime as dt
import uuid

from django.utils import timezone

from portal.patients.models import PatientView, RegistryEntry, RelationshipKind
from portal.patients.selectors import my_patients
from portal.patients.services import care_relationship_start


def _publish(patient, organization, *, title="Hemoglobin", published_at=None):
    return RegistryEntry.objects.create(
        patient=patient,
        organization=organization,
        kind="lab_result",
        title=title,
        effective_at=timezone.now(),
        item_uuid=uuid.uuid4(),
        summary={"value": "12.1", "unit": "g/dL"},
        **({"published_at": published_at} if published_at else {}),
    )


def _rows(cast):
    rows = my_patients(user=cast.users["park"], organization=cast.organizations["maple"])
    return list(rows)


def _count(cast, patient):
    return next(row.new_count for row in _rows(cast) if row.pk == patient.pk)


def test_opening_a_chart_clears_its_new_count_and_a_later_entry_counts_again(cast, sign_in):
    maria, northfield = cast.patients["maria"], cast.organizations["northfield"]
    partners = RegistryEntry.objects.filter(patient=maria).exclude(organization=cast.organizations["maple"])
    assert not PatientView.objects.filter(user=cast.users["park"], patient=maria).exists()
    assert _count(cast, maria) == partners.count() > 0  # never opened: everything is new

    park = sign_in(cast.users["park"], cast.organizations["maple"])
    assert park.get(f"/patients/{maria.uuid}/").status_code == 200
    assert _count(cast, maria) == 0

    _publish(maria, northfield)
    _publish(maria, cast.organizations["maple"], title="Own note")  # one's own organization is not "new"
    assert _count(cast, maria) == 1
    page = park.get("/patients/?show=all").content.decode()
    assert "1 new" in page
    park.get(f"/patients/{maria.uuid}/")
    assert _count(cast, maria) == 0


def test_the_count_reads_this_patients_mark_not_another_row_with_the_same_id(cast):
    """Marks of other patients (or ids that happen to equal an entry's id) change nothing."""
    maria = cast.patients["maria"]
    park = cast.users["park"]
    before = _count(cast, maria)
    others = [p for key, p in cast.patients.items() if key != "maria"]
    later = timezone.now() + dt.timedelta(days=1)
    PatientView.objects.bulk_create(PatientView(user=park, patient=p, last_viewed_at=later) for p in others)
    assert _count(cast, maria) == before > 0
    PatientView.objects.create(user=park, patient=maria, last_viewed_at=later)
    assert _count(cast, maria) == 0


def test_patients_with_something_new_come_first_then_by_latest_entry(cast, sign_in):
    maria, maple, northfield = cast.patients["maria"], cast.organizations["maple"], cast.organizations["northfield"]
    park = sign_in(cast.users["park"], maple)
    park.get(f"/patients/{maria.uuid}/")  # Maria: nothing new, the latest entry of all
    _publish(maria, maple, title="Latest of all")
    quiet = next(p for key, p in cast.patients.items() if key != "maria")
    care_relationship_start(patient=quiet, organization=maple, kind=RelationshipKind.CARE_TEAM)
    care_relationship_start(patient=quiet, organization=northfield, kind=RelationshipKind.CARE_TEAM)
    _publish(quiet, northfield, published_at=timezone.now() - dt.timedelta(days=400))

    rows = _rows(cast)
    new_flags = [row.new_count > 0 for row in rows]
    assert new_flags == sorted(new_flags, reverse=True)  # every patient with something new first
    positions = {row.pk: index for index, row in enumerate(rows)}
    assert positions[quiet.pk] < positions[maria.pk]
    for group in (True, False):
        latest = [row.last_entry_at for row in rows if (row.new_count > 0) is group and row.last_entry_at]
        assert latest == sorted(latest, reverse=True)
