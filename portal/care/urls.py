"""Pages of the care app, at an organization's address."""

from django.urls import path

from portal.care import views

app_name = "care"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("referrals/outbound/", views.outbound, name="outbound"),
    path("referrals/new/", views.referral_new, name="referral_new"),
    path("referrals/<uuid:referral_uuid>/", views.referral_detail, name="referral_detail"),
    path("referrals/<uuid:referral_uuid>/act/", views.referral_act, name="referral_act"),
    path("referrals/<uuid:referral_uuid>/entries/<uuid:entry_uuid>/", views.referral_entry, name="referral_entry"),
    path(
        "referrals/<uuid:referral_uuid>/entries/<uuid:entry_uuid>/file",
        views.referral_entry_file,
        name="referral_entry_file",
    ),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_new, name="task_new"),
    path("tasks/check/", views.task_check, name="task_check"),
    path("tasks/<uuid:task_uuid>/", views.task_detail, name="task_detail"),
    path("handoffs/", views.handoff_list, name="handoff_list"),
    path("handoffs/new/", views.handoff_new, name="handoff_new"),
    path("handoffs/check/", views.handoff_check, name="handoff_check"),
    path("handoffs/<uuid:handoff_uuid>/", views.handoff_detail, name="handoff_detail"),
    path("scorecard/", views.scorecard_view, name="scorecard"),
]
