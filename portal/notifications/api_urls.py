"""API routes of the notifications app under /api/v1/."""

from django.urls import path

from portal.notifications import api

urlpatterns = [
    path("notifications/", api.NotificationList.as_view(), name="api-notifications"),
    path("notifications/read/", api.NotificationMarkRead.as_view(), name="api-notifications-read"),
    path("notifications/preferences/", api.Preferences.as_view(), name="api-notification-preferences"),
]
