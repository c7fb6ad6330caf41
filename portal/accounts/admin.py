from django.contrib import admin

from portal.accounts.models import Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "is_active", "is_network_admin")
    search_fields = ("email", "full_name")
    exclude = ("password", "user_permissions", "groups")
    inlines = [MembershipInline]
