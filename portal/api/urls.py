from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("portal.accounts.api_urls")),
    path("", include("portal.patients.api_urls")),
    path("", include("portal.records.api_urls")),
    path("", include("portal.messaging.api_urls")),
    path("", include("portal.notifications.api_urls")),
    path("", include("portal.care.api_urls")),
    path("", include("portal.audit.api_urls")),
]
