"""An organization's address."""

from django.urls import include, path

from portal.home import views as home_views
from portal.urls_common import urlpatterns as common

urlpatterns = [
    path("", home_views.home, name="home"),
    path("patients/", include("portal.patients.urls")),
    path("records/", include("portal.records.urls")),
    path("messages/", include("portal.messaging.urls")),
    path("notifications/", include("portal.notifications.urls")),
    path("care/", include("portal.care.urls")),
    path("boards/", include("portal.boards.urls")),
    path("audit/", include("portal.audit.urls")),
    path("admin/api-clients/", include("portal.fhir.clients.admin_urls")),
    path("admin/", include("portal.accounts.admin_urls")),
    path("api/v1/", include("portal.api.urls")),
    path("fhir/R4/", include("portal.fhir.urls")),
    *common,
]

handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
