"""Each role's home page, and what it costs."""


def test_a_clinicians_home_counts_patients_and_messages(cast, sign_in, django_assert_max_num_queries):
    park = sign_in(cast.users["park"], cast.organizations["maple"])
    with django_assert_max_num_queries(12):
        page = park.get("/").content.decode()
    assert 'id="tile-patients"' in page and 'id="tile-messages"' in page and 'id="tile-new"' in page
    assert 'id="tile-team"' not in page


def test_a_site_admins_home_shows_accounts_and_the_access_log_not_patients(cast, sign_in):
    page = sign_in(cast.users["maple_admin"], cast.organizations["maple"]).get("/").content.decode()
    assert 'id="tile-team"' in page and 'id="tile-audit"' in page
    assert 'id="tile-patients"' not in page


def test_home_shows_no_clinical_detail(cast, sign_in):
    page = sign_in(cast.users["park"], cast.organizations["maple"]).get("/").content.decode()
    assert "Alvarez" not in page and "Hemoglobin" not in page
