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
