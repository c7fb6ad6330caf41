"""The network's own address: the network admin console and Django's support admin."""

from django.contrib import admin
from django.urls import include, path

from portal.home import views as home_views
from portal.urls_common import urlpatterns as common

urlpatterns = [
    path("", home_views.network_home, name="home"),
    path("console/", include("tenants.urls")),
    path("support-admin/", admin.site.urls),
    *common,
]

handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
