"""Site admins' pages at an organization's address, under /admin/."""

from django.urls import path

from portal.accounts import admin_views as views

app_name = "site_admin"
urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/invite/", views.invite, name="invite"),
    path("users/import/", views.bulk_upload, name="bulk_upload"),
    path("users/import/<uuid:uuid>/", views.bulk_detail, name="bulk_detail"),
    path("users/<int:pk>/", views.member, name="member"),
    path("users/<int:pk>/<slug:action>/", views.member_action, name="member_action"),
    path("invitations/<uuid:uuid>/revoke/", views.invitation_revoke_view, name="invitation_revoke"),
]
