from django.urls import path

from portal.records import views

app_name = "records"
urlpatterns = [
    path("new/<uuid:patient_uuid>/<str:kind>/", views.item_new, name="new"),
    path("items/<uuid:item_id>/publish/", views.publish, name="publish"),
    path("items/<uuid:item_id>/correct/", views.correct, name="correct"),
    path("items/<uuid:item_id>/withdraw/", views.withdraw, name="withdraw"),
]
