from django.urls import path

from portal.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("search/", views.search, name="search"),
    path("register/", views.register, name="register"),
    path("matches/", views.match_queue, name="matches"),
    path("matches/<int:pk>/decide/", views.match_decide, name="match_decide"),
    path("emergency/", views.emergency, name="emergency"),
    path("access-requests/", views.access_requests, name="access_requests"),
    path("access-requests/<uuid:request_uuid>/decide/", views.access_request_decide_view, name="access_request_decide"),
    path("<uuid:patient_uuid>/access-request/", views.access_request_new, name="access_request_new"),
    path("<uuid:patient_uuid>/", views.chart, name="chart"),
    path("<uuid:patient_uuid>/timeline/", views.timeline_page, name="timeline"),
    path("<uuid:patient_uuid>/entries/<uuid:entry_uuid>/", views.entry_detail, name="entry"),
    path("<uuid:patient_uuid>/entries/<uuid:entry_uuid>/file", views.entry_file, name="entry_file"),
]
