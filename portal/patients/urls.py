"""Pages of the patients app, at an organization's address."""

from django.urls import path  # noqa: F401

app_name = "patients"
urlpatterns: list = []
