"""``/fhir/R4/`` at an organization's address."""

from django.urls import path, re_path

from portal.fhir import views
from portal.fhir.clients import views as client_views

app_name = "fhir"

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,40})"
ID = r"(?P<resource_id>[A-Za-z0-9\-\.]{1,64})"

urlpatterns = [
    path("", views.root, name="root"),
    path("metadata", views.metadata, name="metadata"),
    path(".well-known/smart-configuration", client_views.smart_configuration, name="smart-configuration"),
    path("auth/token", client_views.token, name="token"),
    re_path(rf"^Patient/{ID}/\$everything$", views.everything, name="everything"),
    re_path(rf"^{TYPE}/_search$", views.search_type, name="search-post"),
    re_path(rf"^{TYPE}/{ID}/_history/(?P<version_id>[A-Za-z0-9\-\.]{{1,64}})$", views.vread, name="vread"),
    re_path(rf"^{TYPE}/{ID}/_history$", views.history, name="history"),
    re_path(rf"^{TYPE}/{ID}$", views.read, name="read"),
    re_path(rf"^{TYPE}$", views.search_type, name="search"),
]
