"""Pages of tumor boards, at an organization's address."""

from django.urls import path

from portal.boards import views

app_name = "boards"
urlpatterns = [
    path("", views.board_list, name="list"),
    path("submissions/", views.submissions, name="submissions"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<uuid:case_uuid>/", views.case_detail, name="case"),
    path("cases/<uuid:case_uuid>/act/", views.case_act, name="case_act"),
    path("cases/<uuid:case_uuid>/print/", views.case_print, name="case_print"),
    path("cases/<uuid:case_uuid>/entries/<uuid:entry_uuid>/", views.case_entry, name="case_entry"),
    path("meetings/<uuid:meeting_uuid>/", views.meeting_detail, name="meeting"),
    path("meetings/<uuid:meeting_uuid>/act/", views.meeting_act, name="meeting_act"),
    path("meetings/<uuid:meeting_uuid>/print/", views.meeting_print, name="meeting_print"),
    path("<uuid:board_uuid>/", views.board_detail, name="board"),
    path("<uuid:board_uuid>/act/", views.board_act, name="board_act"),
]
