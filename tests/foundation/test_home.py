"""Each role's home page, and what it costs."""


def test_a_clinicians_home_counts_patients_and_messages(cast, sign_in, django_assert_max_num_queries):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    with django_assert_max_num_queries(15):
        page = park.get("/").content.decode()
    assert (
        'id="tile-patients"' in page
        and 'id="tile-messages"' in page
        and 'id="tile-new"' in page
        and 'id="tile-care"' in page
    )
    assert 'id="tile-team"' not in page


def test_a_site_admins_home_shows_accounts_and_the_access_log_not_patients(cast, sign_in):
    page = sign_in(cast.users["maple_admin"], cast.organizations["maple"]).get("/").content.decode()
    assert 'id="tile-team"' in page and 'id="tile-audit"' in page
    assert 'id="tile-patients"' not in page


def test_home_shows_no_clinical_detail(cast, sign_in):
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get("/").content.decode()
    assert "Alvarez" not in page and "Hemoglobin" not in page


def test_the_care_tile_counts_only_tasks_about_patients_the_clinician_may_see(cast):
    """A care task stays owned by Maple after Maple stops caring for Maria, but its page
    would answer "not found" there: the home page no longer counts it as overdue work."""
    import datetime as dt

    from django.utils import timezone

    from portal.accounts.selectors import membership_for
    from portal.care.services import care_task_create
    from portal.home.selectors import home_summary_for
    from portal.patients.models import CareRelationship
    from portal.patients.services import care_relationship_end

    park, maple, maria = cast.users["park"], cast.organizations["maple"], cast.patients["maria"]
    care_task_create(
        user=cast.users["okafor"],
        organization=cast.organizations["northfield"],
        patient=maria,
        owner_organization=maple,
        title="CBC after cycle 3",
        due_at=timezone.now() - dt.timedelta(days=2),
    )
    membership = membership_for(user=park, organization=maple)
    before = home_summary_for(user=park, membership=membership)["overdue_occurrences"]
    assert before >= 1
    for relationship in CareRelationship.objects.active().filter(patient=maria, organization=maple):
        care_relationship_end(relationship=relationship)
    assert home_summary_for(user=park, membership=membership)["overdue_occurrences"] == before - 1
