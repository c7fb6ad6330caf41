"""Pages of the audit app, at an organization's address."""

from django.urls import path  # noqa: F401

app_name = "audit"
urlpatterns: list = []
