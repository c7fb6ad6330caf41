"""The network console's pages, at the network's own address."""

from django.urls import path  # noqa: F401

app_name = "console"
urlpatterns: list = []
