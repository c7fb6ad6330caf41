"""Pages of the care app, at an organization's address."""

from django.urls import path  # noqa: F401

app_name = "care"
urlpatterns: list = []
