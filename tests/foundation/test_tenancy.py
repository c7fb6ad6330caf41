"""Routing by address, schema isolation, and the public schema holding no tenant table."""

from django.db import connection
from django_tenants.utils import schema_context

from portal.records.models import OrganizationSetting


def test_each_organization_answers_at_its_own_address(cast, anonymous):
    for slug in ("northfield", "maple", "cedarvalley"):
        organization = cast.organizations[slug]
        response = anonymous(organization).get("/accounts/login/")
        assert response.status_code == 200
        assert organization.name in response.content.decode()


def test_the_network_answers_at_the_base_domain(cast, anonymous):
    response = anonymous(cast.network).get("/")
    assert response.status_code == 200
    assert "Network admin sign-in" in response.content.decode()


def test_an_unknown_address_gets_a_clear_page_not_a_stack_trace(cast, client):
    response = client.get("/", HTTP_HOST="nowhere.localhost")
    assert response.status_code == 404
    body = response.content.decode()
    assert "No such organization" in body
    assert "nowhere.localhost" in body
    assert "Traceback" not in body


def test_a_row_in_one_schema_is_invisible_from_another(cast):
    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    with schema_context(northfield.schema_name):
        OrganizationSetting.objects.create(key="only-at-northfield", value={"x": 1})
        assert OrganizationSetting.objects.filter(key="only-at-northfield").count() == 1
    with schema_context(maple.schema_name):
        assert not OrganizationSetting.objects.filter(key="only-at-northfield").exists()


def test_no_tenant_app_table_exists_in_the_public_schema(db):
    from django.apps import apps
    from django.conf import settings

    tenant_only = [app for app in settings.TENANT_APPS if app not in settings.SHARED_APPS]
    tables = []
    for app_name in tenant_only:
        label = app_name.rsplit(".", 1)[-1]
        tables += [model._meta.db_table for model in apps.get_app_config(label).get_models()]
    assert tables, "the tenant apps have models"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY(%s)",
            [tables],
        )
        assert cursor.fetchall() == []


def test_a_connection_sets_the_search_path_only_when_the_address_changes(cast, sign_in, settings):
    """The backend keeps the session's search path across requests for the same address
    (no extra round trip per request), and still switches it for another address."""
    from django.test.utils import CaptureQueriesContext

    from tenants.middleware import clear_routing_cache

    settings.TENANT_ROUTING_CACHE_SECONDS = 60  # as served: addresses cached per process
    clear_routing_cache()

    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    # Signed-in home pages query the database (/healthz is answered before routing).
    clients = {maple: sign_in(cast.users["park"], maple), northfield: sign_in(cast.users["okafor"], northfield)}

    def search_path_sets(organization):
        with CaptureQueriesContext(connection) as queries:
            response = clients[organization].get("/")
        assert response.status_code == 200
        assert queries.captured_queries
        return sum("SET search_path" in query["sql"] for query in queries.captured_queries)

    assert search_path_sets(maple) >= 1
    assert search_path_sets(maple) == 0
    assert search_path_sets(northfield) >= 1
    assert search_path_sets(northfield) == 0
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0].startswith(northfield.schema_name)
    with schema_context(maple.schema_name):
        OrganizationSetting.objects.create(key="written-at-maple", value={})
    with schema_context(northfield.schema_name):
        assert not OrganizationSetting.objects.filter(key="written-at-maple").exists()
    clear_routing_cache()


def test_a_rolled_back_search_path_is_set_again(cast):
    """A ``SET search_path`` undone by a rollback must not be trusted afterwards: the next
    query sets it again and reads the schema selected, not the one the rollback restored."""
    from django.db import transaction

    northfield, maple = cast.organizations["northfield"], cast.organizations["maple"]
    with schema_context(northfield.schema_name):
        OrganizationSetting.objects.create(key="only-at-northfield", value={})
    with schema_context(maple.schema_name):
        assert not OrganizationSetting.objects.filter(key="only-at-northfield").exists()  # the session is at Maple
        try:
            with transaction.atomic():
                connection.set_schema(northfield.schema_name)
                assert OrganizationSetting.objects.filter(key="only-at-northfield").exists()
                raise RuntimeError("roll back, and with it the SET to Northfield")
        except RuntimeError:
            pass
        assert connection.schema_name == northfield.schema_name
        assert OrganizationSetting.objects.filter(key="only-at-northfield").exists()


def test_a_new_database_session_starts_with_the_portal_settings_whatever_rolls_back(db):
    """The name-search threshold is set once when a connection opens (no query per search),
    committed at once: a first transaction that rolls back does not undo it."""
    from django.db import connections

    from portal.db.base import SESSION_SETTINGS

    probe = connections.create_connection("default")
    try:
        probe.set_autocommit(False)  # opens the connection: our settings come before this
        with probe.cursor() as cursor:
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', '0.9', false)")
        probe.rollback()
        with probe.cursor() as cursor:
            for name, value in SESSION_SETTINGS.items():
                cursor.execute("SELECT current_setting(%s)", [name])
                assert cursor.fetchone()[0] == value
    finally:
        probe.close()
