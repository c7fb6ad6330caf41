"""``/fhir/R4/`` at an organization's address."""

from django.urls import path, re_path

from portal.fhir import views
from portal.fhir.bulk import views as bulk
from portal.fhir.clients import views as client_views

app_name = "fhir"

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,40})"
ID = r"(?P<resource_id>[A-Za-z0-9\-\.]{1,64})"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    path("", views.root, name="root"),
    path("metadata", views.metadata, name="metadata"),
    path(".well-known/smart-configuration", client_views.smart_configuration, name="smart-configuration"),
    path("auth/token", client_views.token, name="token"),
    re_path(rf"^Patient/{ID}/\$everything$", views.everything, name="everything"),
    # Bulk Data 2.0 (portal/fhir/bulk/).
    re_path(r"^Patient/\$export$", bulk.export_patients, name="export-patients"),
    re_path(rf"^Group/(?P<group_id>{UUID})/\$export$", bulk.export_group, name="export-group"),
    re_path(rf"^Group/(?P<group_id>{UUID})$", bulk.group_read, name="group"),
    re_path(rf"^\$export-status/(?P<job_id>{UUID})$", bulk.export_status, name="export-status"),
    re_path(
        rf"^\$export-file/(?P<job_id>{UUID})/(?P<file_name>[A-Z][A-Za-z]{{1,40}}\.ndjson)$",
        bulk.export_file,
        name="export-file",
    ),
    re_path(rf"^{TYPE}/_search$", views.search_type, name="search-post"),
    re_path(rf"^{TYPE}/{ID}/_history/(?P<version_id>[A-Za-z0-9\-\.]{{1,64}})$", views.vread, name="vread"),
    re_path(rf"^{TYPE}/{ID}/_history$", views.history, name="history"),
    re_path(rf"^{TYPE}/{ID}$", views.read, name="read"),
    re_path(rf"^{TYPE}$", views.search_type, name="search"),
]
