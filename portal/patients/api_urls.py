"""API routes of the shared record under /api/v1/."""

from django.urls import path

from portal.patients import api

urlpatterns = [
    path("patients/search/", api.PatientSearchAPI.as_view(), name="api-patient-search"),
    path("patients/<uuid:patient_uuid>/", api.ChartAPI.as_view(), name="api-chart"),
    path("patients/<uuid:patient_uuid>/entries/", api.TimelineAPI.as_view(), name="api-timeline"),
    path("patients/<uuid:patient_uuid>/entries/<uuid:entry_uuid>/", api.EntryAPI.as_view(), name="api-entry"),
    path("patients/<uuid:patient_uuid>/items/", api.ItemCreateAPI.as_view(), name="api-item-create"),
    path("items/<uuid:item_id>/publish/", api.ItemPublishAPI.as_view(), name="api-item-publish"),
]
