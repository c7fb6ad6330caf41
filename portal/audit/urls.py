from django.urls import path

from portal.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("patients/<uuid:patient_uuid>/", views.patient_report, name="patient_report"),
]
