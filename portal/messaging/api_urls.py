"""API routes of the messaging app under /api/v1/."""

from django.urls import path

from portal.messaging import api

urlpatterns = [
    path("threads/", api.ThreadListCreate.as_view(), name="api-threads"),
    path("threads/search/", api.ThreadSearch.as_view(), name="api-threads-search"),
    path("threads/<uuid:thread_uuid>/", api.ThreadDetail.as_view(), name="api-thread"),
    path("threads/<uuid:thread_uuid>/messages/", api.MessageCreate.as_view(), name="api-thread-messages"),
    path("threads/<uuid:thread_uuid>/read/", api.ThreadRead.as_view(), name="api-thread-read"),
    path("threads/<uuid:thread_uuid>/participants/", api.ThreadParticipants.as_view(), name="api-thread-participants"),
    path("threads/<uuid:thread_uuid>/archive/", api.ThreadArchive.as_view(), name="api-thread-archive"),
]
