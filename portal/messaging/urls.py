"""Pages of the messaging app, at an organization's address."""

from django.urls import path

from portal.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.compose, name="compose"),
    path("attachments/<uuid:attachment_uuid>/", views.attachment_download, name="attachment"),
    path("<uuid:thread_uuid>/", views.thread_detail, name="thread"),
    path("<uuid:thread_uuid>/reply/", views.thread_reply, name="reply"),
    path("<uuid:thread_uuid>/participants/", views.thread_add_participant, name="add_participant"),
    path("<uuid:thread_uuid>/archive/", views.thread_archive, name="archive"),
]
