from django.contrib import admin

from tenants.models import Domain, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "status", "schema_name")
    list_filter = ("kind", "status")
    search_fields = ("name", "slug")


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
