"""Site admins' page of API clients, at /admin/api-clients/."""

from django.urls import path

from portal.fhir.clients import views

app_name = "api_clients"
urlpatterns = [
    path("", views.clients, name="list"),
    path("register/", views.register, name="register"),
    path("<uuid:uuid>/revoke/", views.revoke, name="revoke"),
]
