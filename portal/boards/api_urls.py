"""API routes of tumor boards under /api/v1/."""

from django.urls import path

from portal.boards import api

urlpatterns = [
    path("boards/", api.BoardList.as_view(), name="api-boards"),
    path("boards/<uuid:board_uuid>/", api.BoardDetail.as_view(), name="api-board"),
    path("board-meetings/<uuid:meeting_uuid>/", api.MeetingAgenda.as_view(), name="api-board-meeting"),
    path("board-cases/", api.CaseListCreate.as_view(), name="api-board-cases"),
    path("board-cases/<uuid:case_uuid>/", api.CaseDetail.as_view(), name="api-board-case"),
    path("board-cases/<uuid:case_uuid>/answer/", api.CaseAnswer.as_view(), name="api-board-case-answer"),
]
