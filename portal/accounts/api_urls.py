"""API routes of the accounts app under /api/v1/: organization admins' user management."""

from django.urls import path

from portal.accounts import api

urlpatterns = [
    path("users/", api.UserListView.as_view(), name="api-users"),
    path("users/invitations/", api.InvitationCreateView.as_view(), name="api-user-invite"),
    path("users/<int:pk>/", api.UserDetailView.as_view(), name="api-user"),
    path("users/<int:pk>/deactivate/", api.UserDeactivateView.as_view(), name="api-user-deactivate"),
]
