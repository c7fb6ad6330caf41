from django.contrib import admin

from tenants.models import Agreement, Domain, Organization, OrganizationExport, Provisioning


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "status", "schema_name")
    list_filter = ("kind", "status")
    search_fields = ("name", "slug")


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")


@admin.register(Provisioning)
class ProvisioningAdmin(admin.ModelAdmin):
    list_display = ("organization", "state", "attempts", "seconds", "finished_at")
    list_filter = ("state",)
    readonly_fields = ("organization", "state", "attempts", "last_error", "requested_by", "finished_at", "seconds")


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ("organization", "kind", "signer_name", "signed_on")


@admin.register(OrganizationExport)
class OrganizationExportAdmin(admin.ModelAdmin):
    list_display = ("organization", "created_at", "size_bytes", "sha256")
    readonly_fields = ("organization", "path", "size_bytes", "sha256", "manifest", "created_by")
