"""API routes of tumor boards under /api/v1/."""

from django.urls import path

from portal.boards import api

urlpatterns = [
    path("boards/", api.BoardList.as_view(), name="api-boards"),
    path("boards/<uuid:board_uuid>/", api.BoardDetail.as_view(), name="api-board"),
    path("boards/<uuid:board_uuid>/deputies/", api.BoardDeputies.as_view(), name="api-board-deputies"),
    path("boards/<uuid:board_uuid>/waiting/", api.BoardWaiting.as_view(), name="api-board-waiting"),
    path("board-meetings/<uuid:meeting_uuid>/", api.MeetingAgenda.as_view(), name="api-board-meeting"),
    path("board-meetings/<uuid:meeting_uuid>/agenda/", api.MeetingAgendaEdit.as_view(), name="api-board-agenda"),
    path("board-meetings/<uuid:meeting_uuid>/publish/", api.MeetingPublish.as_view(), name="api-board-publish"),
    path(
        "board-meetings/<uuid:meeting_uuid>/attendance/",
        api.MeetingAttendance.as_view(),
        name="api-board-attendance",
    ),
    path("board-cases/", api.CaseListCreate.as_view(), name="api-board-cases"),
    path("board-cases/<uuid:case_uuid>/", api.CaseDetail.as_view(), name="api-board-case"),
    path(
        "board-cases/<uuid:case_uuid>/recommendation/",
        api.CaseRecommendation.as_view(),
        name="api-board-case-recommendation",
    ),
    path("board-cases/<uuid:case_uuid>/finalise/", api.CaseFinalise.as_view(), name="api-board-case-finalise"),
    path("board-cases/<uuid:case_uuid>/answer/", api.CaseAnswer.as_view(), name="api-board-case-answer"),
]
