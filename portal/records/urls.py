"""Pages of the records app, at an organization's address."""

from django.urls import path  # noqa: F401

app_name = "records"
urlpatterns: list = []
