from django.urls import path

from portal.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("export/", views.log_export, name="export"),
    path("patients/<uuid:patient_uuid>/", views.patient_report, name="patient_report"),
    path("patients/<uuid:patient_uuid>/export/", views.patient_report_export, name="patient_report_export"),
]
