"""API routes of the care app under /api/v1/."""

from django.urls import path

from portal.care import api

urlpatterns = [
    path("referrals/", api.ReferralListCreate.as_view(), name="api-referrals"),
    path("referrals/<uuid:referral_uuid>/", api.ReferralDetail.as_view(), name="api-referral"),
    path(
        "referrals/<uuid:referral_uuid>/transition/", api.ReferralTransition.as_view(), name="api-referral-transition"
    ),
    path("care-tasks/", api.TaskListCreate.as_view(), name="api-care-tasks"),
    path("care-tasks/<uuid:task_uuid>/link-result/", api.TaskLinkResult.as_view(), name="api-care-task-link"),
    path("handoffs/", api.HandoffListCreate.as_view(), name="api-handoffs"),
    path("handoffs/<uuid:handoff_uuid>/acknowledge/", api.HandoffAcknowledge.as_view(), name="api-handoff-ack"),
]
