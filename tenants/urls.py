"""The network console's pages, at the network's own address."""

from django.urls import path

from tenants import views

app_name = "console"
urlpatterns = [
    path("", views.organizations, name="organizations"),
    path("organizations/new/", views.organization_new, name="organization_new"),
    path("organizations/<uuid:uuid>/", views.organization_detail, name="organization"),
    path("organizations/<uuid:uuid>/agreements/", views.agreement_new, name="agreement_new"),
    path("organizations/<uuid:uuid>/site-admins/", views.site_admin_invite, name="site_admin_invite"),
    path("organizations/<uuid:uuid>/<slug:step>/", views.organization_step, name="step"),
    path("exports/<uuid:uuid>/", views.export_download, name="export_download"),
]
