"""Name search ranks the nearest names of the organization's patients, however many similar
names the practice has (it walks the (organization, name) GiST index nearest first and
stops after ``SEARCH_CANDIDATES``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.patients.access import VIEW_CHART, VIEW_SHARED, clinical_group_for
from portal.patients.matching import normalize_name
from portal.patients.models import (
    CareRelationship,
    NetworkPatient,
    NetworkPatientGroupObjectPermission,
    RelationshipKind,
)
from portal.patients.selectors import SEARCH_CANDIDATES, patient_search


def _cared_for(organization: Any, names: list[tuple[str, str]]) -> list[NetworkPatient]:
    """Patients cared for by ``organization``, written in bulk with the relationships and
    the permissions the services would derive."""
    from django.contrib.auth.models import Permission

    patients = NetworkPatient.objects.bulk_create(
        NetworkPatient(
            given_name=given,
            family_name=family,
            date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=n),
            match_key=normalize_name(given, family),
        )
        for n, (given, family) in enumerate(names)
    )
    CareRelationship.objects.bulk_create(
        CareRelationship(
            patient=patient, organization=organization, kind=RelationshipKind.CARE_TEAM, match_key=patient.match_key
        )
        for patient in patients
    )
    group = clinical_group_for(organization)
    permissions = Permission.objects.filter(codename__in=[VIEW_CHART, VIEW_SHARED], content_type__app_label="patients")
    NetworkPatientGroupObjectPermission.objects.bulk_create(
        NetworkPatientGroupObjectPermission(group=group, permission=permission, content_object=patient)
        for patient in patients
        for permission in permissions
    )
    return patients


def test_the_exact_name_comes_first_among_more_similar_names_than_candidates(cast):
    maple, park = cast.organizations["maple"], cast.users["park"]
    endings = ["a", "ez", "son", "sen", "ova", "ini", "ley", "ston", "ford", "berg", "er", "ano", "eau"]
    similar = [(f"Given{n}", f"Kowal{endings[n % len(endings)]}") for n in range(SEARCH_CANDIDATES + 40)]
    _cared_for(maple, similar)
    [exact] = _cared_for(maple, [("Zelda", "Kowalski")])

    found = patient_search(user=park, organization=maple, query="Kowalski")
    assert found[0] == exact
    assert len(found) == 25
    assert all(patient.family_name.startswith("Kowal") for patient in found)
    # A typo still finds her first among the similar names.
    assert patient_search(user=park, organization=maple, query="Zelda Kowalsky")[0] == exact


def test_another_organizations_similar_names_do_not_crowd_out_ours(cast):
    """The candidates are this organization's: a partner with many closer names changes
    nothing, and none of its patients is shown."""
    maple, northfield, park = cast.organizations["maple"], cast.organizations["northfield"], cast.users["park"]
    theirs = _cared_for(northfield, [(f"Zelda{n}", "Kowalski") for n in range(SEARCH_CANDIDATES + 20)])
    [ours] = _cared_for(maple, [("Zelda", "Kowalsky")])
    found = patient_search(user=park, organization=maple, query="Zelda Kowalski")
    assert found == [ours]
    assert not set(found) & set(theirs)


def test_name_search_walks_the_organizations_name_index_nearest_first(cast):
    """The plan the search is built for: the (organization, initials, name) GiST index serves
    both the organization's condition and the nearest-name order, so the walk stops after
    ``SEARCH_CANDIDATES`` (a table this small would be read whole, so sequential and bitmap
    reads and sorts are discouraged here, and the statistics made fresh: whatever other tests
    left in this database, the question is whether the index can serve the query)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    maple, park = cast.organizations["maple"], cast.users["park"]
    _cared_for(maple, [("Nikhil", "Dalteau"), ("Nadia", "Drumley")])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_carerelationship")
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        with CaptureQueriesContext(connection) as captured:
            found = patient_search(user=park, organization=maple, query="Nikhil Dalteu")
        cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert [(p.given_name, p.family_name) for p in found][:1] == [("Nikhil", "Dalteau")]
    assert "Index Scan using relationship_name_knn" in plan, plan
    assert f"Index Cond: (organization_id = '{maple.pk}'::bigint)" in plan
    assert "Order By: ((match_key)::text <->> 'nikhil dalteu'::text)" in plan
    assert "Limit" in plan


def test_the_name_index_groups_names_by_the_initials_of_their_first_and_last_words(cast):
    from django.db.models import Value

    from portal.patients.models import NameInitials

    keys = ["nikhil dalteau", "maria de la cruz", "cher", "jose oneilavila"]
    initials = [
        NetworkPatient.objects.annotate(initials=NameInitials(Value(key))).values_list("initials", flat=True)[:1].get()
        for key in keys
    ]
    assert initials == ["nd", "mc", "cc", "jo"]
