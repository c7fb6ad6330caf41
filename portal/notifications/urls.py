"""Pages of the notifications app, at an organization's address."""

from django.urls import path  # noqa: F401

app_name = "notifications"
urlpatterns: list = []
