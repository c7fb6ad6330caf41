"""Creating a partner organization from the network console: schema by clone, address, retry."""

from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from portal.audit.models import AuditEvent
from tenants.models import Domain, Organization, ProvisioningState
from tenants.provisioning import applied_migrations, expected_migrations, template_schema_ensure
from tenants.services import organization_create, organization_provision
from tenants.validators import npi_is_valid

NEW = {
    "name": "Birch Street Primary Care",
    "kind": "primary_care",
    "slug": "birch",
    "city": "Birchwood",
    "npi": "1234567893",
}


def test_network_admin_creates_a_partner_with_its_schema_and_address(cast, sign_in):
    client = sign_in(cast.users["network_admin"], cast.network)
    response = client.post("/console/organizations/new/", NEW)
    organization = Organization.objects.get(slug="birch")
    assert response.status_code == 302 and response["Location"] == f"/console/organizations/{organization.uuid}/"
    assert organization.status == "onboarding"
    assert organization.provisioning.state == ProvisioningState.PROVISIONED
    assert schema_exists("org_birch")
    # The clone carries the template's migration records: nothing to replay or fake.
    assert expected_migrations() <= applied_migrations("org_birch")
    with schema_context("org_birch"):
        from portal.records.models import OrganizationSetting

        assert OrganizationSetting.objects.count() == 0  # tables exist, and are its own
    assert Domain.objects.filter(domain="birch.localhost", tenant=organization, is_primary=True).exists()
    assert AuditEvent.objects.filter(object_id=str(organization.uuid), detail__step="organization_recorded").exists()
    page = client.get(response["Location"]).content.decode()
    assert "Data-sharing agreement recorded" in page and "missing" in page


def test_the_create_form_refuses_a_bad_npi_a_taken_address_and_a_reserved_one(cast, sign_in):
    client = sign_in(cast.users["network_admin"], cast.network)
    before = Organization.objects.count()
    bad_npi = client.post("/console/organizations/new/", {**NEW, "npi": "1234567890"})
    assert "not a valid NPI" in bad_npi.content.decode()
    taken = client.post("/console/organizations/new/", {**NEW, "slug": "maple"})
    assert "already uses this address" in taken.content.decode()
    reserved = client.post("/console/organizations/new/", {**NEW, "slug": "template"})
    assert "reserved" in reserved.content.decode()
    assert Organization.objects.count() == before


def test_npi_check_digit_follows_the_standard():
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")
    assert not npi_is_valid("12345678a3")


def test_a_failure_halfway_is_recorded_and_a_retry_resumes_without_redoing_the_schema(cast):
    # A stale address left behind (say, by an earlier partner) makes the address step fail
    # after the schema was cloned.
    Domain.objects.create(domain="birch.localhost", tenant=cast.organizations["cedarvalley"], is_primary=False)
    try:
        organization_create(**NEW)
    except Exception:
        pass
    else:
        raise AssertionError("provisioning should have failed at the address step")
    organization = Organization.objects.get(slug="birch")
    provisioning = organization.provisioning
    assert provisioning.state == ProvisioningState.FAILED
    assert provisioning.last_error.startswith("address:")
    assert schema_exists("org_birch")  # the schema step had finished
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = 'org_birch'")
        schema_oid = cursor.fetchone()[0]

    Domain.objects.filter(domain="birch.localhost").delete()  # the stale address is cleared
    provisioning = organization_provision(organization=organization)
    assert provisioning.state == ProvisioningState.PROVISIONED
    assert provisioning.attempts == 2 and provisioning.last_error == ""
    assert Domain.objects.filter(domain="birch.localhost", tenant=organization).count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = 'org_birch'")
        assert cursor.fetchone()[0] == schema_oid  # same schema, not dropped and re-cloned
    # A third run does nothing.
    assert organization_provision(organization=organization).attempts == 2


def test_retry_from_the_console_finishes_a_stopped_provisioning(cast, sign_in):
    Domain.objects.create(domain="birch.localhost", tenant=cast.organizations["cedarvalley"], is_primary=False)
    client = sign_in(cast.users["network_admin"], cast.network)
    try:
        organization_create(**NEW)
    except Exception:
        pass
    organization = Organization.objects.get(slug="birch")
    assert "Retry provisioning" in client.get(f"/console/organizations/{organization.uuid}/").content.decode()
    failed_again = client.post(f"/console/organizations/{organization.uuid}/retry/")
    assert "IntegrityError" in failed_again.content.decode()
    Domain.objects.filter(domain="birch.localhost", tenant=cast.organizations["cedarvalley"]).delete()
    done = client.post(f"/console/organizations/{organization.uuid}/retry/")
    assert done.status_code == 302
    organization.provisioning.refresh_from_db()
    assert organization.provisioning.state == ProvisioningState.PROVISIONED


def test_the_template_schema_is_current_and_ensure_is_idempotent(db):
    assert template_schema_ensure() == "current"
    assert expected_migrations() <= applied_migrations("org_template")


def test_only_network_admins_reach_the_console(cast, sign_in, anonymous):
    assert anonymous(cast.network).get("/console/").status_code == 302
    admin = sign_in(cast.users["network_admin"], cast.network)
    page = admin.get("/console/")
    assert page.status_code == 200 and "Cedar Valley Clinic" in page.content.decode()
    active = Organization.objects.filter(status="active").exclude(kind="network").count()
    assert f'id="count-active">{active}<' in page.content.decode()
    # A site admin at their own organization's address has no console there.
    grace = sign_in(cast.users["northfield_admin"], cast.organizations["northfield"])
    assert grace.get("/console/").status_code == 404
    assert admin.post("/console/organizations/new/", NEW).status_code == 302
    assert grace.post("/console/organizations/new/", {**NEW, "slug": "birch2"}).status_code == 404
    assert not Organization.objects.filter(slug="birch2").exists()


def test_console_list_has_a_fixed_number_of_queries(cast, sign_in, django_assert_max_num_queries):
    client = sign_in(cast.users["network_admin"], cast.network)
    with django_assert_max_num_queries(12):
        assert client.get("/console/").status_code == 200


def test_the_copy_has_the_templates_tables_indexes_constraints_and_sequences(db):
    from tenants.provisioning import schema_clone_from_template, template_ddl

    assert template_ddl()  # pg_dump is available here: the DDL path, not clone_schema()
    assert schema_clone_from_template("org_copy_probe") is True
    assert schema_clone_from_template("org_copy_probe") is False  # a retry finds it

    def shape(schema):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s ORDER BY 1, 2",
                [schema],
            )
            relations = cursor.fetchall()
            cursor.execute(
                "SELECT con.contype, con.conname FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace "
                "WHERE n.nspname = %s ORDER BY 1, 2",
                [schema],
            )
            return relations, cursor.fetchall()

    assert shape("org_copy_probe") == shape("org_template")
    assert applied_migrations("org_copy_probe") == applied_migrations("org_template")
    with schema_context("org_copy_probe"):
        from django.db import connection as tenant_connection

        with tenant_connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES ('probe', 'x', now()) RETURNING id"
            )
            assert cursor.fetchone()[0] > max(1, len(applied_migrations("org_template")) - 1)  # sequence carried on
